"""Settings from TOML: defaults, one-line errors naming the key and the file, no secrets, paths from the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from sheets_sync.config import (
    CONFIG_ENV,
    Config,
    find_config_path,
    load_config,
)
from sheets_sync.errors import ConfigError, SheetsSyncError


def write(tmp_path: Path, text: str, name: str = "esa.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_match_design() -> None:
    c = Config()
    # docs/design.md: before_days = [7, 3, 1], overdue_every_days = 3, escalate_after_days = 7
    assert c.reminders.before_days == (7, 3, 1)
    assert c.reminders.overdue_every_days == 3
    assert c.reminders.escalate_after_days == 7
    # No sending on weekends or Thai public holidays unless configured.
    assert c.reminders.send_on_holidays is False
    assert c.reminders.announce_on_open is True
    # Today is the date in Asia/Bangkok by default.
    assert c.office.timezone == "Asia/Bangkok"
    assert str(c.zone) == "Asia/Bangkok"
    # The local .xlsx backend and the outbox transport are the defaults that need no account.
    assert c.workbook.backend == "xlsx"
    assert c.email.transport == "outbox"
    # Default tab names from the workbook contract.
    assert (c.tabs.schools, c.tabs.cycles, c.tabs.gcode, c.tabs.log, c.tabs.summary) == (
        "โรงเรียน",
        "รอบรายงาน",
        "G-code",
        "บันทึกการแจ้งเตือน",
        "สรุป",
    )


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    c = load_config(path)
    assert c.source == path
    assert c.reminders == Config().reminders
    assert c.office == Config().office
    assert c.tabs == Config().tabs


def test_a_full_file_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[workbook]
backend = "gsheets"
spreadsheet_id = "1AbC"
retry_max_attempts = 3
timeout_seconds = 20

[office]
name = "สพป.เชียงใหม่ เขต 1"
officer_email = "officer@esa.example.org"
timezone = "Asia/Bangkok"

[reminders]
before_days = [1, 14, 3, 3]
overdue_every_days = 2
escalate_after_days = 5
send_on_holidays = true

[gcode]
verify_within_days = 10

[email]
transport = "smtp"
from = "reminders@esa.example.org"

[smtp]
host = "smtp.example.org"
port = 465
security = "ssl"
""",
    )
    c = load_config(path)
    assert c.workbook.backend == "gsheets"
    assert c.workbook.spreadsheet_id == "1AbC"
    assert c.workbook.retry_max_attempts == 3
    assert c.workbook.timeout_seconds == 20.0 and isinstance(c.workbook.timeout_seconds, float)
    assert c.office.name == "สพป.เชียงใหม่ เขต 1"
    assert c.reminders.before_days == (14, 3, 1)  # sorted latest-first, duplicates dropped
    assert c.reminders.overdue_every_days == 2
    assert c.reminders.escalate_after_days == 5
    assert c.reminders.send_on_holidays is True
    assert c.gcode.verify_within_days == 10
    assert c.gcode.dmc_within_days == 7
    assert c.email.from_address == "reminders@esa.example.org"
    assert c.reply_to == "officer@esa.example.org"  # blank reply_to falls back to the officer
    assert (c.smtp.host, c.smtp.port, c.smtp.security) == ("smtp.example.org", 465, "ssl")


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[reminders]\nbefore_days = '7,3,1'", "before_days"),
        ("[reminders]\nbefore_days = []", "before_days"),
        ("[reminders]\nbefore_days = [7, 0]", "before_days"),
        ("[reminders]\nbefore_days = [7, -1]", "before_days"),
        ("[reminders]\nbefore_days = [true]", "before_days"),
        ("[reminders]\nbefore_days = [7.5]", "before_days"),
        ("[reminders]\noverdue_every_days = '3'", "overdue_every_days"),
        ("[reminders]\noverdue_every_days = -1", "overdue_every_days"),
        ("[reminders]\noverdue_every_days = 0", "overdue_every_days"),
        ("[reminders]\noverdue_every_days = 2.5", "overdue_every_days"),
        ("[reminders]\nescalate_after_days = true", "escalate_after_days"),
        ("[reminders]\nsend_on_holidays = 'yes'", "send_on_holidays"),
        ("[reminders]\nsend_on_holidays = 1", "send_on_holidays"),
        ("[reminders]\nannounce_on_open = 'false'", "announce_on_open"),
        ("[gcode]\nverify_within_days = '7'", "verify_within_days"),
        ("[gcode]\ndmc_within_days = -7", "dmc_within_days"),
        ("[workbook]\nbackend = 'csv'", "backend"),
        ("[workbook]\nbackend = 3", "backend"),
        ("[workbook]\nbackend = 'gsheets'", "spreadsheet_id"),
        ("[workbook]\npath = 5", "path"),
        ("[workbook]\npath = ''", "path"),
        ("[workbook]\ntimeout_seconds = '60'", "timeout_seconds"),
        ("[workbook]\ntimeout_seconds = -1", "timeout_seconds"),
        ("[workbook]\ntimeout_seconds = true", "timeout_seconds"),
        ("[workbook]\nprotect_rows_by_school = 'no'", "protect_rows_by_school"),
        ("[workbook]\nlock_minutes = 1.5", "lock_minutes"),
        ("[office]\ntimezone = 'Asia/Bangkokk'", "timezone"),
        ("[office]\ntimezone = 'UTC+7'", "timezone"),
        ("[office]\nname = 5", "name"),
        ("[office]\nofficer_email = ['a@b.c']", "officer_email"),
        ("[tabs]\nschools = 1", "schools"),
        ("[email]\ntransport = 'sendmail'", "transport"),
        ('[email]\nfrom = "a@b.c\\nBcc: x@y.z"', "from"),
        ('[email]\nreply_to = "a@b.c\\r\\nBcc: x@y.z"', "reply_to"),
        ("[email]\noutbox_dir = false", "outbox_dir"),
        ("[smtp]\nsecurity = 'tls'", "security"),
        ("[smtp]\nport = '587'", "port"),
        ("[smtp]\nmax_messages_per_run = -5", "max_messages_per_run"),
        ("[smtp]\nlog_flush_seconds = -1", "log_flush_seconds"),
        ("[smtp]\nlog_batch_size = -2", "log_batch_size"),
        ("[email]\ndigest_list_limit = -1", "digest_list_limit"),
        ("[reminders]\nbefore_day = [7]", "before_day"),
        ("[smtp]\nhots = 'x'", "hots"),
        ("reminders = 5", "reminders"),
        ("[reminder]\nbefore_days = [7]", "reminder"),
    ],
)
def test_every_mistake_names_the_key_and_the_file(tmp_path: Path, toml: str, key: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert str(path) in message
    assert key in message
    assert "\n" not in message.rstrip("\n")  # one line
    assert isinstance(exc.value, SheetsSyncError)


@pytest.mark.parametrize(
    ("toml", "suggestion"),
    [
        ("[reminder]\n", "reminders"),
        ("[remiders]\n", "reminders"),
        ("[workbok]\n", "workbook"),
        ("[reminders]\nbefore_day = [7]", "before_days"),
        ("[reminders]\noverdue_every_day = 3", "overdue_every_days"),
        ("[email]\nfrm = 'a@b.c'", "from"),  # the public name, not the Python attribute
    ],
)
def test_unknown_names_get_a_suggestion(tmp_path: Path, toml: str, suggestion: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError, match="did you mean") as exc:
        load_config(path)
    assert repr(suggestion) in str(exc.value)


def test_unknown_section_with_nothing_close_has_no_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "[zzzzzzzz]\n")
    with pytest.raises(ConfigError, match=r"unknown section \[zzzzzzzz\]") as exc:
        load_config(path)
    assert "did you mean" not in str(exc.value)


