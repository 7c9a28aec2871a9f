"""The Google Sheets backend against a server as strict as Google: protections that do not churn, a refused
editor that does not stop the sync, imports that grow the grid, calls paced under the per-minute quota,
structure requests cut at 2 MB."""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sheets_sync.backends.gsheets import MAX_REQUEST_BYTES, GsheetsBackend
from sheets_sync.backends.pacing import Pacer
from sheets_sync.cli import cli
from sheets_sync.config import Config
from tests.support import workbooks as wb
from tests.support.sheets_api import SheetsApiServer
from tests.support.sheets_fixtures import (
    CYCLES_TAB,
    DMC,
    LOG_TAB,
    SCHOOLS_TAB,
    api_rows,
    gsheets_backend,
    gsheets_config,
    office_tabs,
    server_fixture,  # noqa: F401 - the "server" fixture
    sync,
    ticked,
)

DAY = dt.date(2026, 6, 11)  # DMC round 1 of 2569 is one day late
BEFORE_OPENING = dt.date(2026, 5, 1)  # no cycle open: a sync with no mail
ROWS = {"workbook": {"protect_rows_by_school": True}}


class Clock:
    """A minute that passes only when someone waits: shared by the server's quota and the backend's pacer."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def numbered(n: int) -> tuple[int, int]:
    """School n of a national workbook: (its number in its district, the district), 9,000 to a district."""
    return (n - 1) % 9000 + 1, (n - 1) // 9000 + 1


def office(
    server: SheetsApiServer,
    folder: Path,
    schools: int,
    dmc: bool = True,
    confirmed: bool = False,
    **sections: Any,
) -> tuple[str, Config]:
    codes = [wb.school_code(*numbered(n)) for n in range(1, schools + 1)]
    rows = [ticked(c, submitted=True, confirmed=confirmed) for c in codes] if dmc else None
    tabs = office_tabs(min(schools, 9000), cycle_rows={DMC: rows} if rows is not None else None)
    if schools > 9000:
        records = [wb.school(*numbered(n)) for n in range(1, schools + 1)]
        tabs[SCHOOLS_TAB] = wb.table(wb.SCHOOL_HEADERS, records)
    sid = server.create_spreadsheet("ESA test", {name: api_rows(r) for name, r in tabs.items()})
    return sid, gsheets_config(folder, server.url, sid, **sections)


def paced(config: Config, clock: Clock) -> GsheetsBackend:
    backend = gsheets_backend(config)
    backend.pacer = Pacer(clock=clock, sleep=clock.sleep)
    return backend


def protection_requests(server: SheetsApiServer) -> list[str]:
    return [
        kind
        for call in server.calls_of("batchUpdate")
        for request in call.body["requests"]
        for kind in request
        if "ProtectedRange" in kind
    ]


def test_a_second_sync_with_row_protection_sends_no_protection_request(
    server: SheetsApiServer, tmp_path: Path
) -> None:
    sid, config = office(server, tmp_path, 12, **ROWS)
    first = sync(config, gsheets_backend(config), DAY)
    assert first.wrote and protection_requests(server)
    # Google lists the requesting account and the owner among every range's editors
    rows = [p for p in server.protected_ranges(sid, DMC) if " school " in p["description"]]
    assert len(rows) == 12
    for p in rows:
        assert {server.requester, server.owner} <= set(p["editors"]["users"])
    server.reset_calls()
    second = sync(config, gsheets_backend(config), DAY + dt.timedelta(days=1))
    assert second.wrote
    assert protection_requests(server) == []
    # the steady state: five calls, the one batchUpdate only taking the lock
    assert [c.kind for c in server.calls] == [
        "get",
        "values.batchGet",
        "batchUpdate",
        "values.batchGet",
        "values.batchUpdate",
    ]
    assert all(c.status == 200 for c in server.calls)


def test_a_new_school_adds_its_protection_only(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = office(server, tmp_path, 5, **ROWS)
    sync(config, gsheets_backend(config), DAY)
    server.set_values(sid, SCHOOLS_TAB, api_rows([list(wb.school(6).values())]), start="A7", clear=False)
    server.reset_calls()
    sync(config, gsheets_backend(config), DAY + dt.timedelta(days=1))
    assert protection_requests(server) == ["addProtectedRange"]
    # in a batchUpdate of its own, after the one that takes the lock
    kinds = [c.kind for c in server.calls]
    assert kinds[:4] == ["get", "values.batchGet", "batchUpdate", "batchUpdate"]


def test_a_refused_editor_is_a_digest_problem_and_the_sync_completes(
    server: SheetsApiServer, tmp_path: Path
) -> None:
    sid, config = office(server, tmp_path, 6, **ROWS)
    refused = f"s{wb.school_code(3)}@school.example"
    server.refused_editors.add(refused)
    result = sync(config, gsheets_backend(config), DAY)
    assert result.wrote and not result.mail_error
    problems = [str(p) for p in result.evaluation.problems]
    assert any(refused in p and "เพิ่มเป็นผู้แก้ไขไม่ได้" in p for p in problems), problems
    rows = {p["description"] for p in server.protected_ranges(sid, DMC) if " school " in p["description"]}
    assert rows == {f"sheets-sync: {DMC} school {wb.school_code(n)}" for n in (1, 2, 4, 5, 6)}
    # the officer reads it in the digest
    digests = [m for m in result.messages if m.kind == "digest"]
    assert digests and digests[0].delivered
    outbox = Path(config.email.outbox_dir)
    officer = [
        message
        for message in (
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in outbox.rglob("*.eml")
        )
        if wb.OFFICER_EMAIL in str(message["To"])
    ]
    [digest] = officer
    text = digest.get_body(preferencelist=("plain",)).get_content()
    assert refused in text and "เพิ่มเป็นผู้แก้ไขไม่ได้" in text
    # the statuses were written, lock released
    assert server.values(sid, "sheets-sync-lock") in ([], [[""]])


def test_a_write_into_a_range_protected_against_the_service_account_is_refused(
    server: SheetsApiServer, tmp_path: Path
) -> None:
    sid, config = office(server, tmp_path, 3)
    sync(config, gsheets_backend(config), DAY)
    head = server.values(sid, DMC)[0]
    status = head.index("สถานะ")
    sheet_id = server.sheet_properties(sid, DMC)["sheetId"]
    # the owner protects the status column for themself only
    server.batch_update(
        sid,
        [
            {
                "addProtectedRange": {
                    "protectedRange": {
                        "range": {
                            "sheetId": sheet_id,
                            "startColumnIndex": status,
                            "endColumnIndex": status + 1,
                        },
                        "description": "owner only",
                        "editors": {"users": [server.owner]},
                    }
                }
            }
        ],
    )
    server.set_values(sid, DMC, [[True]], start="E2", clear=False)  # a school confirms: a status changes
    with pytest.raises(Exception, match="You are trying to edit a protected cell or object"):
        sync(config, gsheets_backend(config), DAY + dt.timedelta(days=1))


def _import_file(folder: Path, schools: range) -> Path:
    path = folder / "schools.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(wb.SCHOOL_HEADERS)
        for n in schools:
            out.writerow(["TRUE" if v is True else v for v in wb.school(*numbered(n)).values()])
    return path


@pytest.mark.parametrize("schools", [1300, 30000])
def test_import_schools_grows_the_tab(server: SheetsApiServer, tmp_path: Path, schools: int) -> None:
    sid, config = office(server, tmp_path, 2, dmc=False)
    assert server.sheet_properties(sid, SCHOOLS_TAB)["gridProperties"]["rowCount"] == 1000
    path = _import_file(tmp_path, range(1, schools + 1))
    server.reset_calls()
    result = CliRunner().invoke(
        cli, ["import-schools", str(path), "--config", str(config.source)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    rows = server.values(sid, SCHOOLS_TAB)
    assert len(rows) == schools + 1
    assert rows[-1][0] == wb.school_code(*numbered(schools))
    assert len({r[0] for r in rows}) == schools + 1
    # one batchUpdate grows the tab, then the values are written
    kinds = [c.kind for c in server.calls]
    assert kinds.count("batchUpdate") == 1 and kinds[-1] == "values.batchUpdate"
    assert all(c.status == 200 for c in server.calls)


def test_a_30000_school_sync_stays_under_the_quota(tmp_path: Path) -> None:
    clock = Clock()
    with SheetsApiServer(seed=5, clock=clock) as server:
        # every school confirmed: statuses for all, mail for the officer only
        sid, config = office(server, tmp_path, 30000, confirmed=True)
        result = sync(config, paced(config, clock), DAY)
        assert result.wrote and len(result.messages) == 1
        again = sync(config, paced(config, clock), DAY + dt.timedelta(days=1))
        assert again.wrote
        assert again.api_calls == {"get": 1, "values.batchGet": 2, "batchUpdate": 1, "values.batchUpdate": 1}
        assert all(c.status == 200 for c in server.calls)
        assert len(server.values(sid, DMC)) == 30001


def test_appends_are_paced_before_google_answers_429(tmp_path: Path) -> None:
    clock = Clock()
    with SheetsApiServer(seed=5, clock=clock) as server:
        # 70 overdue schools, each logged at once: more appends than 60 writes a minute
        sid, config = office(server, tmp_path, 70, smtp={"log_batch_size": 1})
        result = sync(config, paced(config, clock), DAY)
        assert len(result.messages) == 71
        assert server.count("values.append") == 71
        assert all(c.status == 200 for c in server.calls), [c.status for c in server.calls]
        assert clock.waits and sum(clock.waits) < 120
        assert len(server.values(sid, LOG_TAB)) == 72


def test_without_pacing_google_would_have_answered_429(tmp_path: Path) -> None:
    clock = Clock()
    with SheetsApiServer(seed=5, clock=clock) as server:
        _, config = office(server, tmp_path, 70, smtp={"log_batch_size": 1})
        backend = gsheets_backend(config)
        backend.pacer = Pacer(per_minute=10_000, clock=clock, sleep=clock.sleep)
        with pytest.raises(Exception, match="kept failing"):
            sync(config, backend, DAY)
        assert 429 in {c.status for c in server.calls}


def test_a_structure_request_over_2_mb_is_sent_in_parts(server: SheetsApiServer, tmp_path: Path) -> None:
    _, config = office(server, tmp_path, 6000, **ROWS)
    result = sync(config, gsheets_backend(config), BEFORE_OPENING)
    assert result.wrote
    sizes = [c.body_size for c in server.calls_of("batchUpdate")]
    assert len(sizes) >= 3 and max(sizes) <= MAX_REQUEST_BYTES
    assert len(protection_requests(server)) >= 6000


def test_the_log_tab_is_created_as_wide_as_its_columns(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = office(server, tmp_path, 3)
    sync(config, gsheets_backend(config), DAY)
    assert server.sheet_properties(sid, LOG_TAB)["gridProperties"]["columnCount"] == 9  # with ช่องทาง
    cycle_grid = server.sheet_properties(sid, DMC)["gridProperties"]
    assert cycle_grid["columnCount"] <= 26


def test_doctor_reports_the_cell_count(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = office(server, tmp_path, 3)
    result = CliRunner().invoke(cli, ["doctor", "--config", str(config.source)])
    line = next(x for x in result.output.splitlines() if " cells:" in x)
    cells = sum(
        p["properties"]["gridProperties"]["rowCount"] * p["properties"]["gridProperties"]["columnCount"]
        for p in server.metadata(sid)["sheets"]
    )
    assert line.startswith("ok   cells:") and f"{cells:,} of Google's 10,000,000 cells" in line
    # above 80 %: a warning
    server.set_sheet_properties(sid, SCHOOLS_TAB, gridProperties={"rowCount": 330_000})
    result = CliRunner().invoke(cli, ["doctor", "--config", str(config.source)])
    line = next(x for x in result.output.splitlines() if " cells:" in x)
    assert line.startswith("WARN cells:") and "delete empty rows" in line


def test_new_year_grows_a_full_cycles_tab(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = office(server, tmp_path, 2, dmc=False)
    used = len(server.values(sid, CYCLES_TAB))
    server.set_sheet_properties(sid, CYCLES_TAB, gridProperties={"rowCount": used})
    result = CliRunner().invoke(cli, ["new-year", "2570", "--config", str(config.source)])
    assert result.exit_code == 0, result.output
    assert len(server.values(sid, CYCLES_TAB)) == used + 5
    assert server.sheet_properties(sid, CYCLES_TAB)["gridProperties"]["rowCount"] >= used + 5
