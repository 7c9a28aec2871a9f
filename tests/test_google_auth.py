"""Google credentials in the documented order (key JSON in an env var, a key file, Application Default
Credentials), with messages that say what to do and never hold the key. Nothing here reaches Google."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import google.auth
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import DefaultCredentialsError
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account
from gspread.http_client import HTTPClient

from sheets_sync.backends.google_auth import GOOGLE_ENDPOINT, SCOPES, load_identity
from sheets_sync.backends.gsheets import EndpointSession, GsheetsBackend, authorized_session
from sheets_sync.cli import cli
from sheets_sync.config import WorkbookSettings
from sheets_sync.errors import BackendError, ConfigError
from tests.support.sheets_api import SheetsApiServer
from tests.support.sheets_fixtures import gsheets_config, server_fixture, write_gsheets_config  # noqa: F401 - "server"

EMAIL = "sheets-sync@esa-test.iam.gserviceaccount.com"
ENV = "GOOGLE_SERVICE_ACCOUNT_JSON"
SECRET = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDdoNotAKey"


@pytest.fixture(scope="module")
def private_key() -> str:
    """A real RSA key in PEM, so google-auth can build credentials (which it does without a network call)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def key_info(
    private_key: str = f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n", **changes: Any
) -> dict[str, Any]:
    info = {
        "type": "service_account",
        "project_id": "esa-test",
        "private_key_id": "0123456789abcdef",
        "private_key": private_key,
        "client_email": EMAIL,
        "client_id": "123",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    info.update(changes)
    return {k: v for k, v in info.items() if v is not None}


def settings(endpoint: str = GOOGLE_ENDPOINT, **changes: Any) -> WorkbookSettings:
    return WorkbookSettings(backend="gsheets", spreadsheet_id="1abc", api_endpoint=endpoint, **changes)


def no_adc(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """google.auth.default raises as on a machine with no credentials; returns the scopes it was asked for."""
    asked: list[Any] = []

    def default(scopes: Any = None, **_kw: Any) -> Any:
        asked.append(scopes)
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", default)
    return asked


# -- where the credentials come from ----------------------------------------------------------------------


def test_key_json_in_the_env_var(private_key: str) -> None:
    identity = load_identity(settings(), {ENV: json.dumps(key_info(private_key))})
    creds = identity.credentials
    assert identity.email == EMAIL and identity.source == f"${ENV}"
    assert creds.service_account_email == EMAIL
    assert list(creds.scopes) == ["https://www.googleapis.com/auth/spreadsheets"] == list(SCOPES)
    assert creds.token is None  # nothing was fetched


def test_key_file(private_key: str, tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_info(private_key)), encoding="utf-8")
    identity = load_identity(settings(credentials_file=str(path)), {})
    assert identity.email == EMAIL and identity.source == str(path)
    assert list(identity.credentials.scopes) == list(SCOPES)


def test_the_env_var_comes_before_the_key_file(private_key: str, tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_info(private_key, client_email="file@x.iam.gserviceaccount.com")))
    identity = load_identity(settings(credentials_file=str(path)), {ENV: json.dumps(key_info(private_key))})
    assert identity.email == EMAIL


def test_a_named_env_var(private_key: str) -> None:
    identity = load_identity(
        settings(credentials_env="ESA_KEY"), {"ESA_KEY": json.dumps(key_info(private_key))}
    )
    assert identity.source == "$ESA_KEY"


def test_application_default_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []

    class Federated(AnonymousCredentials):
        service_account_email = EMAIL

    def default(scopes: Any = None, **_kw: Any) -> Any:
        asked.append(scopes)
        return Federated(), "esa-project"

    monkeypatch.setattr(google.auth, "default", default)
    identity = load_identity(settings(), {})
    assert identity.email == EMAIL and identity.source == "application default credentials"
    assert asked == [list(SCOPES)]