SECRET = "hunter2-ลับมาก"


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        (f"[smtp]\npassword = '{SECRET}'", "password"),
        (f"[smtp]\nPassword = '{SECRET}'", "Password"),
        (f"[smtp]\nsmtp_password = '{SECRET}'", "smtp_password"),
        (f"[workbook]\nprivate_key = '{SECRET}'", "private_key"),
        (f"[workbook]\ncredentials_json = '{SECRET}'", "credentials_json"),
        (f"[workbook]\nservice_account_json = '{SECRET}'", "service_account_json"),
        (f"[email]\npassword = '{SECRET}'", "password"),
        (f"password = '{SECRET}'", "password"),  # outside any section
        (f"[smtp]\npasword = '{SECRET}'", "pasword"),  # a typo of a secret key
    ],
)
def test_secrets_are_refused_and_never_echoed(tmp_path: Path, toml: str, key: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert key in message
    assert str(path) in message
    assert SECRET not in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    "toml",
    [
        "[smtp]\npassword = 'x'",
        "[workbook]\nprivate_key = 'x'",
    ],
)
def test_a_secret_key_points_to_the_environment(tmp_path: Path, toml: str) -> None:
    with pytest.raises(ConfigError, match="environment"):
        load_config(write(tmp_path, toml))


def test_not_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[reminders\nbefore_days = [7")
    with pytest.raises(ConfigError, match="not valid TOML") as exc:
        load_config(path)
    assert str(path) in str(exc.value)


def test_missing_file_names_the_file_and_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(path) in str(exc.value)
    assert "--config" in str(exc.value)
    assert CONFIG_ENV in str(exc.value)


@pytest.mark.parametrize(
    ("section", "key", "value", "attr"),
    [
        ("workbook", "path", "data/esa.xlsx", ("workbook", "path")),
        ("workbook", "path", "esa.xlsx", ("workbook", "path")),
        ("workbook", "path", "../shared/esa.xlsx", ("workbook", "path")),
        ("email", "outbox_dir", "mail/out", ("email", "outbox_dir")),
    ],
)
def test_relative_paths_are_taken_from_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, key: str, value: str, attr: tuple[str, str]
) -> None:
    folder = tmp_path / "configs" / "esa1"
    folder.mkdir(parents=True)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the scheduler runs from some other folder
    path = write(folder, f"[{section}]\n{key} = '{value}'\n", name="sheets-sync.toml")
    c = load_config(path)
    got = getattr(getattr(c, attr[0]), attr[1])
    assert got == folder / value
    assert got.is_absolute()


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "somewhere" / "esa.xlsx"
    path = write(tmp_path, f"[workbook]\npath = '{target.as_posix()}'\n")
    assert load_config(path).workbook.path == target


def test_home_paths_are_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = write(tmp_path, "[workbook]\npath = '~/esa.xlsx'\n")
    assert load_config(path).workbook.path == tmp_path / "home" / "esa.xlsx"


# --- which file: --config, then $SHEETS_SYNC_CONFIG, then ./sheets-sync.toml ---------------------------------


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        ("given.toml", "env.toml", "given.toml"),
        (None, "env.toml", "env.toml"),
        ("", "env.toml", "env.toml"),
        (None, None, "sheets-sync.toml"),
        (None, "", "sheets-sync.toml"),
        ("given.toml", None, "given.toml"),
    ],
)
def test_find_config_path_precedence(
    monkeypatch: pytest.MonkeyPatch, explicit: str | None, env: str | None, expected: str
) -> None:
    if env is None:
        monkeypatch.delenv(CONFIG_ENV, raising=False)
    else:
        monkeypatch.setenv(CONFIG_ENV, env)
    assert find_config_path(explicit) == Path(expected)


