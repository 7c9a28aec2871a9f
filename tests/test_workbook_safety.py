"""A workbook changed by people between runs cannot mislead the sync: a renamed or deleted cycle tab, a tab
whose rows were deleted, deleted log rows. Each case is run on both backends (a real .xlsx file, and the
Sheets API test server on 127.0.0.1) and checked against a control office that nobody touched."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import tracemalloc
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from sheets_sync.backends.factory import make_backend
from sheets_sync.config import Config, load_config
from sheets_sync.errors import SheetsSyncError
from sheets_sync.sync import SyncResult
from tests.support import workbooks as wb
from tests.support.sheets_api import SheetsApiServer
from tests.support.sheets_fixtures import (
    CYCLES_TAB,
    DMC,
    LOG_TAB,
    api_rows,
    gsheets_backend,
    gsheets_config,
    office_tabs,
    sync,
    ticked,
)

FIRST = dt.date(2026, 6, 11)  # DMC-2569-1 one day late: every school owing it gets "overdue-1"
FOURTH_DAY_LATE = dt.date(2026, 6, 15)  # Mon: "overdue-4" (it fell on Sunday), the next step
WEEK_LATE = dt.date(2026, 6, 17)  # "overdue-7": an escalation with the directors copied
SCHOOLS = 6
CERTIFIED = wb.school_code(1)  # certified by the office: never reminded


class Office:
    """One office's workbook on one backend, and the few edits a person makes to it between runs."""

    def __init__(self, backend: str, folder: Path, server: SheetsApiServer | None) -> None:
        self.kind = backend
        self.folder = folder
        self.server = server
        rows = [ticked(wb.school_code(n), certified=n == 1) for n in range(1, SCHOOLS + 1)]
        tabs = office_tabs(SCHOOLS, (wb.DMC_1,), {DMC: rows})
        if server is None:
            wb.write_workbook(folder / "workbook.xlsx", tabs)
            self.config: Config = load_config(wb.write_config(folder))
            self.sid = ""
        else:
            self.sid = server.create_spreadsheet("ESA", {t: api_rows(r) for t, r in tabs.items()})
            self.config = gsheets_config(folder, server.url, self.sid)

    def sync(self, day: dt.date) -> SyncResult:
        backend = make_backend(self.config) if self.server is None else gsheets_backend(self.config)
        return sync(self.config, backend, day)

    def tabs(self) -> list[str]:
        if self.server is None:
            return list(load_workbook(self.folder / "workbook.xlsx", read_only=True).sheetnames)
        return self.server.tabs(self.sid)

    def rename(self, tab: str, new: str) -> None:
        if self.server is None:
            path = self.folder / "workbook.xlsx"
            book = load_workbook(path)
            book[tab].title = new
            book.save(path)
        else:
            self.server.set_sheet_properties(self.sid, tab, title=new)

    def keep_rows(self, tab: str, rows: int) -> None:
        """Delete every row of `tab` below its first `rows` rows (the header is row 1)."""
        if self.server is None:
            path = self.folder / "workbook.xlsx"
            book = load_workbook(path)
            ws = book[tab]
            ws.delete_rows(rows + 1, ws.max_row)
            book.save(path)
        else:
            values = self.server.values(self.sid, tab)
            kept = values[:rows]
            width = max(len(r) for r in values)
            blank = [[""] * width for _ in values[rows:]]
            self.server.set_values(self.sid, tab, [*kept, *blank])


@pytest.fixture(params=["xlsx", "gsheets"])
def office_on(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], Office]]:
    """Offices on one backend, each in a folder of its own (a control and a changed one)."""
    server = SheetsApiServer().start() if request.param == "gsheets" else None

    def make(name: str) -> Office:
        folder = tmp_path / name
        folder.mkdir()
        return Office(request.param, folder, server)

    try:
        yield make
    finally:
        if server is not None:
            server.stop()


def escalated(result: SyncResult) -> Counter[str]:
    """The schools that got an escalation about DMC-2569-1, per school."""
    return Counter(
        m.school_code
        for m in result.messages
        if m.kind == "escalation" and any(i.startswith(f"{DMC}:") for i in m.items)
    )


