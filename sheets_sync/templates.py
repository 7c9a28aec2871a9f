"""The Jinja2 templates every document is written from (emails, the digest, the outbox index, the report):
where they are, the one environment that loads them, and the filters they use.

The `templates/` folder at the top of a source checkout ships inside the wheel as `sheets_sync/templates/`.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from sheets_sync.mail.wording import delivery_label
from sheets_sync.outgoing import outgoing_value
from sheets_sync.personal import masked, masked_g_code
from sheets_sync.schema import status_label
from sheets_sync.thaidates import thai_date, thai_date_short, thai_weekday


def template_dir() -> Path:
    """Templates ship inside the wheel; in a source checkout they sit at the top of the repository."""
    packaged = Path(__file__).resolve().parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "templates"


def safe_note(value: str) -> str:
    """Free text typed by a school, unless it may hold a student's personal data."""
    return masked(value)


def environment() -> jinja2.Environment:
    """A fresh environment over `template_dir()`: HTML and Markdown escaped, undefined names an error, and
    every printed value through the personal-data guard."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        # Markdown is escaped like HTML: a Markdown viewer renders raw HTML, and &lt; reads as <.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "md"), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Every value printed by any template (emails, the digest, the outbox index, reports) is guarded.
        finalize=outgoing_value,
    )
    env.filters.update(
        thai_date=thai_date,
        thai_date_short=thai_date_short,
        thai_weekday=thai_weekday,
        status_label=status_label,
        safe_note=safe_note,
        masked_g=masked_g_code,
        delivery_label=delivery_label,
    )
    return env