@pytest.mark.parametrize("which", ["explicit", "env", "cwd"])
def test_load_config_reads_the_file_the_precedence_picks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    # Three files that differ only in one setting, so the loaded value tells which file was read.
    explicit = write(tmp_path, "[gcode]\nverify_within_days = 1\n", name="explicit.toml")
    env = write(tmp_path, "[gcode]\nverify_within_days = 2\n", name="env.toml")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    write(cwd, "[gcode]\nverify_within_days = 3\n", name="sheets-sync.toml")
    monkeypatch.chdir(cwd)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    if which in ("explicit", "env"):
        monkeypatch.setenv(CONFIG_ENV, str(env))
    arg = explicit if which == "explicit" else None
    expected = {"explicit": 1, "env": 2, "cwd": 3}[which]
    assert load_config(arg).gcode.verify_within_days == expected


def test_env_pointing_at_a_missing_file_is_an_error_not_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "", name="sheets-sync.toml")
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="missing.toml"):
        load_config(None)


# -- values that look like secrets ---------------------------------------------------------------------------

PEM = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\n-----END PRIVATE KEY-----\\n"
KEY_JSON = (
    '{"type": "service_account", "private_key": "' + PEM + '", "client_email": "x@y.iam.gserviceaccount.com"}'
)
TOKEN = "Xk9vQ2mL7pR4tZ8wB3nY"


