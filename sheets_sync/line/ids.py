"""Writing a school's LINE id into its line_id (ไลน์ไอดี) cell, keyed by school code, in either backend."""

from __future__ import annotations

from dataclasses import replace

from sheets_sync.config import Config
from sheets_sync.parse import parse_schools
from sheets_sync.plan import TabWrite, WritePlan
from sheets_sync.schema import SCHOOLS, Owner, TabSpec
from sheets_sync.table import Table

# The schools tab as this one write sees it: line_id is the column written (added when missing);
# the active tick stays listed so its checkboxes are kept as they are.
LINE_IDS = TabSpec(
    "schools",
    (
        SCHOOLS.column("school_code"),
        SCHOOLS.column("active"),
        replace(SCHOOLS.column("line_id"), owner=Owner.SYNC),
    ),
    key="school_code",
)


def record_line_id(config: Config, code: str, line_id: str) -> str | None:
    """Write `line_id` on the school's row; the school's name, or None when no school has that code."""
    from sheets_sync.backends.factory import make_backend

    backend = make_backend(config)
    with backend.lock():
        snapshot = backend.read()
        name = next((t for t in snapshot if t.casefold() == config.tabs.schools.casefold()), None)
        if name is None:
            return None
        table = Table.read(name, snapshot[name], SCHOOLS)
        schools, _ = parse_schools(table)
        school = next((s for s in schools if s.code == code), None)
        if school is None:
            return None
        if school.line_id != line_id:
            tab = TabWrite(table.name, LINE_IDS, create=False, updates={(code, 0): {"line_id": line_id}})
            plan = WritePlan(tabs=[tab])
            backend.prepare(plan)
            backend.write(plan)
            backend.commit()
        return school.name
