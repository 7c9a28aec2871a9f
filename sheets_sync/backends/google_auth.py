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
        if not path.exists():
            raise ConfigError(f"[workbook] credentials_file {path} does not exist")
        info = _service_account_info(path.read_text(encoding="utf-8"), f"key file {path}")
        source = str(path)
    if info is not None:
        email = str(info["client_email"])
        if local:
            # A local Sheets API server (tests, development) takes no token: nothing goes to Google.
            return GoogleIdentity(None, email, source)
        from google.oauth2 import service_account

        try:
            creds = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
        except ValueError as exc:
            raise ConfigError(f"{source}: the private key cannot be read ({exc})") from None
        return GoogleIdentity(creds, email, source)
    if local:
        return GoogleIdentity(None, "", "none (local endpoint)")
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        creds, _project = google.auth.default(scopes=list(SCOPES))
    except DefaultCredentialsError:
        raise ConfigError(
            f"no Google credentials: set ${settings.credentials_env} to the service account's JSON key, "
            f"or [workbook] credentials_file, or use Application Default Credentials "
            f"(Workload Identity Federation in GitHub Actions)"
        ) from None
    email = str(getattr(creds, "service_account_email", "") or getattr(creds, "signer_email", "") or "")
    return GoogleIdentity(creds, email, "application default credentials")