def dmc_problems(result: SyncResult) -> list[Any]:
    return [p for p in result.evaluation.problems if DMC in p.message]


def test_a_renamed_cycle_tab_is_a_problem_not_a_blank_tab_and_mass_escalations(
    office_on: Callable[[str], Office],
) -> None:
    control, renamed = office_on("control"), office_on("renamed")
    for office in (control, renamed):
        first = office.sync(FIRST)
        assert sum(1 for m in first.messages if m.kind != "digest") == SCHOOLS - 1
    renamed.rename(DMC, f"{DMC} เดิม")

    kept = control.sync(WEEK_LATE)
    after = renamed.sync(WEEK_LATE)

    assert escalated(kept) == Counter({wb.school_code(n): 1 for n in range(2, SCHOOLS + 1)})
    # Before: the sync made a blank DMC-2569-1 tab and escalated every school, the certified one too.
    assert escalated(after) == Counter()
    assert DMC not in renamed.tabs() and f"{DMC} เดิม" in renamed.tabs()
    [problem] = dmc_problems(after)
    assert (problem.tab, problem.row, problem.column) == (CYCLES_TAB, 2, "รหัสรอบ")
    assert "ไม่พบแท็บ" in problem.message and "กู้คืนแท็บ หรือตั้งรอบนี้เป็นไม่ใช้งาน" in problem.message
    assert not any(c.cycle.cycle_id == DMC and c.processed for c in after.evaluation.cycle_results)

    # Restored: the sync goes on where it was; the escalation of the week is sent once.
    renamed.rename(f"{DMC} เดิม", DMC)
    restored = renamed.sync(WEEK_LATE + dt.timedelta(days=1))
    assert dmc_problems(restored) == []
    assert set(escalated(restored)) == set(escalated(kept))


def test_a_cycle_tab_whose_school_rows_were_deleted_reminds_nobody(
    office_on: Callable[[str], Office],
) -> None:
    office = office_on("office")
    office.sync(FIRST)
    office.sync(FOURTH_DAY_LATE)
    office.keep_rows(DMC, 1)  # the header only

    after = office.sync(WEEK_LATE)

    assert escalated(after) == Counter()
    [problem] = dmc_problems(after)
    assert "ไม่มีแถวของโรงเรียนเหลืออยู่" in problem.message
    assert DMC in office.tabs()


def test_one_deleted_school_row_is_not_added_back_blank(office_on: Callable[[str], Office]) -> None:
    office = office_on("office")
    office.sync(FIRST)
    office.sync(FOURTH_DAY_LATE)
    office.keep_rows(DMC, SCHOOLS)  # the last school's row is gone

    after = office.sync(WEEK_LATE)

    gone = wb.school_code(SCHOOLS)
    assert gone not in escalated(after)
    assert set(escalated(after)) == {wb.school_code(n) for n in range(2, SCHOOLS)}
    row_problems = [p for p in after.evaluation.problems if gone in p.message and p.tab == DMC]
    assert len(row_problems) == 1 and "กู้คืนแถว" in row_problems[0].message


def test_a_tab_a_failed_run_left_empty_is_filled_by_the_next_run(office_on: Callable[[str], Office]) -> None:
    """One run mailed, its rows are not there (on a Google Sheet, a run that failed between the mail and
    its final write leaves the tab it created empty): the next run fills the rows, no problem."""
    office = office_on("office")
    office.sync(FIRST)
    office.keep_rows(DMC, 1)
    after = office.sync(WEEK_LATE)
    assert dmc_problems(after) == []
    assert len(escalated(after)) == SCHOOLS  # the ticks are gone with the rows: the certified one too


def test_an_inactive_cycle_whose_tab_is_gone_is_no_problem(office_on: Callable[[str], Office]) -> None:
    office = office_on("office")
    office.sync(FIRST)
    office.rename(DMC, f"{DMC} เดิม")
    set_inactive(office)

    after = office.sync(WEEK_LATE)

    assert dmc_problems(after) == [] and escalated(after) == Counter()
    assert DMC not in office.tabs()


