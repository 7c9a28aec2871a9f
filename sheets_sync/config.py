"""Settings from a TOML file: every key checked, every mistake one line naming the key and the file."""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sheets_sync.config_checks import check_bounds, check_config
from sheets_sync.errors import ConfigError
from sheets_sync.line.settings import LineSettings
from sheets_sync.outgoing import vouch
from sheets_sync.secret_values import (
    ENV_NAME_KEYS,
    env_name_problem,
    looks_like_token,
    secret_shape,
    strings_in,
)

CONFIG_ENV = "SHEETS_SYNC_CONFIG"
DEFAULT_CONFIG_NAME = "sheets-sync.toml"


@dataclass(frozen=True)
class TabNames:
    schools: str = "โรงเรียน"
    cycles: str = "รอบรายงาน"
    gcode: str = "G-code"
    log: str = "บันทึกการแจ้งเตือน"
    summary: str = "สรุป"


@dataclass(frozen=True)
class WorkbookSettings:
    backend: str = "xlsx"
    path: Path = Path("workbook.xlsx")
    spreadsheet_id: str = ""
    credentials_env: str = "GOOGLE_SERVICE_ACCOUNT_JSON"
    credentials_file: str = ""
    api_endpoint: str = "https://sheets.googleapis.com"
    protect_rows_by_school: bool = False
    retry_max_attempts: int = 5
    retry_max_wait_seconds: float = 60.0
    timeout_seconds: float = 60.0
    lock_minutes: int = 30


@dataclass(frozen=True)
class OfficeSettings:
    name: str = "สำนักงานเขตพื้นที่การศึกษา"
    # The office's name as it heads a subject line (e.g. สพป.ตัวอย่าง เขต 1); default: shortened from `name`.
    short_name: str = ""
    officer_name: str = ""
    # นาย, นาง, นางสาว …: gives the officer's ครับ or ค่ะ; default: the prefix of `officer_name`.
    officer_title: str = ""
    officer_email: str = ""
    # Schools on a local workbook reply by email or telephone: both are shown in their emails.
    officer_phone: str = ""
    timezone: str = "Asia/Bangkok"


@dataclass(frozen=True)
class ReminderSettings:
    before_days: tuple[int, ...] = (7, 3, 1)
    overdue_every_days: int = 3
    escalate_after_days: int = 7
    # Without a cycle's closes_on, school reminders stop this many days after its deadline (0: never).
    stop_after_days: int = 30
    send_on_holidays: bool = False
    announce_on_open: bool = True


@dataclass(frozen=True)
class GcodeSettings:
    verify_within_days: int = 7
    dmc_within_days: int = 7


@dataclass(frozen=True)
class EmailSettings:
    transport: str = "outbox"
    outbox_dir: Path = Path("outbox")
    from_address: str = "sheets-sync@localhost"
    reply_to: str = ""
    # The digest lists at most this many rows per section, worst first, and says how many more (0: all).
    digest_list_limit: int = 100
    # "changes": the digest goes out only when something waits for the officer or changed since the last
    # one; "daily": every sending day.
    digest: str = "changes"


# The systems whose portal exports `[reconcile.<system>]` may describe.
SYSTEM_NAMES = ("DMC", "B-OBEC", "EMIS")

# Where each system's work is done (the OBEC manual); `[systems.<name>] portal_url` changes one.
DEFAULT_PORTALS: dict[str, str] = {
    "DMC": "https://bopp-obec.info",
    "B-OBEC": "https://bopp-obec.info",
    "EMIS": "https://data.bopp-obec.info/emis",
    "G-code": "https://gcode.moe.go.th",
}


@dataclass(frozen=True)
class SystemSettings:
    portal_url: str = ""