@pytest.mark.parametrize(
    ("toml", "key", "secret"),
    [
        (f"[workbook]\ncredentials_file = '''{KEY_JSON}'''", "credentials_file", "MIIEvQIBADAN"),
        (f'[workbook]\ncredentials_file = "{PEM}"', "credentials_file", "MIIEvQIBADAN"),
        (f"[workbook]\ncredentials_file = '{TOKEN}'", "credentials_file", TOKEN),
        (f"[smtp]\npassword_env = '{TOKEN}'", "password_env", TOKEN),
        ("[smtp]\npassword_env = 'hunter2-ลับมาก'", "password_env", "hunter2"),
        ("[smtp]\npassword_env = 'my secret pass'", "password_env", "secret pass"),
        (f"[workbook]\ncredentials_env = '''{KEY_JSON}'''", "credentials_env", "MIIEvQIBADAN"),
        (f"[smtp]\nusername = '{PEM}'", "username", "MIIEvQIBADAN"),
        (f"[office]\nname = '''{KEY_JSON}'''", "name", "MIIEvQIBADAN"),
        (f"[smtp]\nport = '{TOKEN}'", "port", TOKEN),  # a wrong type quotes no token either
        (f"[workbook]\nbackend = '{TOKEN}'", "backend", TOKEN),
    ],
    ids=["key-json-as-file", "pem-as-file", "token-as-file", "token-as-env-name", "password-as-env-name",
         "phrase-as-env-name", "key-as-env-name", "pem-as-username", "key-in-a-name", "token-as-port",
         "token-as-choice"],
)  # fmt: skip
def test_values_that_look_like_secrets_are_refused_unquoted(
    tmp_path: Path, toml: str, key: str, secret: str
) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert key in message and str(path) in message
    assert secret not in message and "\n" not in message


@pytest.mark.parametrize(
    "toml",
    ["[smtp]\npassword_env = 'SMTP_PASSWORD_2'", "[workbook]\ncredentials_env = 'GOOGLE_SERVICE_ACCOUNT_JSON'",
     "[workbook]\ncredentials_file = 'keys/esa-sheets-2569.json'", "[smtp]\nusername = 'noreply2569@esa.example'",
     "[workbook]\nbackend = 'gsheets'\nspreadsheet_id = '1EqV8ib8HDy88YtDtXbiufMdI8X2Y4rUmer_BH3M1XS0'"],
)  # fmt: skip
def test_names_paths_and_ids_are_not_taken_for_secrets(tmp_path: Path, toml: str) -> None:
    load_config(write(tmp_path, toml))


# -- numbers with sane bounds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[smtp]\ntimeout_seconds = nan", "timeout_seconds"),
        ("[smtp]\nretry_backoff_seconds = inf", "retry_backoff_seconds"),
        ("[workbook]\nretry_max_wait_seconds = 1e300", "retry_max_wait_seconds"),
        ("[smtp]\nlog_flush_seconds = -inf", "log_flush_seconds"),
        ("[reminders]\nbefore_days = [1000000000]", "before_days"),
        ("[reminders]\nescalate_after_days = 1000000000000", "escalate_after_days"),
        ("[reminders]\noverdue_every_days = 100000", "overdue_every_days"),
        ("[gcode]\nverify_within_days = 99999999", "verify_within_days"),
        ("[smtp]\nport = 70000", "port"),
        ("[smtp]\nretry_attempts = 1000000", "retry_attempts"),
        ("[workbook]\ntimeout_seconds = 0", "timeout_seconds"),
    ],
)
def test_numbers_out_of_bounds_are_one_line(tmp_path: Path, toml: str, key: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert key in str(exc.value) and "\n" not in str(exc.value)