def set_inactive(office: Office) -> None:
    """Untick the cycle's "active" box on the cycles tab."""
    column = wb.CYCLE_HEADERS.index("ใช้งาน")
    if office.server is None:
        path = office.folder / "workbook.xlsx"
        book = load_workbook(path)
        book[CYCLES_TAB].cell(row=2, column=column + 1, value=False)
        book.save(path)
    else:
        values = office.server.values(office.sid, CYCLES_TAB)
        values[1][column] = False
        office.server.set_values(office.sid, CYCLES_TAB, values)


def test_deleted_log_rows_do_not_mail_a_school_twice_on_one_day(office_on: Callable[[str], Office]) -> None:
    office = office_on("office")
    first = office.sync(FIRST)
    assert sum(1 for m in first.messages if m.kind != "digest") == SCHOOLS - 1
    office.keep_rows(LOG_TAB, 1)  # every log row deleted

    again = office.sync(FIRST)
    # Before: the day's reminders went out again. The cycle tab's "last reminded" remembers them.
    assert [m.school_code for m in again.messages if m.kind != "digest"] == []

    # And the next step still goes out on its day, once.
    later = office.sync(WEEK_LATE)
    assert set(escalated(later)) == {wb.school_code(n) for n in range(2, SCHOOLS + 1)}


# -- a workbook saved by LibreOffice ---------------------------------------------------------------------
LIBREOFFICE_TICKS = Path(__file__).with_name("fixtures") / "libreoffice-ticks.xlsx"


def statuses(result: SyncResult) -> dict[str, str]:
    [dmc] = [c for c in result.evaluation.cycle_results if c.cycle.cycle_id == DMC]
    return {e.school_code: e.status.key for e in dmc.entries}


def test_a_workbook_saved_by_libreoffice_reads_its_ticks(tmp_path: Path) -> None:
    """The fixture was opened, ticked and saved by LibreOffice 7.4 (tests/fixtures/libreoffice_ticks.py):
    every checkbox is a formula =TRUE() or =FALSE() with its cached value, two are plain numbers."""
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "workbook.xlsx").write_bytes(LIBREOFFICE_TICKS.read_bytes())
    saved = load_config(wb.write_config(tmp_path / "saved"))
    # The same ticks as a person makes them in Excel (plain booleans), for comparison.
    (tmp_path / "excel").mkdir()
    rows = [
        ticked(wb.school_code(1)),
        ticked(wb.school_code(2), submitted=True, confirmed=True),
        ticked(wb.school_code(3)),
        ticked(wb.school_code(4), certified=True),
        ticked(wb.school_code(5), submitted=True),
        ticked(wb.school_code(6)),
    ]
    wb.write_workbook(tmp_path / "excel" / "workbook.xlsx", office_tabs(6, (wb.DMC_1,), {DMC: rows}))
    excel = load_config(wb.write_config(tmp_path / "excel"))

    by_excel = sync(excel, make_backend(excel), FIRST)
    by_libreoffice = sync(saved, make_backend(saved), FIRST)

    # Before: the ticks read as the text "=TRUE()", 24 problems, no school reminded. Now the one problem
    # of both: school 4 certified by the office before the school confirmed.
    assert by_libreoffice.evaluation.problems == by_excel.evaluation.problems
    assert [p.row for p in by_excel.evaluation.problems] == [5]
    assert statuses(by_libreoffice) == statuses(by_excel)
    assert statuses(by_libreoffice)[wb.school_code(4)] == "certified"
    reminded = [m.school_code for m in by_libreoffice.messages if m.kind != "digest"]
    assert reminded == [m.school_code for m in by_excel.messages if m.kind != "digest"] and reminded
    # Saved by the sync, the ticks are plain booleans; the next run reads the same.
    book = load_workbook(tmp_path / "saved" / "workbook.xlsx")
    assert book[DMC]["D3"].value is True and book[DMC]["D2"].value is False
    assert statuses(sync(saved, make_backend(saved), FIRST)) == statuses(by_excel)