@dataclass(frozen=True)
class ReconcileSettings:
    """How a portal export is read (`[reconcile]`, or `[reconcile.<system>]` for one system); blank: found by
    header and content (`portal.py`)."""

    school_column: str = ""
    confirmed_column: str = ""
    # The values of confirmed_column that mean "confirmed"; every other value means not confirmed.
    confirmed_values: tuple[str, ...] = ()
    date_column: str = ""


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "SHEETS_SYNC_SMTP_PASSWORD"
    timeout_seconds: float = 30.0
    max_messages_per_run: int = 400
    retry_attempts: int = 3
    retry_backoff_seconds: float = 2.0
    # The log also reaches the sheet during a long run: every this many seconds, and every
    # `log_batch_size` messages when that is set (0: only by time); the rest goes with the final write.
    log_flush_seconds: float = 60.0
    log_batch_size: int = 0


@dataclass(frozen=True)
class Config:
    """Every setting of one ESA's sync; built by `load_config` or directly in tests."""

    workbook: WorkbookSettings = field(default_factory=WorkbookSettings)
    tabs: TabNames = field(default_factory=TabNames)
    office: OfficeSettings = field(default_factory=OfficeSettings)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    gcode: GcodeSettings = field(default_factory=GcodeSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    line: LineSettings = field(default_factory=LineSettings)
    # System name (upper case) → its settings, for the systems the config names.
    systems: tuple[tuple[str, SystemSettings], ...] = ()
    source: Path | None = None
    # How portal exports are read: "" → every system's settings, then a system's own (upper case).
    reconcile: tuple[tuple[str, ReconcileSettings], ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.office.timezone)

    @property
    def reply_to(self) -> str:
        return self.email.reply_to or self.office.officer_email

    def portal_url(self, system: str) -> str:
        """The address where a school does a system's work: the config's, else the manual's."""
        wanted = system.upper()
        for name, settings in self.systems:
            if name == wanted and settings.portal_url:
                return settings.portal_url
        return next((url for name, url in DEFAULT_PORTALS.items() if name.upper() == wanted), "")

    def reconcile_for(self, system: str) -> ReconcileSettings:
        """The `[reconcile]` settings for one system's exports: its own table over the shared one."""
        merged: dict[str, Any] = {}
        for name in ("", system.upper()):
            for key, settings in self.reconcile:
                if key == name:
                    merged.update({f.name: v for f in fields(settings) if (v := getattr(settings, f.name))})
        return ReconcileSettings(**merged)

    @property
    def office_short_name(self) -> str:
        return self.office.short_name or short_office_name(self.office.name)


# The abbreviations Thai offices use for their own names.
_OFFICE_ABBREVIATIONS = (
    ("สำนักงานเขตพื้นที่การศึกษาประถมศึกษา", "สพป."),
    ("สำนักงานเขตพื้นที่การศึกษามัธยมศึกษา", "สพม."),
    ("สำนักงานเขตพื้นที่การศึกษา", "สพท."),
    ("สำนักงานคณะกรรมการการศึกษาขั้นพื้นฐาน", "สพฐ."),
)


def short_office_name(name: str) -> str:
    """`สำนักงานเขตพื้นที่การศึกษาประถมศึกษาเชียงใหม่ เขต 1` → `สพป.เชียงใหม่ เขต 1`."""
    text = " ".join(name.split())
    for long, short in _OFFICE_ABBREVIATIONS:
        if text.startswith(long):
            return short + text[len(long) :].lstrip()
    return text


_SECTIONS: dict[str, type] = {
    "workbook": WorkbookSettings,
    "tabs": TabNames,
    "office": OfficeSettings,
    "reminders": ReminderSettings,
    "gcode": GcodeSettings,
    "email": EmailSettings,
    "smtp": SmtpSettings,
    "line": LineSettings,
}
# TOML keys that are Python keywords or clash with other names.
_KEY_ALIASES = {("email", "from"): "from_address"}
_CHOICES = {
    ("workbook", "backend"): ("xlsx", "gsheets"),
    ("email", "transport"): ("outbox", "smtp", "dry-run"),
    ("smtp", "security"): ("starttls", "ssl", "none"),
    ("email", "digest"): ("changes", "daily"),
}
_SECRET_KEYS = {
    "password",
    "smtp_password",
    "private_key",
    "credentials_json",
    "service_account_json",
    "token",
    "channel_access_token",
    "secret",
    "channel_secret",
}


def find_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """The config file to use: --config, then $SHEETS_SYNC_CONFIG, then ./sheets-sync.toml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    return Path(DEFAULT_CONFIG_NAME)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and check a config file; relative paths inside it are taken from the file's folder."""
    config_path = find_config_path(path)
    if not config_path.exists():
        raise ConfigError(
            f"{config_path}: config file not found. Pass --config FILE, set {CONFIG_ENV}, "
            f"or run 'sheets-sync demo' to see a working example"
        )
    if not config_path.is_file():
        # /dev/zero, a fifo, a folder: reading would never end or make no sense.
        raise ConfigError(f"{config_path}: not a regular file; pass the path of the .toml config file")
    try:
        raw = tomllib.loads(_read_bounded(config_path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot be read: {exc}") from None
    return parse_config(raw, config_path)


MAX_CONFIG_BYTES = 1 << 20  # a config is a few kilobytes; a megabyte is a wrong file


def _read_bounded(path: Path) -> str:
    with path.open("rb") as fh:
        data = fh.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KB, not a config file")
    return data.decode("utf-8")


def parse_config(raw: dict[str, Any], source: Path) -> Config:
    """Turn parsed TOML into a Config, naming the first wrong key with the file."""
    base = source.parent
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name == "systems":
            sections["systems"] = _parse_systems(value, source, base)
            continue
        if name == "reconcile":
            sections["reconcile"] = _parse_reconcile(value, source, base)
            continue
        if name not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section [{name}]{_suggest(name, _SECTIONS)}")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{name}] must be a table of settings")
        sections[name] = _parse_section(name, value, source, base)
    # Default paths, like given ones, are taken from the config file's folder, not the current one.
    if "path" not in raw.get("workbook", {}):
        sections["workbook"] = replace(
            sections.get("workbook", WorkbookSettings()), path=base / WorkbookSettings.path
        )
    if "outbox_dir" not in raw.get("email", {}):
        sections["email"] = replace(
            sections.get("email", EmailSettings()), outbox_dir=base / EmailSettings.outbox_dir
        )
    config = Config(source=source, **sections)
    check_config(config, source)
    vouch(config.office.officer_name, config.office.name)
    return config


def _parse_section(
    name: str, values: dict[str, Any], source: Path, base: Path, cls: type | None = None
) -> Any:
    cls = cls or _SECTIONS[name]
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        attr = _KEY_ALIASES.get((name, key), key)
        where = f"{source}: [{name}] {key}"
        if key.lower() in _SECRET_KEYS:
            raise ConfigError(
                f"{where}: secrets never go in the config file; put it in an environment variable "
                f"(see password_env / credentials_env / token_env / secret_env)"
            )
        _refuse_secret(name, key, value, where)
        public = [_public_key(name, k) for k in known]
        if attr not in known or (attr == key and key not in public):
            raise ConfigError(f"{where}: unknown setting{_suggest(key, public)}")
        default = known[attr].default
        kwargs[attr] = _coerce(where, value, default, base)
        check_bounds(name, key, kwargs[attr], where)
        choices = _CHOICES.get((name, key))
        if choices and kwargs[attr] not in choices:
            raise ConfigError(f"{where} = {_shown(value)}: must be one of {', '.join(choices)}")
    return cls(**kwargs)


def _refuse_secret(section: str, key: str, value: Any, where: str) -> None:
    """A key, a password or a token pasted into the config is refused, and never quoted."""
    shape = next((secret_shape(s) for s in strings_in(value) if secret_shape(s)), "")
    if shape:
        raise ConfigError(
            f"{where} holds {shape}: secrets never go in the config file; put it in an environment variable "
            f"(see password_env / credentials_env)"
        )
    if not isinstance(value, str):
        return
    if (section, key) in ENV_NAME_KEYS and value.strip():
        problem = env_name_problem(value.strip())
        if problem:
            raise ConfigError(
                f"{where} must be the NAME of an environment variable, not its value: {problem}"
            )
    if (section, key) == ("workbook", "credentials_file") and ("\n" in value or looks_like_token(value)):
        raise ConfigError(
            f"{where} must be the path of the JSON key file, not a key or token (value not shown)"
        )


def _shown(value: Any) -> str:
    """A value quoted in an error message, unless it may be a secret or is too long to be useful."""
    text = repr(value)
    if any(looks_like_token(s) or secret_shape(s) for s in strings_in(value)) or len(text) > 80:
        return "(value not shown)"
    return text


def _parse_systems(value: Any, source: Path, base: Path) -> tuple[tuple[str, SystemSettings], ...]:
    """`[systems.DMC] portal_url = "…"`: one table per system."""
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [systems] must hold one table per system, e.g. [systems.DMC]")
    known = {name.upper(): name for name in DEFAULT_PORTALS}
    out: list[tuple[str, SystemSettings]] = []
    for system, settings in value.items():
        if system.upper() not in known:
            raise ConfigError(
                f"{source}: unknown system [systems.{system}]; known: {', '.join(DEFAULT_PORTALS)}"
                f"{_suggest(system, DEFAULT_PORTALS)}"
            )
        if not isinstance(settings, dict):
            raise ConfigError(
                f"{source}: [systems.{system}] must be a table of settings, e.g. portal_url = …"
            )
        parsed = _parse_section(f"systems.{system}", settings, source, base, SystemSettings)
        url = parsed.portal_url
        if url and not url.startswith(("https://", "http://")):
            raise ConfigError(f"{source}: [systems.{system}] portal_url = {url!r}: must start with https://")
        out.append((system.upper(), parsed))
    return tuple(out)


def _parse_reconcile(value: Any, source: Path, base: Path) -> tuple[tuple[str, ReconcileSettings], ...]:
    """`[reconcile]` settings for every system, and `[reconcile.DMC]` … for one."""
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [reconcile] must be a table of settings")
    shared = {k: v for k, v in value.items() if not isinstance(v, dict)}
    out = [("", _parse_section("reconcile", shared, source, base, ReconcileSettings))]
    for system, settings in value.items():
        if not isinstance(settings, dict):
            continue
        if system.upper() not in {s.upper() for s in SYSTEM_NAMES}:
            raise ConfigError(
                f"{source}: unknown system [reconcile.{system}]; known: {', '.join(SYSTEM_NAMES)}"
                f"{_suggest(system, SYSTEM_NAMES)}"
            )
        where = f"reconcile.{system}"
        out.append((system.upper(), _parse_section(where, settings, source, base, ReconcileSettings)))
    return tuple(out)


def _public_key(section: str, attr: str) -> str:
    for (sec, key), alias in _KEY_ALIASES.items():
        if sec == section and alias == attr:
            return key
    return attr


# Settings that are lists of words (the other lists are of days).
_TEXT_LISTS = {"confirmed_values"}


def _coerce(where: str, value: Any, default: Any, base: Path) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} = {_shown(value)}: must be true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where} = {_shown(value)}: must be a whole number, 0 or more")
        return value
    if isinstance(default, float):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ConfigError(f"{where} = {_shown(value)}: must be a number, 0 or more")
        return float(value)
    if isinstance(default, Path):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} = {_shown(value)}: must be a file or folder path in quotes")
        path = Path(value).expanduser()
        return path if path.is_absolute() else base / path
    if isinstance(default, tuple) and where.rsplit(" ", 1)[-1] in _TEXT_LISTS:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(
                f'{where} = {_shown(value)}: must be a list of words in quotes, e.g. ["ยืนยันแล้ว", "Y"]'
            )
        return tuple(v.strip() for v in value)
    if isinstance(default, tuple):
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            raise ConfigError(
                f"{where} = {_shown(value)}: must be a list of whole numbers above 0, e.g. [7, 3, 1]"
            )
        return tuple(sorted(set(value), reverse=True))
    if not isinstance(value, str):
        raise ConfigError(f"{where} = {_shown(value)}: must be text in quotes")
    return value.strip()


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
