"""Google credentials, in the documented order: key JSON in an env var, a key file, then ADC."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sheets_sync.config import WorkbookSettings
from sheets_sync.errors import ConfigError

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
GOOGLE_ENDPOINT = "https://sheets.googleapis.com"
ADC_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
MAX_KEY_BYTES = 1 << 20  # a key file is a few kilobytes


def _read_key_file(path: Path, setting: str) -> str:
    """A key file's text, or one line saying why it cannot be one (never its content)."""
    if not path.exists():
        raise ConfigError(f"{setting} {path} does not exist: no key file there")
    if path.is_dir():
        raise ConfigError(f"{setting} {path} is a folder; give the path of the JSON key file inside it")
    if not path.is_file():
        raise ConfigError(f"{setting} {path} is not a regular file; give the path of the JSON key file")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{setting} {path} cannot be read as a key file ({exc.strerror or exc})") from None
    if len(data) > MAX_KEY_BYTES:
        raise ConfigError(f"{setting} {path} is larger than a key file can be; is it the right file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{setting} {path} is not a JSON key file (not UTF-8 text)") from None


def _check_adc_file(path: Path) -> None:
    """$GOOGLE_APPLICATION_CREDENTIALS names a file: say what is wrong with it, not "no credentials"."""
    raw = _read_key_file(path, f"${ADC_ENV}")
    try:
        info = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(
            f"${ADC_ENV} {path} is not valid JSON (line {getattr(exc, 'lineno', '?')}); "
            f"point it to a credentials file downloaded from Google Cloud"
        ) from None
    if not isinstance(info, dict) or not info.get("type"):
        raise ConfigError(f'${ADC_ENV} {path} is not a Google credentials file (it has no "type")')


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


@dataclass(frozen=True)
class GoogleIdentity:
    """The credentials to call with (None for a local test server) and whom the sheet must be shared with."""

    credentials: Any
    email: str
    source: str


def _service_account_info(raw: str, where: str) -> dict[str, Any]:
    try:
        info = json.loads(raw)
    except ValueError as exc:
        # Never echo the content: it is a private key.
        raise ConfigError(
            f"{where} is not valid JSON (line {getattr(exc, 'lineno', '?')}); paste the whole key file "
            f"downloaded from Google Cloud"
        ) from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ConfigError(f'{where} is not a service-account key (its "type" is not "service_account")')
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise ConfigError(
            f"{where} is missing {', '.join(missing)}; download a new JSON key for the service account"
        )
    return info


def load_identity(settings: WorkbookSettings, environ: dict[str, str] | None = None) -> GoogleIdentity:
    """Credentials for the Sheets API with the spreadsheets scope only."""
    env = os.environ if environ is None else environ
    local = settings.api_endpoint.rstrip("/") != GOOGLE_ENDPOINT
    info: dict[str, Any] | None = None
    source = ""
    raw = env.get(settings.credentials_env, "").strip()
    if raw:
        info = _service_account_info(raw, f"${settings.credentials_env}")
        source = f"${settings.credentials_env}"
    elif settings.credentials_file:
        path = Path(settings.credentials_file).expanduser()
        info = _service_account_info(_read_key_file(path, "[workbook] credentials_file"), f"key file {path}")
        source = str(path)
    if info is not None:
        email = str(info["client_email"])
        if local:
            # A local Sheets API server (tests, development) takes no token: nothing goes to Google.
            return GoogleIdentity(None, email, source)
        from google.oauth2 import service_account

        try:
            # google-auth declares no types for this constructor.
            creds = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=list(SCOPES)
            )
        except ValueError as exc:
            raise ConfigError(f"{source}: the private key cannot be read ({exc})") from None
        return GoogleIdentity(creds, email, source)
    if local:
        return GoogleIdentity(None, "", "none (local endpoint)")
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    adc = env.get(ADC_ENV, "")
    if adc:
        _check_adc_file(Path(adc).expanduser())
    try:
        creds, _project = google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError as exc:
        if adc:
            raise ConfigError(f"${ADC_ENV} = {adc}: Google could not use it ({_first_line(exc)})") from None
        raise ConfigError(
            f"no Google credentials: set ${settings.credentials_env} to the service account's JSON key, "
            f"or [workbook] credentials_file, or use Application Default Credentials "
            f"(Workload Identity Federation in GitHub Actions)"
        ) from None
    email = str(getattr(creds, "service_account_email", "") or getattr(creds, "signer_email", "") or "")
    return GoogleIdentity(creds, email, "application default credentials")