def test_a_formula_reads_as_the_value_its_program_computed(tmp_path: Path) -> None:
    """A tick made by a formula (Excel or LibreOffice computed and saved its value) reads as that value."""
    (tmp_path / "workbook.xlsx").write_bytes(LIBREOFFICE_TICKS.read_bytes())
    path = tmp_path / "workbook.xlsx"
    with zipfile.ZipFile(LIBREOFFICE_TICKS) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet3.xml":
                # school 6 submitted: =AND(TRUE(),1=1) with the value LibreOffice would have stored
                old = b'<c r="D7" s="0" t="b"><f aca="false">FALSE()</f><v>0</v></c>'
                assert old in data
                data = data.replace(old, b'<c r="D7" s="0" t="b"><f>AND(TRUE(),1=1)</f><v>1</v></c>')
            dst.writestr(item, data)
    config = load_config(wb.write_config(tmp_path))
    result = sync(config, make_backend(config), FIRST)
    assert [p.row for p in result.evaluation.problems] == [5]  # certified before confirmed, as above
    [dmc] = [c for c in result.evaluation.cycle_results if c.cycle.cycle_id == DMC]
    [six] = [e for e in dmc.entries if e.school_code == wb.school_code(6)]
    assert six.entry is not None and six.entry.submitted


# -- reads bounded by the data -----------------------------------------------------------------------------


def test_one_stray_value_in_the_last_row_costs_one_row(tmp_path: Path) -> None:
    """Before: one value in A1048576 of a cycle tab made the read walk 1,048,576 rows of every column
    (the demo: 399 s and 4.8 GB; now 3.2 s and 86 MB, measured with /usr/bin/time -v)."""
    rows = [ticked(wb.school_code(n)) for n in range(1, 4)]
    path = wb.write_workbook(tmp_path / "workbook.xlsx", office_tabs(3, (wb.DMC_1,), {DMC: rows}))
    book = load_workbook(path)
    book[DMC]["A1048576"] = "x"
    book.save(path)
    config = load_config(wb.write_config(tmp_path))

    tracemalloc.start()
    try:
        result = sync(config, make_backend(config), FIRST)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 60_000_000, f"{peak / 1e6:.0f} MB"
    assert [(p.tab, p.row) for p in result.evaluation.problems] == [(DMC, 1048576)]
    assert sum(1 for m in result.messages if m.kind != "digest") == 3
    book = load_workbook(path, read_only=True)
    assert book[DMC]["A1048576"].value == "x"


# -- the file: checked before the first message ------------------------------------------------------------


def local_office(folder: Path) -> tuple[Config, Path]:
    rows = [ticked(wb.school_code(n)) for n in range(1, 5)]
    path = wb.write_workbook(folder / "workbook.xlsx", office_tabs(4, (wb.DMC_1,), {DMC: rows}))
    return load_config(wb.write_config(folder)), path


def refused_before_mail(config: Config, path: Path) -> str:
    """Run a sync that must stop before sending: returns its one-line message; nothing sent or saved."""
    before = path.read_bytes()
    with pytest.raises(SheetsSyncError) as refused:
        sync(config, make_backend(config), FIRST)
    message = str(refused.value)
    assert "\n" not in message and "nothing was sent" in message
    assert not (config.email.outbox_dir).exists() or not any(config.email.outbox_dir.rglob("*.eml"))
    assert path.read_bytes() == before
    assert not path.with_name(path.name + ".journal").exists()
    assert not path.with_name(path.name + ".lock").exists()
    return message


def test_merged_cells_in_a_written_column_stop_the_run_before_any_mail(tmp_path: Path) -> None:
    """Before: a traceback after the emails were sent, and the workbook never saved again."""
    config, path = local_office(tmp_path)
    book = load_workbook(path)
    book[DMC].merge_cells("C2:C4")  # the district column, grouped as people like to
    book.save(path)
    message = refused_before_mail(config, path)
    assert message == (
        f"tab '{DMC}': cells C2:C4 are merged, in column C ('อำเภอ') which the sync writes row by row; "
        "unmerge them, then run the sync again (nothing was sent)"
    )
    book = load_workbook(path)
    book[DMC].unmerge_cells("C2:C4")
    book.save(path)
    assert sync(config, make_backend(config), FIRST).wrote


