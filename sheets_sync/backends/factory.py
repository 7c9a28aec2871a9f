"""The workbook backend a config names, made where the backends live."""

from __future__ import annotations

from collections.abc import Callable

from sheets_sync.config import Config

from .base import Backend


def _quiet(_: str) -> None:
    pass


def make_backend(config: Config, echo: Callable[[str], None] = _quiet) -> Backend:
    """The workbook backend the config names; `echo` receives its progress (retries, structure changes)."""
    if config.workbook.backend == "gsheets":
        from .gsheets import GsheetsBackend

        return GsheetsBackend.from_config(config, echo=echo)
    from .xlsx import XlsxBackend

    return XlsxBackend(config.workbook.path, config.tabs, config.workbook.lock_minutes)