def test_a_local_endpoint_takes_no_token(private_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = no_adc(monkeypatch)
    identity = load_identity(settings("http://127.0.0.1:9"), {ENV: json.dumps(key_info(private_key))})
    assert (identity.credentials, identity.email) == (None, EMAIL)
    # with no key at all a local endpoint needs none, and ADC is not even asked
    bare = load_identity(settings("http://127.0.0.1:9"), {})
    assert (bare.credentials, bare.email) == (None, "")
    assert asked == []


# -- what goes wrong, in one line that never holds the key ------------------------------------------------


def test_no_credentials_with_googles_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = no_adc(monkeypatch)
    with pytest.raises(ConfigError) as failed:
        load_identity(settings(), {})
    assert str(failed.value) == (
        f"no Google credentials: set ${ENV} to the service account's JSON key, or [workbook] credentials_file, "
        f"or use Application Default Credentials (Workload Identity Federation in GitHub Actions)"
    )
    assert asked == [list(SCOPES)]


def test_malformed_json_never_echoes_the_key() -> None:
    raw = json.dumps(key_info())[:-1] + ',"x": }'  # cut and broken, with the key inside
    with pytest.raises(ConfigError) as failed:
        load_identity(settings(), {ENV: raw})
    message = str(failed.value)
    assert message == (
        f"${ENV} is not valid JSON (line 1); paste the whole key file downloaded from Google Cloud"
    )
    assert SECRET not in message and "PRIVATE KEY" not in message


def test_malformed_key_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text("{\n" + f'"private_key": "{SECRET}",\n' + "oops\n}", encoding="utf-8")
    with pytest.raises(ConfigError) as failed:
        load_identity(settings(credentials_file=str(path)), {})
    assert str(failed.value).startswith(f"key file {path} is not valid JSON (line 3)")
    assert SECRET not in str(failed.value)


def test_missing_key_file() -> None:
    with pytest.raises(ConfigError, match=r"\[workbook\] credentials_file /nowhere/key.json does not exist"):
        load_identity(settings(credentials_file="/nowhere/key.json"), {})


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"client_email": None}, "client_email"),
        ({"private_key": None, "token_uri": ""}, "private_key, token_uri"),
    ],
)
def test_missing_fields_are_named(changes: dict[str, Any], missing: str) -> None:
    with pytest.raises(ConfigError) as failed:
        load_identity(settings(), {ENV: json.dumps(key_info(**changes))})
    assert (
        str(failed.value) == f"${ENV} is missing {missing}; download a new JSON key for the service account"
    )
    assert SECRET not in str(failed.value)


@pytest.mark.parametrize("raw", [json.dumps({"type": "authorized_user", "refresh_token": SECRET}), "[1, 2]"])
def test_not_a_service_account_key(raw: str) -> None:
    with pytest.raises(ConfigError) as failed:
        load_identity(settings(), {ENV: raw})
    assert str(failed.value) == f'${ENV} is not a service-account key (its "type" is not "service_account")'


def test_an_unreadable_private_key_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as failed:
        load_identity(settings(), {ENV: json.dumps(key_info())})
    message = str(failed.value)
    assert message.startswith(f"${ENV}: the private key cannot be read")
    assert SECRET not in message


def test_the_cli_prints_one_line_without_the_key(tmp_path: Path) -> None:
    config = write_gsheets_config(tmp_path, GOOGLE_ENDPOINT, "1abc")
    broken = json.dumps(key_info())[:-3]
    result = CliRunner().invoke(cli, ["sync", "-q", "--config", str(config)], env={ENV: broken})
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: ${ENV} is not valid JSON (line 1); paste the whole key file downloaded from Google Cloud\n"
    )
    assert SECRET not in result.output


# -- the session each identity gets ------------------------------------------------------------------------


def test_a_local_endpoint_gets_a_plain_session(server: SheetsApiServer, tmp_path: Path) -> None:
    config = gsheets_config(
        tmp_path, server.url, "1abc", workbook={"timeout_seconds": 7, "retry_max_attempts": 3}
    )
    backend = GsheetsBackend.from_config(config)
    assert type(backend.http.session) is EndpointSession
    assert "Authorization" not in backend.http.session.headers
    assert backend.http.timeout == 7
    assert (backend.retry.max_attempts, backend.retry.max_wait_seconds) == (3, 60.0)


def test_googles_endpoint_gets_an_authorized_session(
    private_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, json.dumps(key_info(private_key)))
    config = gsheets_config(tmp_path, GOOGLE_ENDPOINT, "1abc")
    backend = GsheetsBackend.from_config(config)
    assert isinstance(backend.http.session, AuthorizedSession)
    assert backend.service_account == EMAIL
    assert backend.http.session.credentials.token is None  # no token until the first call


def test_an_authorized_session_can_point_at_another_endpoint(server: SheetsApiServer) -> None:
    sid = server.create_spreadsheet("ESA test")
    session = authorized_session(AnonymousCredentials(), server.url)
    resp = session.get(f"{GOOGLE_ENDPOINT}/v4/spreadsheets/{sid}", timeout=5)
    assert resp.status_code == 200 and resp.json()["spreadsheetId"] == sid
    assert server.count("get") == 1


def test_a_key_google_refuses_is_one_line(private_key: str, server: SheetsApiServer, tmp_path: Path) -> None:
    # the token endpoint is the test server, which knows no /token: the refresh is refused, as for a deleted key
    sid = server.create_spreadsheet("ESA test")
    info = key_info(private_key, token_uri=f"{server.url}/token")
    creds = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
    http = HTTPClient(auth=None, session=authorized_session(creds, server.url))  # type: ignore[arg-type]
    backend = GsheetsBackend(http, gsheets_config(tmp_path, server.url, sid), EMAIL)
    with pytest.raises(BackendError) as failed:
        backend.read()
    message = str(failed.value)
    assert message.startswith("Google refused the service account's key (")
    assert message.endswith(
        f"the key may have been deleted or disabled; create a new JSON key and update the {ENV} secret"
    )
    assert "\n" not in message and "PRIVATE KEY" not in message
    assert [c.path for c in server.calls] == ["/token"]  # the sheet was never asked for
