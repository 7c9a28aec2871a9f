"""One exception family: every expected failure is a SheetsSyncError with a one-line message."""

from __future__ import annotations


class SheetsSyncError(Exception):
    """Base of every problem the tool expects; the CLI prints its message and exits 1."""


class ConfigError(SheetsSyncError):
    """A setting is missing or wrong; the message names the key and the file."""


class WorkbookError(SheetsSyncError):
    """The workbook cannot be used as it is (a missing tab or header, a file that changed)."""


class BackendError(SheetsSyncError):
    """The workbook's store (a file or the Sheets API) refused or failed."""


class MailError(SheetsSyncError):
    """The mail transport cannot be used at all (login refused, server unreachable)."""


class LockedError(SheetsSyncError):
    """Another sync holds the workbook."""
