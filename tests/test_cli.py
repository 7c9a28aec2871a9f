"""The `sheets-sync` command: exact output and exit codes (0 done, 1 failure, 2 usage), on real .xlsx files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sheets_sync.cli import cli
from tests.support import workbooks as wb

D = dt.date
CODE = wb.school_code
S1, S2, S3, S4 = CODE(1, 1), CODE(2, 1), CODE(3, 2), CODE(4, 2)
DMC2 = "DMC-2569-2"
TITLE2 = "DMC รอบที่ 2 (ภาคเรียนที่ 2) ปีการศึกษา 2569"


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, list(args), prog_name="sheets-sync")


@pytest.fixture
def office(config_path: Path) -> Path:
    """Four schools in two districts, DMC round 2 open (due 10 Nov 2569) with its tab, one G-code request.

    On 11 Nov 2569: S1 owes everything, S2 confirmed, S3 certified, S4 submitted only.
    """
    schools = [wb.school(1, 1), wb.school(2, 1), wb.school(3, 2), wb.school(4, 2)]
    tick = {"ส่งข้อมูลแล้ว": False, "ยืนยันข้อมูลแล้ว": False, "เขตรับรองแล้ว": False}
    seen = D(2026, 11, 5)
    cycle_tab = wb.table(
        wb.CYCLE_TAB_HEADERS,
        [
            {"รหัสโรงเรียน": S1, **tick},
            {"รหัสโรงเรียน": S2, **tick, "ส่งข้อมูลแล้ว": True, "ยืนยันข้อมูลแล้ว": True, "ส่งเมื่อ": seen, "ยืนยันเมื่อ": seen},
            {"รหัสโรงเรียน": S3, "ส่งข้อมูลแล้ว": True, "ยืนยันข้อมูลแล้ว": True, "เขตรับรองแล้ว": True,
             "ส่งเมื่อ": seen, "ยืนยันเมื่อ": seen},
            {"รหัสโรงเรียน": S4, **tick, "ส่งข้อมูลแล้ว": True, "ส่งเมื่อ": seen},
        ],
    )  # fmt: skip
    gcode = wb.table(
        wb.GCODE_HEADERS,
        [
            {"เลขที่คำขอ": "G69-001", "รหัสโรงเรียน": S1, "รหัสอ้างอิงนักเรียน": "ST-0451",
             "วันที่ยื่นคำขอ": D(2026, 11, 2), "เขตรับรองแล้ว": True, "เลข G": "G650000012345",
             "เพิ่มใน DMC แล้ว": False},
        ],
    )  # fmt: skip
    future = wb.cycle("DMC-2569-3", D(2027, 3, 1), D(2027, 3, 30), D(2027, 4, 4), title="DMC รอบที่ 3")
    path = config_path.parent / "workbook.xlsx"
    wb.office_workbook(path, schools, [wb.DMC_2, future], more={DMC2: cycle_tab, "G-code": gcode})
    return config_path


# -- help and usage ------------------------------------------------------------------------------------------

PURPOSES = {
    "init": "Create the workbook with every tab, header, checkbox and color.",
    "new-year": "Add the five default cycles of academic YEAR (Buddhist Era, e.g. 2569).",
    "import-schools": "Add or update schools from FILE (.csv or .xlsx), matched by school code.",
    "share-list": "Print the active schools' contact emails, comma separated, for Google's Share dialog.",
    "sync": "Check every row, write statuses and colors, send today's reminders and the digest.",
    "status": "Show each cycle's counts by status (reads only; writes and sends nothing).",
    "validate": "List every problem in the workbook by tab, row and column; exit 1 when there is any.",
    "preview": "Show the email SCHOOL_CODE would get today (sends and writes nothing).",
    "demo": "Make a demo office in FOLDER (default ./sheets-sync-demo) and run its sync.",
    "doctor": "Check the config, the credentials, the workbook and the mail server; one line per check.",
}
USAGE = {
    "new-year": "Usage: sheets-sync new-year [OPTIONS] YEAR",
    "import-schools": "Usage: sheets-sync import-schools [OPTIONS] FILE",
    "preview": "Usage: sheets-sync preview [OPTIONS] SCHOOL_CODE",
    "demo": "Usage: sheets-sync demo [OPTIONS] [FOLDER]",
}


@pytest.mark.parametrize("command", sorted(PURPOSES))
def test_help_of_each_command_says_what_it_is_for(runner: CliRunner, command: str) -> None:
    result = invoke(runner, command, "--help")
    assert (result.exit_code, result.stderr) == (0, "")
    usage, purpose = result.stdout.split("\n\n")[:2]
    assert usage == USAGE.get(command, f"Usage: sheets-sync {command} [OPTIONS]")
    assert " ".join(purpose.split()) == PURPOSES[command]
    assert "  --config FILE" in result.stdout
    assert "  -q, --quiet" in result.stdout


def test_every_command_has_help(runner: CliRunner) -> None:
    for name, command in cli.commands.items():
        result = invoke(runner, name, "-h")
        assert result.exit_code == 0, name
        assert result.stdout.startswith(f"Usage: sheets-sync {name} [OPTIONS]"), name
        assert command.get_short_help_str(limit=40)[:20] in result.stdout.replace("\n  ", " "), name


def test_top_level_help_lists_the_commands(runner: CliRunner) -> None:
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: sheets-sync [OPTIONS] COMMAND [ARGS]...\n")
    listed = [line.split()[0] for line in result.stdout.split("Commands:\n")[1].splitlines()]
    assert listed == sorted(cli.commands)


def test_new_year_help_shows_an_aligned_table_of_default_dates(runner: CliRunner) -> None:
    result = invoke(runner, "new-year", "--help")
    table = [line for line in result.stdout.splitlines() if " opens " in line]
    assert [line.split()[0] for line in table] == [
        "DMC-YYYY-1",
        "EMIS-YYYY",
        "B-OBEC-YYYY",
        "DMC-YYYY-2",
        "DMC-YYYY-3",
    ]
    assert len({len(line) - len(line.lstrip()) for line in table}) == 1
    assert all(line == line.rstrip() for line in result.stdout.splitlines())


@pytest.mark.parametrize(
    ("args", "stderr_end"),
    [
        (["frob"], "Error: No such command 'frob'.\n"),
        (["new-year"], "Error: Missing argument 'YEAR'.\n"),
        (["new-year", "twenty"], "Error: Invalid value for 'YEAR': 'twenty' is not a valid integer.\n"),
        (["sync", "--today", "2026-13-01"],
         "Error: Invalid value for '--today': '2026-13-01' does not match the format '%Y-%m-%d'.\n"),
        (["status", "--colour"], "Error: No such option '--colour'.\n"),
        (["preview", "12345", "--today", "2026-11-11"],
         "Error: Invalid value for SCHOOL_CODE: a school code has 10 digits\n"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(runner: CliRunner, office: Path, args: list[str], stderr_end: str) -> None:
    result = invoke(runner, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Usage: sheets-sync")
    assert result.stderr.endswith("\n\n" + stderr_end)


# -- config errors ---------------------------------------------------------------------------------------------


def test_no_config_file_is_one_line_naming_it(runner: CliRunner) -> None:
    result = invoke(runner, "status")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: sheets-sync.toml: config file not found. Pass --config FILE, set SHEETS_SYNC_CONFIG, "
        "or run 'sheets-sync demo' to see a working example\n"
    )


def test_a_missing_config_named_by_the_environment_is_named(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEETS_SYNC_CONFIG", "/nowhere/esa.toml")
    result = invoke(runner, "validate")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: /nowhere/esa.toml: config file not found. Pass --config FILE, set SHEETS_SYNC_CONFIG, "
        "or run 'sheets-sync demo' to see a working example"
    ]


def test_a_wrong_key_names_the_key_and_the_file(runner: CliRunner, write_config: Any) -> None:
    path = write_config(office={"nmae": "สพป.ทดสอบ"})
    result = invoke(runner, "sync", "--config", str(path), "--today", "2026-11-11")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"Error: {path}: [office] nmae: unknown setting; did you mean 'name'?\n"


def test_a_missing_workbook_says_to_run_init(runner: CliRunner, config_path: Path) -> None:
    result = invoke(runner, "status", "--config", str(config_path), "--today", "2026-11-11")
    assert result.exit_code == 1
    workbook = config_path.parent / "workbook.xlsx"
    assert result.stderr == f"Error: {workbook}: workbook not found; run 'sheets-sync init' to create it\n"


# -- validate -------------------------------------------------------------------------------------------------


def test_validate_lists_each_problem_by_tab_row_and_column(runner: CliRunner, office: Path) -> None:
    path = office.parent / "workbook.xlsx"
    wb.append_row(path, "โรงเรียน", wb.school(5, **{"รหัสโรงเรียน": "12345"}))
    wb.append_row(path, "โรงเรียน", wb.school(6, **{"รหัสโรงเรียน": S1}))
    wb.edit_row(path, DMC2, "รหัสโรงเรียน", S1, {"เขตรับรองแล้ว": True})
    result = invoke(runner, "validate", "--config", str(office), "--today", "2026-11-11")
    assert result.exit_code == 1
    assert result.stdout == (
        f"{DMC2}!แถว 2 [เขตรับรองแล้ว]: เขตรับรองแล้วแต่โรงเรียนยังไม่ได้ยืนยันข้อมูล\n"
        "โรงเรียน!แถว 6 [รหัสโรงเรียน]: รหัส '12345' ต้องเป็นตัวเลข 10 หลัก\n"
        "โรงเรียน!แถว 7 [รหัสโรงเรียน]: รหัสโรงเรียนซ้ำกับแถว 2\n"
    )
    assert result.stderr == "3 problems\n"
    as_json = invoke(runner, "validate", "--config", str(office), "--today", "2026-11-11", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)[1] == {
        "tab": "โรงเรียน",
        "row": 6,
        "column": "รหัสโรงเรียน",
        "message": "รหัส '12345' ต้องเป็นตัวเลข 10 หลัก",
    }


def test_validate_on_a_clean_workbook_exits_0(runner: CliRunner, office: Path) -> None:
    result = invoke(runner, "validate", "--config", str(office), "--today", "2026-11-11")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "0 problems\n")
    quiet = invoke(runner, "validate", "--config", str(office), "--today", "2026-11-11", "-q")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")


# -- status ---------------------------------------------------------------------------------------------------

STATUS_TABLE = (
    "cycle       schools  certified  done  confirmed  missed  overdue  due soon  submitted  pending  not open  inactive"
    "  on time\n"
    "DMC-2569-2        4          1     0          1       0        2         0          0        0         0         0"
    "    50.0%\n"
)


def test_status_prints_the_table(runner: CliRunner, office: Path) -> None:
    result = invoke(runner, "status", "--config", str(office), "--today", "2026-11-11")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == STATUS_TABLE + "G-code: awaiting_dmc 1\n"


def test_status_before_any_cycle_opens(runner: CliRunner, config_path: Path) -> None:
    wb.office_workbook(config_path.parent / "workbook.xlsx", [wb.school(1)], [wb.DMC_2])
    result = invoke(runner, "status", "--config", str(config_path), "--today", "2026-10-15")
    assert (result.exit_code, result.stdout) == (0, "no open cycles\n")


def test_status_json_has_every_school_s_status_and_days_late(runner: CliRunner, office: Path) -> None:
    result = invoke(runner, "status", "--config", str(office), "--today", "2026-11-11", "--json")
    assert (result.exit_code, result.stderr) == (0, "")
    data = json.loads(result.stdout)
    assert sorted(data) == ["cycles", "gcode", "problems", "today"]
    assert (data["today"], data["problems"]) == ("2026-11-11", 0)
    assert [c["cycle_id"] for c in data["cycles"]] == [DMC2]  # DMC-2569-3 is not open yet
    cycle = data["cycles"][0]
    assert (cycle["system"], cycle["title"], cycle["opens_on"], cycle["due_on"], cycle["certify_by"]) == (
        "DMC",
        TITLE2,
        "2026-10-16",
        "2026-11-10",
        "2026-11-15",
    )
    assert cycle["by_status"] == {
        "inactive": 0,
        "not_open": 0,
        "certified": 1,
        "done": 0,
        "confirmed": 1,
        "missed": 0,
        "overdue": 2,
        "due_soon": 0,
        "submitted": 0,
        "pending": 0,
    }
    assert (cycle["confirmed"], cycle["on_time"], cycle["on_time_rate"]) == (2, 2, 50.0)
    assert sorted(cycle["districts"]) == ["อำเภอที่1", "อำเภอที่2"]
    assert [(s["school_code"], s["status"], s["days_late"]) for s in cycle["schools"]] == [
        (S1, "overdue", 1),
        (S2, "confirmed", None),
        (S3, "certified", None),
        (S4, "overdue", 1),
    ]
    assert data["gcode"]["requests"] == [
        {"request_id": "G69-001", "status": "awaiting_dmc", "waiting_days": 0}
    ]


def test_status_reads_only(runner: CliRunner, office: Path) -> None:
    path = office.parent / "workbook.xlsx"
    before = path.read_bytes()
    invoke(runner, "status", "--config", str(office), "--today", "2026-11-11")
    assert path.read_bytes() == before
    assert sorted(p.name for p in office.parent.iterdir()) == ["sheets-sync.toml", "workbook.xlsx"]


# -- sync -----------------------------------------------------------------------------------------------------


def test_sync_then_status(runner: CliRunner, office: Path) -> None:
    result = invoke(runner, "sync", "--config", str(office), "--today", "2026-11-11")
    outbox = office.parent / "outbox"
    assert (result.exit_code, result.stdout) == (
        0,
        "sheets-sync 2026-11-11 (11 พฤศจิกายน 2569)\n"
        "\n" + STATUS_TABLE + "\n"
        "G-code: awaiting_dmc 1\n"
        "messages (outbox): outbox 3\n"
        "problems: 0\n"
        f"outbox: {outbox / 'index.html'}\n",
    )
    assert result.stderr.splitlines()[:2] == [
        "reading the workbook…",
        "4 schools, 2 cycles, 1 G-code requests, 0 problems",
    ]
    assert sorted(p.name for p in (outbox / "2026-11-11").glob("*.eml")) == [
        f"001-reminder-{S1}.eml",
        f"002-reminder-{S4}.eml",
        "003-digest.eml",
    ]
    status = invoke(runner, "status", "--config", str(office), "--today", "2026-11-11")
    assert (status.exit_code, status.stdout) == (0, STATUS_TABLE + "G-code: awaiting_dmc 1\n")
    rows = wb.rows_by(office.parent / "workbook.xlsx", DMC2, "รหัสโรงเรียน")
    assert [(r["สถานะ"], r["เกินกำหนด (วัน)"]) for r in rows.values()] == [
        ("เกินกำหนด", 1),
        ("ยืนยันแล้ว รอเขตรับรอง", None),
        ("เขตรับรองแล้ว", None),
        ("เกินกำหนด", 1),
    ]
    again = invoke(runner, "sync", "--config", str(office), "--today", "2026-11-11", "-q")
    assert "messages (outbox): none\n" in again.stdout
    assert again.stderr == ""


def test_sync_json(runner: CliRunner, office: Path) -> None:
    result = invoke(runner, "sync", "--config", str(office), "--today", "2026-11-11", "--json", "-q")
    assert (result.exit_code, result.stderr) == (0, "")
    data = json.loads(result.stdout)
    assert [(m["kind"], m["school_code"], m["items"], m["result"]) for m in data["messages"]] == [
        ("reminder", S1, ["DMC-2569-2:overdue-1", "G:G69-001:issued"], "outbox"),
        ("reminder", S4, ["DMC-2569-2:overdue-1"], "outbox"),
        ("digest", "", ["digest:2026-11-11"], "outbox"),
    ]
    assert data["cycles"][DMC2]["by_status"]["overdue"] == 2


def test_sync_dry_run_prints_the_emails_and_writes_nothing(runner: CliRunner, office: Path) -> None:
    path = office.parent / "workbook.xlsx"
    before = path.read_bytes()
    result = invoke(runner, "sync", "--config", str(office), "--today", "2026-11-11", "--dry-run", "-q")
    assert result.exit_code == 0
    assert path.read_bytes() == before
    assert not (office.parent / "outbox").exists()
    out = result.stdout
    assert out.startswith(
        f"--- message 1 ---\nTo: s{S1}@school.example\nSubject: เกินกำหนด 1 วัน: {TITLE2} | สพป.ทดสอบ เขต 1\n"
    )
    assert "--- message 3 ---\nTo: officer@esa.example\n" in out
    assert "messages (dry-run): dry_run 3\n" in out


def test_sync_writes_the_github_step_summary(
    runner: CliRunner, office: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    invoke(runner, "sync", "--config", str(office), "--today", "2026-11-11", "-q")
    assert summary.read_text(encoding="utf-8").startswith("### sheets-sync · 11 พฤศจิกายน 2569\n")


# -- preview --------------------------------------------------------------------------------------------------


def test_preview_prints_the_thai_email_of_a_school_that_owes(runner: CliRunner, office: Path) -> None:
    result = invoke(runner, "preview", S1, "--config", str(office), "--today", "2026-11-11")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        f"From: {wb.OFFICE} <{wb.FROM_ADDRESS}>\n"
        f"To: s{S1}@school.example\n"
        f"Reply-To: {wb.OFFICER_EMAIL}\n"
        f"Subject: เกินกำหนด 1 วัน: {TITLE2} | สพป.ทดสอบ เขต 1\n"
        "\n"
        "เรียน ผู้รับผิดชอบข้อมูล (ครูธุรการ 1) โรงเรียนบ้านทดสอบ1\n"
        "\n"
        f"ด้วย{wb.OFFICE} ได้ติดตามการรายงานข้อมูลของสถานศึกษาในสังกัดตามปฏิทินของ สพฐ. ปรากฏว่า "
        "ณ วันที่ 11 พฤศจิกายน 2569 โรงเรียนบ้านทดสอบ1ยังมีงานที่ต้องดำเนินการ ดังนี้\n"
        "\n"
        f"1. {TITLE2} (DMC)\n"
        "   เปิดระบบ: 16 ตุลาคม 2569\n"
        "   กำหนดส่ง: 10 พฤศจิกายน 2569\n"
        "   สถานะ: เกินกำหนด 1 วัน\n"
        "   ดำเนินการที่: https://bopp-obec.info\n"
        # A local workbook: the school cannot tick it, so it answers the email.
        "   สิ่งที่ต้องทำ: ส่งข้อมูลในระบบ DMC และยืนยันข้อมูล แล้วแจ้งเขตทราบโดยตอบกลับอีเมลนี้\n"
        "\n"
        "คำขอเลข G ที่เขตรับรองแล้ว รอโรงเรียนเพิ่มข้อมูลใน DMC:\n"
        "   - คำขอเลขที่ G69-001 เลข G G••••••••2345 (รอมาแล้ว 0 วัน)\n"
        "   สิ่งที่ต้องทำ: เพิ่มนักเรียนในระบบ DMC (https://bopp-obec.info) ด้วยเลข G ของคำขอนั้น "
        "แล้วแจ้งเขตทราบโดยตอบกลับอีเมลนี้\n"
        "\n"
        "จึงเรียนมาเพื่อโปรดดำเนินการโดยเร็ว หากติดปัญหาหรือมีข้อสงสัย โปรดตอบกลับอีเมลนี้ "
        "ขอบคุณที่ให้ความร่วมมือค่ะ\n"
        "\n"
        "ขอแสดงความนับถือ\n"
        "\n"
        f"({wb.OFFICER_NAME})\n"
        f"{wb.OFFICE}\n"
        f"อีเมล {wb.OFFICER_EMAIL}\n"
        "\n"
    )


def test_preview_html(runner: CliRunner, office: Path) -> None:
    result = invoke(runner, "preview", S1, "--config", str(office), "--today", "2026-11-11", "--html")
    assert result.exit_code == 0
    body = result.stdout.split("\n\n", 1)[1]
    assert body.startswith('<!DOCTYPE html>\n<html lang="th">')
    assert "<strong>10 พฤศจิกายน 2569</strong>" in body


def test_preview_of_a_school_that_owes_nothing_says_so(runner: CliRunner, office: Path) -> None:
    result = invoke(runner, "preview", S2, "--config", str(office), "--today", "2026-11-11")
    assert (result.exit_code, result.stdout) == (
        0,
        f"no email due today for {S2} (nothing owed, already sent, or not a sending day)\n",
    )


def test_preview_on_a_weekend_says_so(runner: CliRunner, office: Path) -> None:
    result = invoke(runner, "preview", S1, "--config", str(office), "--today", "2026-11-14")
    assert (result.exit_code, result.stdout) == (
        0,
        f"no email due today for {S1} (nothing owed, already sent, or not a sending day)\n",
    )


def test_preview_writes_and_sends_nothing(runner: CliRunner, office: Path) -> None:
    path = office.parent / "workbook.xlsx"
    before = path.read_bytes()
    invoke(runner, "preview", S1, "--config", str(office), "--today", "2026-11-11")
    assert path.read_bytes() == before
    assert not (office.parent / "outbox").exists()


def test_preview_of_an_unknown_school(runner: CliRunner, office: Path) -> None:
    result = invoke(runner, "preview", "๑๐๙๙๐๐๐๐๐๑", "--config", str(office), "--today", "2026-11-11")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "Error: school 1099000001 is not in tab 'โรงเรียน'\n"


# -- new-year -------------------------------------------------------------------------------------------------

NEW_YEAR_2569 = [
    ("DMC-2569-1", "DMC", D(2026, 5, 16), D(2026, 6, 10), D(2026, 6, 15)),
    ("EMIS-2569", "EMIS", D(2026, 6, 1), D(2026, 6, 30), D(2026, 7, 5)),
    ("B-OBEC-2569", "B-OBEC", D(2026, 7, 1), D(2026, 8, 30), D(2026, 9, 4)),
    ("DMC-2569-2", "DMC", D(2026, 10, 16), D(2026, 11, 10), D(2026, 11, 15)),
    ("DMC-2569-3", "DMC", D(2027, 3, 1), D(2027, 3, 30), D(2027, 4, 4)),
]


def cycles_in(path: Path) -> list[tuple[Any, ...]]:
    return [
        (r["รหัสรอบ"], r["ระบบ"], r["เปิดระบบ"], r["กำหนดส่ง"], r["กำหนดเขตรับรอง"])
        for r in wb.read_tab(path, "รอบรายงาน")
    ]


def test_new_year_adds_the_five_cycles_with_the_design_dates(runner: CliRunner, config_path: Path) -> None:
    invoke(runner, "init", "--config", str(config_path))
    result = invoke(runner, "new-year", "2569", "--config", str(config_path))
    assert (result.exit_code, result.stdout) == (
        0,
        "added 5 cycles: DMC-2569-1, EMIS-2569, B-OBEC-2569, DMC-2569-2, DMC-2569-3\n",
    )
    path = config_path.parent / "workbook.xlsx"
    assert cycles_in(path) == NEW_YEAR_2569
    rows = wb.read_tab(path, "รอบรายงาน")
    assert rows[0]["ชื่อรอบ"] == "DMC รอบที่ 1 (ภาคเรียนที่ 1) ปีการศึกษา 2569"
    assert {r["ใช้งาน"] for r in rows} == {True}


def test_new_year_refuses_a_year_already_there(runner: CliRunner, config_path: Path) -> None:
    invoke(runner, "init", "--config", str(config_path))
    invoke(runner, "new-year", "2569", "--config", str(config_path))
    path = config_path.parent / "workbook.xlsx"
    before = path.read_bytes()
    result = invoke(runner, "new-year", "2569", "--config", str(config_path))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "Error: cycle DMC-2569-1, EMIS-2569, B-OBEC-2569, DMC-2569-2, DMC-2569-3 already exists in tab "
        "'รอบรายงาน'; nothing was added. Use --skip-existing to add only the missing ones\n"
    )
    assert path.read_bytes() == before
    skip = invoke(runner, "new-year", "2569", "--skip-existing", "--config", str(config_path))
    assert (skip.exit_code, skip.stdout) == (0, "nothing to add\n")
    assert path.read_bytes() == before


def test_new_year_names_only_the_ids_that_exist(runner: CliRunner, office: Path) -> None:
    path = office.parent / "workbook.xlsx"
    before = path.read_bytes()
    result = invoke(runner, "new-year", "2569", "--config", str(office))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: cycle DMC-2569-2, DMC-2569-3 already exists in tab 'รอบรายงาน'; nothing was added. "
        "Use --skip-existing to add only the missing ones\n"
    )
    assert path.read_bytes() == before
    skip = invoke(runner, "new-year", "2569", "--skip-existing", "--config", str(office))
    assert (skip.exit_code, skip.stdout) == (0, "added 3 cycles: DMC-2569-1, EMIS-2569, B-OBEC-2569\n")
    assert [c[0] for c in cycles_in(path)] == [
        "DMC-2569-2",
        "DMC-2569-3",
        "DMC-2569-1",
        "EMIS-2569",
        "B-OBEC-2569",
    ]


def test_new_year_outside_the_buddhist_era(runner: CliRunner, office: Path) -> None:
    result = invoke(runner, "new-year", "2026", "--config", str(office))
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: 2026 is not an academic year in Buddhist Era (e.g. 2569 for 2026-27)\n",
    )


# -- import-schools ---------------------------------------------------------------------------------------------


def write_csv(path: Path, text: str) -> Path:
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return path


SCHOOLS_CSV = (
    "รหัสโรงเรียน,ชื่อโรงเรียน,อำเภอ,อีเมลผู้รับผิดชอบ,อีเมลผู้บริหาร\r\n"
    f"{S1},โรงเรียนบ้านทดสอบ1,อำเภอที่1,s{S1}@school.example,director.{S1}@school.example\r\n"
    f"{S2},โรงเรียนบ้านทดสอบสอง,อำเภอที่1,s{S2}@school.example,director.{S2}@school.example\r\n"
    "๑๐๐๓๐๐๐๐๐๕,โรงเรียนบ้านใหม่,อำเภอที่3,new5@school.example,\r\n"
    "1003000006,โรงเรียนวัดใหม่,อำเภอที่3,new6@school.example,\r\n"
    "12345,โรงเรียนรหัสสั้น,อำเภอที่3,short@school.example,\r\n"
    "1003000008,โรงเรียนไม่มีอีเมล,อำเภอที่3,,\r\n"
)


def test_import_schools_upserts_by_code(runner: CliRunner, office: Path) -> None:
    csv_file = write_csv(office.parent / "schools.csv", SCHOOLS_CSV)
    path = office.parent / "workbook.xlsx"
    result = invoke(runner, "import-schools", str(csv_file), "--config", str(office))
    assert (result.exit_code, result.stdout) == (0, "added 3, updated 1, unchanged 1, skipped 1\n")
    assert result.stderr == (
        "read schools.csv: UTF-8 (with BOM)\n"
        "skipped: schools.csv!แถว 6 [รหัสโรงเรียน]: รหัส '12345' ต้องเป็นตัวเลข 10 หลัก\n"
        "no email: schools.csv!แถว 7 imported with ยังไม่มีอีเมล in tab 'โรงเรียน'; type the address there\n"
    )
    rows = wb.rows_by(path, "โรงเรียน", "รหัสโรงเรียน")
    assert list(rows) == [S1, S2, S3, S4, "1003000005", "1003000006", "1003000008"]
    assert rows[S2] == {**wb.school(2, 1), "ชื่อโรงเรียน": "โรงเรียนบ้านทดสอบสอง"}  # only the name changed
    assert rows[S1] == wb.school(1, 1)
    new = rows["1003000005"]
    assert (new["ชื่อโรงเรียน"], new["อีเมลผู้รับผิดชอบ"], new["ใช้งาน"]) == (
        "โรงเรียนบ้านใหม่",
        "new5@school.example",
        True,
    )
    assert rows["1003000008"]["อีเมลผู้รับผิดชอบ"] == "ยังไม่มีอีเมล"
    # Importing the same file again changes nothing.
    before = path.read_bytes()
    again = invoke(runner, "import-schools", str(csv_file), "--config", str(office), "-q")
    assert (again.exit_code, again.stdout) == (0, "added 0, updated 0, unchanged 5, skipped 1\n")
    assert path.read_bytes() == before


def test_import_schools_dry_run_prints_each_change_and_writes_nothing(
    runner: CliRunner, office: Path
) -> None:
    csv_file = write_csv(office.parent / "schools.csv", SCHOOLS_CSV)
    path = office.parent / "workbook.xlsx"
    before = path.read_bytes()
    result = invoke(runner, "import-schools", str(csv_file), "--config", str(office), "--dry-run", "-q")
    assert (result.exit_code, result.stdout) == (
        0,
        f"{S2} โรงเรียนบ้านทดสอบสอง: ชื่อโรงเรียน 'โรงเรียนบ้านทดสอบ2' → 'โรงเรียนบ้านทดสอบสอง'\n"
        "1003000005 โรงเรียนบ้านใหม่: new school\n"
        "1003000006 โรงเรียนวัดใหม่: new school\n"
        "1003000008 โรงเรียนไม่มีอีเมล: new school\n"
        "would add 3, would update 1, unchanged 1, skipped 1\n",
    )
    assert path.read_bytes() == before


def test_import_schools_with_english_headers_from_xlsx(runner: CliRunner, office: Path) -> None:
    source = wb.write_workbook(
        office.parent / "schools.xlsx",
        {
            "Sheet1": [
                ["Contact_Email", "School_Code", "Name"],
                ["x7@school.example", 1003000007, "โรงเรียนเจ็ด"],
            ]
        },
    )
    result = invoke(runner, "import-schools", str(source), "--config", str(office))
    assert (result.exit_code, result.stdout) == (0, "added 1, updated 0, unchanged 0, skipped 0\n")
    assert "1003000007" in wb.rows_by(office.parent / "workbook.xlsx", "โรงเรียน", "รหัสโรงเรียน")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("schools.csv", "ชื่อโรงเรียน,อีเมลผู้รับผิดชอบ\nก,a@b.example\n".encode(),
         "Error: schools.csv: column 'รหัสโรงเรียน' (school_code) not found in the header row; name it one of: "
         "รหัสโรงเรียน, school_code, รหัสโรงเรียน 10 หลัก, "),
        ("schools.csv", b"\x81\x82,\xdb\xdc\xdd\n",
         "Error: {path}: not text in UTF-8, UTF-16 or Windows-874 (TIS-620); save it from Excel as "
         "'CSV UTF-8' or as .xlsx and try again\n"),
        ("schools.pdf", b"", "Error: {path}: use a .csv or .xlsx file\n"),
    ],
)  # fmt: skip
def test_import_schools_refuses_a_file_it_cannot_read(
    runner: CliRunner, office: Path, name: str, content: bytes, message: str
) -> None:
    source = office.parent / name
    source.write_bytes(content)
    result = invoke(runner, "import-schools", str(source), "--config", str(office), "-q")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(message.format(path=source))


# -- demo -------------------------------------------------------------------------------------------------------


def test_demo_twice_sends_nothing_new_the_second_time(runner: CliRunner, tmp_path: Path) -> None:
    first = invoke(runner, "demo", "d1")
    assert first.exit_code == 0, first.output
    assert first.stderr.startswith("creating the demo in d1/\n")
    sent = len(list((tmp_path / "d1" / "outbox").glob("*/*.eml")))
    assert sent > 0
    assert first.stdout.endswith(
        "\n"
        "workbook: d1/workbook.xlsx\n"
        f"emails:   d1/outbox/index.html  ({sent} new this run)\n"
        "next:     sheets-sync status --config d1/sheets-sync.toml --today 2026-11-11\n"
    )
    second = invoke(runner, "demo", "d1")
    assert second.exit_code == 0
    assert "creating" not in second.stderr
    assert second.stdout.endswith(
        "\n"
        "workbook: d1/workbook.xlsx\n"
        "emails:   d1/outbox/index.html  (0 new this run)\n"
        "next:     sheets-sync status --config d1/sheets-sync.toml --today 2026-11-11\n"
    )
    assert "messages (outbox): none\n" in second.stdout
    assert len(list((tmp_path / "d1" / "outbox").glob("*/*.eml"))) == sent
    # The same statuses both times: only the message counts differ.
    same = [line for line in first.stdout.splitlines() if not line.startswith(("messages", "emails"))]
    assert [
        line for line in second.stdout.splitlines() if not line.startswith(("messages", "emails"))
    ] == same
    status = invoke(runner, "status", "--config", "d1/sheets-sync.toml", "--today", "2026-11-11")
    assert status.exit_code == 0
    assert status.stdout.splitlines()[0] == first.stdout.splitlines()[2]
    doctor = invoke(runner, "doctor", "--config", "d1/sheets-sync.toml")
    assert doctor.exit_code == 0, doctor.output
    assert [line.split(":")[0] for line in doctor.stdout.splitlines()] == [
        "ok   config",
        "ok   workbook",
        "ok   mail",
    ]