def test_merged_cells_in_a_column_of_the_schools_are_no_problem(tmp_path: Path) -> None:
    config, path = local_office(tmp_path)
    book = load_workbook(path)
    book[DMC].merge_cells("G2:G3")  # the school's note
    book.save(path)
    assert sync(config, make_backend(config), FIRST).wrote


@pytest.mark.parametrize(
    ("lock_name", "content", "holder"),
    [
        (".~lock.workbook.xlsx#", "สมศรี ใจดี,somsri,ESA-PC07,03.12.2026 09:14,file:///C:/x;", "LibreOffice by สมศรี ใจดี since 03.12.2026 09:14"),
        ("~$workbook.xlsx", None, "Excel by สมชาย"),
    ],
)  # fmt: skip
def test_a_workbook_open_in_an_editor_is_not_overwritten(
    tmp_path: Path, lock_name: str, content: str | None, holder: str
) -> None:
    """Before: the sync overwrote it, the editor's save then erased the log, the next run sent all again."""
    config, path = local_office(tmp_path)
    lock = tmp_path / lock_name
    if content is not None:
        lock.write_text(content, encoding="utf-8")
    else:
        # Excel's owner file: the name as a length byte and ANSI text, padded, then as UTF-16 at 54.
        wide = "สมชาย".encode("utf-16-le")
        data = bytes([5]) + b"?????".ljust(53, b" ") + len("สมชาย").to_bytes(2, "little") + wide
        lock.write_bytes(data.ljust(165, b"\x00"))
    message = refused_before_mail(config, path)
    assert message.startswith(f"workbook.xlsx is open in {holder}; close it there")
    assert message.endswith(f"delete the editor's lock file {lock_name!r}")
    lock.unlink()
    assert sync(config, make_backend(config), FIRST).wrote


def test_a_read_only_workbook_is_not_rewritten(tmp_path: Path) -> None:
    config, path = local_office(tmp_path)
    path.chmod(0o444)
    message = refused_before_mail(config, path)
    assert message.startswith(f"{path} is read-only;")


def test_too_little_disk_space_for_the_copy_stops_the_run_before_any_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, path = local_office(tmp_path)
    real = shutil.disk_usage
    monkeypatch.setattr(
        "sheets_sync.backends.xlsx.preflight.shutil.disk_usage",
        lambda p: real(p)._replace(free=path.stat().st_size),
    )
    assert "KB free, the save needs about" in refused_before_mail(config, path)


def test_a_save_keeps_the_files_mode_group_and_symlink(tmp_path: Path) -> None:
    """Before: a shared file became 0600 and a symlinked workbook a regular file."""
    config, _ = local_office(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    real = shared / "esa-2569.xlsx"
    (tmp_path / "workbook.xlsx").rename(real)
    (tmp_path / "workbook.xlsx").symlink_to(real)
    real.chmod(0o664)
    group = next((g for g in os.getgroups() if g != real.stat().st_gid), real.stat().st_gid)
    os.chown(real, -1, group)

    assert sync(config, make_backend(config), FIRST).wrote

    assert (tmp_path / "workbook.xlsx").is_symlink()
    assert (tmp_path / "workbook.xlsx").resolve() == real
    st = real.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o664, group)
    assert load_workbook(real)[LOG_TAB].max_row > 1
    assert sorted(p.name for p in shared.iterdir()) == ["esa-2569.xlsx"]


def test_a_save_refused_by_the_system_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Excel on Windows holding the file: the rename onto it fails. One line; the journal keeps the log."""
    config, path = local_office(tmp_path)

    replace = os.replace

    def held(src: str, dst: Path) -> None:
        if Path(dst).suffix != ".xlsx":
            return replace(src, dst)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("os.replace", held)
    with pytest.raises(SheetsSyncError) as refused:
        sync(config, make_backend(config), FIRST)
    assert str(refused.value).startswith(f"{path}: could not be saved (Permission denied); what was sent")
    assert path.with_name("workbook.xlsx.journal").exists()
    assert [p.name for p in tmp_path.glob(".workbook-*")] == []
