"""The domain's words have one home (sheets_sync.model), and the pure core imports no shell."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from sheets_sync.model import (
    DELIVERED,
    FINAL_FAILURES,
    RETRY_LATER,
    CycleKey,
    DeliveryResult,
    GcodeKey,
    LogRecord,
    StepId,
)
from sheets_sync.schema import CYCLE_STATUSES, GCODE_STATUSES

PACKAGE = Path(__file__).resolve().parent.parent / "sheets_sync"
# The functional core: pure functions of (snapshot, config, today), and the words they share.
CORE = (
    "model",
    "parse",
    "validate",
    "status",
    "evaluate",
    "reminders",
    "plan",
    "summary",
    "digest_rule",
    "table",
    "cells",
    "thaidates",
    "helpdesk",
    "personal",
    "schema",
    "lost_tabs",
)
SHELLS = ("sheets_sync.mail", "sheets_sync.backends")


def imported_modules(source: str, package: str = "sheets_sync") -> list[str]:
    """Every module a source file imports, relative imports resolved against `package`, lazy ones too."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([package, *([base] if base else [])])
            found += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return found


def shell_imports(source: str) -> list[str]:
    return [m for m in imported_modules(source) if any(m == s or m.startswith(s + ".") for s in SHELLS)]


@pytest.mark.parametrize("module", CORE)
def test_the_core_imports_no_mail_and_no_backend(module: str) -> None:
    assert shell_imports((PACKAGE / f"{module}.py").read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "from sheets_sync.mail.transport import DELIVERED\n",
        "import sheets_sync.backends.xlsx\n",
        "from sheets_sync import mail\n",
        "from .backends import base\n",
        "def f():\n    from sheets_sync.backends.gsheets import GsheetsBackend\n",
    ],
)
def test_the_import_check_sees_a_shell_import(source: str) -> None:
    assert shell_imports(source)


def test_the_status_keys_are_the_workbook_s_statuses() -> None:
    assert [s.key for s in CYCLE_STATUSES] == list(CycleKey)
    assert {s.key for s in GCODE_STATUSES} == set(GcodeKey)


def test_every_delivery_result_is_in_one_group_except_a_dry_run() -> None:
    assert not (DELIVERED & FINAL_FAILURES or DELIVERED & RETRY_LATER or FINAL_FAILURES & RETRY_LATER)
    assert set(DeliveryResult) - (DELIVERED | FINAL_FAILURES | RETRY_LATER) == {DeliveryResult.DRY_RUN}


@pytest.mark.parametrize(
    ("text", "subject", "step"),
    [
        ("DMC-2569-1:overdue-3", "DMC-2569-1", "overdue-3"),
        ("DMC-2569-1:before-7", "DMC-2569-1", "before-7"),
        ("B-OBEC-2569:open", "B-OBEC-2569", "open"),
        ("G:REQ-0042:returned-2026-11-13", "G:REQ-0042", "returned-2026-11-13"),
        ("G:REQ-0042:issued", "G:REQ-0042", "issued"),
        ("digest:2026-12-03", "digest", "2026-12-03"),
        ("EMIS-2569:help-1a2b3c4d", "EMIS-2569", "help-1a2b3c4d"),
    ],
)
def test_a_step_id_parses_and_prints_back(text: str, subject: str, step: str) -> None:
    parsed = StepId.parse(text)
    assert (parsed.subject, parsed.step) == (subject, step)
    assert str(parsed) == text


def test_a_gcode_step_id_is_about_its_request() -> None:
    assert str(StepId.gcode("REQ-0042", "overdue-9")) == "G:REQ-0042:overdue-9"


def test_a_step_id_without_a_colon_is_all_subject() -> None:
    assert StepId.parse("DMC-2569-1") == StepId("DMC-2569-1", "")
    assert str(StepId.parse("DMC-2569-1")) == "DMC-2569-1"


@pytest.mark.parametrize("text", ["DMC-2569-1:open", "G:R-1:issued", "plain", ":x", "a:", "::", ""])
def test_a_step_id_s_subject_is_what_precedes_its_last_colon(text: str) -> None:
    assert StepId.parse(text).subject == text.rsplit(":", 1)[0]


def record(result: str) -> LogRecord:
    return LogRecord(
        "2026-12-03T08:00:05", "r", "reminder", "1036040001", ("DMC-2569-1:open",), "a", "m", result
    )


@pytest.mark.parametrize(
    ("cell", "result", "detail", "delivered", "settled"),
    [
        ("accepted", DeliveryResult.ACCEPTED, "", True, True),
        ("outbox", DeliveryResult.OUTBOX, "", True, True),
        ("refused: 550 5.1.1 no such user", DeliveryResult.REFUSED, "550 5.1.1 no such user", False, True),
        ("address_refused: every recipient refused", DeliveryResult.ADDRESS_REFUSED, "every recipient refused",
         False, True),
        ("temp_failed: 451 4.7.1: try later", DeliveryResult.TEMP_FAILED, "451 4.7.1: try later", False, False),
        (" deferred ", DeliveryResult.DEFERRED, "", False, False),
        ("sent by hand", "sent by hand", "", False, False),
        ("", "", "", False, False),
    ],
)  # fmt: skip
def test_the_log_s_result_is_parsed_once(
    cell: str, result: str, detail: str, delivered: bool, settled: bool
) -> None:
    r = record(cell)
    assert (r.result, r.detail, r.delivered, r.settled) == (result, detail, delivered, settled)
    assert type(r.result) is (DeliveryResult if result in set(DeliveryResult) else str)


def test_a_log_record_knows_its_day_and_steps() -> None:
    r = record("accepted")
    assert r.sent_on == dt.date(2026, 12, 3)
    assert r.step_ids == (StepId("DMC-2569-1", "open"),)


# What gets a backend or a transport to read or write, not to run a sync: they import the factories beside
# the adapters (backends/factory.py, mail/factory.py), never the orchestrator.
NOT_THE_ORCHESTRATOR = ("doctor.py", "cli/common.py", "cli/reading.py", "line/ids.py")


@pytest.mark.parametrize("module", NOT_THE_ORCHESTRATOR)
def test_a_backend_comes_from_its_factory_not_from_sync(module: str) -> None:
    imported = imported_modules((PACKAGE / module).read_text(encoding="utf-8"))
    assert not [m for m in imported if m == "sheets_sync.sync" or m.startswith("sheets_sync.sync.")]


def test_the_factories_live_beside_their_adapters() -> None:
    from sheets_sync import sync
    from sheets_sync.backends.factory import make_backend
    from sheets_sync.mail.factory import make_transport

    assert make_backend.__module__ == "sheets_sync.backends.factory"
    assert make_transport.__module__ == "sheets_sync.mail.factory"
    assert not hasattr(sync, "make_backend") and not hasattr(sync, "make_transport")
