"""Protected ranges: the officer's columns of cycle and G-code tabs (in the structure batchUpdate), and each
school's row of a cycle tab, editable by the school's addresses (sent on their own after the lock, since
Google refuses an address that is not a Google account, and that must never stop the sync)."""

from __future__ import annotations

import re
from typing import Any

from sheets_sync import cells
from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.errors import BackendError, LockedError
from sheets_sync.model import Problem
from sheets_sync.plan import TabWrite
from sheets_sync.schema import SCHOOLS, Owner

from . import request_bodies as rq
from .client import SheetsClient, parts

# Refused school protections one run drops and sends the rest again without (each costs a call).
MAX_REFUSED_PROTECTIONS = 5


class Protections:
    """One run's protection changes: the officer's columns returned for the structure, the schools' rows
    kept for `send_school_rows`, and what Google refused, as problems for the officer's digest. Who owns
    a column is the schema's (`Owner`); who may edit a school's row is the plan's (`TabWrite.row_editors`)."""

    def __init__(self, config: Config, service_account: str) -> None:
        self.config = config
        self.service_account = service_account
        self.school_changes: list[dict[str, Any]] = []
        self._school_of: dict[int, tuple[str, str, tuple[str, ...]]] = {}
        self.problems: list[Problem] = []

    def start(self) -> None:
        """A new structure pass."""
        self.school_changes, self._school_of = [], {}

    def changes(
        self, sheet: dict[str, Any], tw: TabWrite, positions: dict[str, int], rows: list[list[Cell]]
    ) -> list[dict[str, Any]]:
        """Changes to the officer columns' protections (returned, for the structure batchUpdate); changes
        to schools' rows go to `school_changes`, sent on their own after it."""
        officer = self.config.office.officer_email
        editors = [e for e in (officer, self.service_account) if e]
        if not editors or tw.spec.kind not in ("cycle", "gcode"):
            return []
        sheet_id = int(sheet["properties"]["sheetId"])
        officer_cols = [
            positions[c.key]
            for c in tw.spec.columns
            if c.owner in (Owner.SYNC, Owner.OFFICER) and c.key in positions
        ]
        desired = [
            rq.protected(
                sheet_id, start, end, editors, f"{tw.tab} officer columns {rq.column_letter(start)}", 0
            )
            for start, end in rq.runs(officer_cols)
        ]
        school_tag = f"{rq.PROTECTION_TAG}: {tw.tab} school "
        ours = [
            p
            for p in sheet.get("protectedRanges", [])
            if str(p.get("description", "")).startswith(rq.PROTECTION_TAG)
        ]
        schools_have = [p for p in ours if str(p.get("description", "")).startswith(school_tag)]
        officer_have = [p for p in ours if not str(p.get("description", "")).startswith(school_tag)]
        schools_want: list[dict[str, Any]] = []
        if self.config.workbook.protect_rows_by_school and tw.spec.kind == "cycle":
            schools_want = self._school_rows(sheet_id, tw, positions, rows, editors)
        for change in rq.protection_changes(schools_have, schools_want):
            added = change.get("addProtectedRange", {}).get("protectedRange")
            if added is not None:
                code = str(added["description"])[len(school_tag) :]
                self._school_of[id(change)] = (tw.tab, code, tw.row_editors.get(code, ()))
            self.school_changes.append(change)
        return rq.protection_changes(officer_have, desired)

    def _school_rows(
        self,
        sheet_id: int,
        tw: TabWrite,
        positions: dict[str, int],
        rows: list[list[Cell]],
        editors: list[str],
    ) -> list[dict[str, Any]]:
        by_code = tw.row_editors
        school_cols = [
            positions[c.key] for c in tw.spec.columns if c.owner is Owner.PEOPLE and c.key in positions
        ]
        key_pos = positions["school_code"]
        codes: list[str] = []
        for row in rows[1:]:
            codes.append(_code(row[key_pos] if key_pos < len(row) else None))
        codes += [str(a.get("school_code", "")) for a in tw.appends]
        out = []
        for offset, code in enumerate(codes, start=1):
            emails = by_code.get(code)
            if not emails:
                continue
            for start, end in rq.runs(school_cols):
                out.append(
                    rq.protected(
                        sheet_id,
                        start,
                        end,
                        [*editors, *emails],
                        f"{tw.tab} school {code}",
                        offset,
                        offset + 1,
                    )
                )
        return out

    def send_school_rows(self, client: SheetsClient) -> None:
        """The protections of schools' rows, after the structure and the lock. A refused request (an
        address Google does not accept as an editor) becomes a problem in the digest and the others are
        sent again without it; nothing here stops the sync."""
        pending = self.school_changes
        self.school_changes = []
        client.echo(f"protecting schools' rows ({len(pending)} changes)")
        refusals = 0
        for part in parts(pending):
            while part:
                try:
                    client.batch_update(part)
                    break
                except BackendError as exc:
                    if isinstance(exc, LockedError):
                        raise
                    at = re.search(r"Invalid requests\[(\d+)\]", str(exc))
                    refusals += 1
                    if at is None or int(at[1]) >= len(part) or refusals > MAX_REFUSED_PROTECTIONS:
                        self.problems.append(self._problem(None, str(exc)))
                        return
                    refused = part[int(at[1])]
                    self.problems.append(self._problem(refused, str(exc)))
                    part = [r for r in part if r is not refused]

    def _problem(self, request: dict[str, Any] | None, message: str) -> Problem:
        column = SCHOOLS.column("contact_email").label
        tabs = self.config.tabs
        found = self._school_of.get(id(request)) if request is not None else None
        if found is None:
            return Problem(
                tabs.schools, 0, column, f"ล็อกแถวของโรงเรียนไม่ได้ ({message}); จะลองใหม่ในการซิงก์ครั้งถัดไป"
            )
        tab, code, emails = found
        named = [e for e in emails if e.lower() in message.lower()] or emails
        return Problem(
            tabs.schools,
            0,
            column,
            f"อีเมล {', '.join(named)} ของโรงเรียน {code} เพิ่มเป็นผู้แก้ไขไม่ได้ ({message}); แถวของโรงเรียนนี้"
            f"ในแท็บ {tab} จึงไม่ได้ล็อก แก้อีเมลให้เป็นบัญชี Google แล้วซิงก์ใหม่",
        )


def _code(value: Cell) -> str:
    try:
        return cells.code(value)
    except cells.CellError:
        return cells.text(value)
