"""Config values that look like secrets: a key or password pasted where a name or a path belongs. They are
refused by the config with a message that names the setting and never the value."""

from __future__ import annotations

import re
from typing import Any

# Settings that hold the NAME of an environment variable, never its value.
ENV_NAME_KEYS = frozenset({("smtp", "password_env"), ("workbook", "credentials_env")})
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
_PEM = re.compile(r"-----BEGIN [A-Z ]*-----|-----END [A-Z ]*-----")
_JSON_KEY = re.compile(r'"(?:private_key|private_key_id|client_secret|refresh_token|type)"\s*:')


def secret_shape(value: str) -> str:
    """What secret `value` looks like ('a PEM private key', 'a JSON key file'), or '' when it looks like none."""
    if _PEM.search(value):
        return "a PEM private key"
    if _JSON_KEY.search(value) or "private_key" in value:
        return "the content of a JSON key file"
    return ""


def looks_like_token(value: str) -> bool:
    """A long run of mixed letters and digits with no word in it, as passwords, API keys and tokens are; the
    parts of a path or an address are looked at one by one."""
    if any(c.isspace() for c in value.strip()):
        return False
    for piece in re.split(r"[/\\.:@]", value.strip()):
        if len(piece) < 16:
            continue
        digits = sum(c.isdigit() for c in piece)
        mixed = bool(re.search(r"[a-z]", piece)) and bool(re.search(r"[A-Z]", piece))
        if (mixed and digits >= 2) or (len(piece) >= 32 and digits >= 4 and re.search(r"[A-Za-z]", piece)):
            return True
    return False


def env_name_problem(value: str) -> str:
    """Why `value` cannot be an environment variable's name, without quoting it; '' when it can."""
    if not _ENV_NAME.fullmatch(value):
        return "use capitals, digits and _, e.g. SHEETS_SYNC_SMTP_PASSWORD (value not shown)"
    if looks_like_token(value) or (
        len(value) >= 20 and "_" not in value and sum(c.isdigit() for c in value) >= 4
    ):
        return "this looks like a password or token; put it in the environment and its name here (value not shown)"
    return ""


def strings_in(value: Any) -> list[str]:
    """Every string inside a TOML value (lists included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    return []
