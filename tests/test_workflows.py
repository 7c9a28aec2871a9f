"""The GitHub Actions workflows, the example office config and the deployment guide, checked offline.

The workflows are validated against GitHub's published workflow schema (vendored by check-jsonschema),
their shell steps are run for real with bash, and the guide's troubleshooting table is checked against
the messages the code can print, so that none of them can go stale unnoticed.
"""

from __future__ import annotations

import ast
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from ruamel.yaml import YAML

from sheets_sync.config import load_config

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
SYNC = WORKFLOWS / "sync.yml"
TEST = WORKFLOWS / "test.yml"
GUIDE = ROOT / "docs" / "deploy.md"
EXAMPLE = ROOT / "configs" / "example-esa.toml"
SECRET_VARS = ("GOOGLE_SERVICE_ACCOUNT_JSON", "SHEETS_SYNC_SMTP_PASSWORD", "SHEETS_SYNC_LINE_TOKEN")
SYNC_JOBS = ("sync", "sync-wif")
BANGKOK = ZoneInfo("Asia/Bangkok")


def load(path: Path) -> dict[str, Any]:
    # YAML 1.2 (ruamel), as GitHub reads it: `on:` stays the string "on", not True.
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def sync() -> dict[str, Any]:
    return load(SYNC)


@pytest.fixture(scope="module")
def test_wf() -> dict[str, Any]:
    return load(TEST)


def step_named(job: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in job["steps"] if s.get("name") == name]
    assert len(found) == 1, f"one step named {name!r}"
    return found[0]


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]


# -- schema ----------------------------------------------------------------------------------------


def check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_both_workflows_match_githubs_workflow_schema() -> None:
    result = check_jsonschema(SYNC, TEST)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    # Guards the test above against a validator that passes everything (e.g. a schema it failed to load).
    broken = tmp_path / "broken.yml"
    broken.write_text(SYNC.read_text(encoding="utf-8").replace("runs-on:", "runs_on:", 1), encoding="utf-8")
    result = check_jsonschema(broken)
    assert result.returncode == 1
    assert "runs_on" in result.stdout


# -- schedule --------------------------------------------------------------------------------------


def cron_field(text: str, low: int, high: int) -> set[int]:
    """The values one cron field allows: `*`, `n`, `a-b`, `*/s`, `a-b/s` and lists of them."""
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, stop = low, high
        elif "-" in base:
            start, stop = (int(x) for x in base.split("-"))
        else:
            start = stop = int(base)
        assert low <= start <= stop <= high, f"cron field {text!r} out of range"
        values.update(range(start, stop + 1, step))
    return values


def cron_times(expr: str, day: dt.date) -> list[dt.datetime]:
    """The UTC instants on `day` (a UTC date) when GitHub's POSIX cron `expr` fires."""
    minute, hour, dom, month, dow = expr.split()
    days = cron_field(dom, 1, 31)
    weekdays = {d % 7 for d in cron_field(dow, 0, 7)}  # 0 and 7 are both Sunday
    cron_weekday = (day.weekday() + 1) % 7  # Python: Monday 0; cron: Sunday 0
    if day.month not in cron_field(month, 1, 12):
        return []
    in_dom, in_dow = day.day in days, cron_weekday in weekdays
    # POSIX: with both day fields restricted, either may match; otherwise both must.
    ok = (in_dom or in_dow) if dom != "*" and dow != "*" else (in_dom and in_dow)
    if not ok:
        return []
    return sorted(
        dt.datetime(day.year, day.month, day.day, h, m, tzinfo=dt.UTC)
        for h in cron_field(hour, 0, 23)
        for m in cron_field(minute, 0, 59)
    )


def test_cron_parser_reads_posix_fields() -> None:
    assert cron_field("1-5", 0, 7) == {1, 2, 3, 4, 5}
    assert cron_field("*/15", 0, 59) == {0, 15, 30, 45}
    assert cron_field("0,30", 0, 59) == {0, 30}
    saturday = dt.date(2026, 11, 14)
    assert cron_times("0 1 * * 6", saturday) == [dt.datetime(2026, 11, 14, 1, 0, tzinfo=dt.UTC)]
    assert cron_times("0 1 * * 1-5", saturday) == []
    assert cron_times("0 1 14 * 1", saturday) != []  # day of month or weekday


SENDING_CRON = "0 1 * * 1-5"
RECORDING_CRON = "5 17 * * *"


def fired_in_bangkok(expr: str, year: int) -> list[dt.datetime]:
    """Every Bangkok time in `year` at which the UTC cron `expr` fires."""
    fired: list[dt.datetime] = []
    day = dt.date(year - 1, 12, 30)  # UTC days around the year, so every Bangkok day of it is covered
    while day <= dt.date(year + 1, 1, 2):
        fired += [t.astimezone(BANGKOK) for t in cron_times(expr, day)]
        day += dt.timedelta(days=1)
    return [t for t in fired if t.year == year]


def days_of(year: int, weekdays_only: bool) -> set[dt.date]:
    out, d = set(), dt.date(year, 1, 1)
    while d.year == year:
        if d.weekday() < 5 or not weekdays_only:
            out.add(d)
        d += dt.timedelta(days=1)
    return out


def test_two_schedules_one_that_sends_and_one_that_records(sync: dict[str, Any]) -> None:
    assert [s["cron"] for s in sync["on"]["schedule"]] == [SENDING_CRON, RECORDING_CRON]


@pytest.mark.parametrize("year", [2026, 2027])
def test_cron_fires_at_0800_bangkok_on_every_weekday_of_the_year(sync: dict[str, Any], year: int) -> None:
    in_year = fired_in_bangkok(SENDING_CRON, year)
    assert {(t.hour, t.minute) for t in in_year} == {(8, 0)}
    fired_days = [t.date() for t in in_year]
    assert len(fired_days) == len(set(fired_days)), "at most one run a day"
    assert set(fired_days) == days_of(year, weekdays_only=True), (
        "every Monday to Friday in Bangkok, no weekend"
    )


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_record_only_cron_fires_just_after_midnight_bangkok_every_day(year: int) -> None:
    in_year = fired_in_bangkok(RECORDING_CRON, year)
    assert {(t.hour, t.minute) for t in in_year} == {(0, 5)}
    fired_days = [t.date() for t in in_year]
    assert len(fired_days) == len(set(fired_days))
    # 17:05 UTC on 31 Dec of the year before is 00:05 on 1 Jan in Bangkok: every day, weekends included.
    assert set(fired_days) == days_of(year, weekdays_only=False)


def test_the_cron_comment_says_it_is_utc_and_may_start_late() -> None:
    text = SYNC.read_text(encoding="utf-8")
    head = text[: text.index("- cron:")]
    assert "UTC" in head and "08:00" in head and "late" in head


# -- triggers, permissions, concurrency --------------------------------------------------------------


def test_hand_runs_take_dry_run_and_today(sync: dict[str, Any]) -> None:
    inputs = sync["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"dry_run", "today"}
    assert inputs["dry_run"]["type"] == "boolean"
    assert inputs["dry_run"]["default"] is True, "a hand run is a dry run unless unticked"
    assert inputs["today"]["type"] == "string"
    assert inputs["today"].get("required") is not True


def test_least_permissions(sync: dict[str, Any], test_wf: dict[str, Any]) -> None:
    assert sync["permissions"] == {"contents": "read"}
    assert test_wf["permissions"] == {"contents": "read"}
    for name, job in sync["jobs"].items():
        if name == "sync-wif":
            assert job["permissions"] == {"contents": "read", "id-token": "write"}
        else:
            assert "permissions" not in job, f"{name} inherits contents: read"
    assert all("permissions" not in job for job in test_wf["jobs"].values())
    grants = re.findall(r"^\s*([\w-]+):\s*write\s*$", SYNC.read_text(encoding="utf-8"), re.M)
    assert grants == ["id-token"]


def test_one_independent_job_per_office_and_one_run_at_a_time_per_office(sync: dict[str, Any]) -> None:
    lister = sync["jobs"]["configs"]
    assert lister["outputs"]["configs"] == "${{ steps.list.outputs.configs }}"
    for name in SYNC_JOBS:
        job = sync["jobs"][name]
        assert job["needs"] == "configs"
        assert job["strategy"]["fail-fast"] is False
        assert job["strategy"]["matrix"] == {"config": "${{ fromJSON(needs.configs.outputs.configs) }}"}
        assert "needs.configs.outputs.configs != '[]'" in job["if"], "no empty matrix"
        # The same group in both variants, keyed by the office: a hand run never overlaps the cron.
        assert job["concurrency"] == {
            "group": "sheets-sync-${{ matrix.config }}",
            "cancel-in-progress": False,
        }
        assert job["env"] == {"SHEETS_SYNC_CONFIG": "${{ matrix.config }}"}
    assert "concurrency" not in sync, "offices must not wait for one another"


def test_exactly_one_sync_variant_runs(sync: dict[str, Any]) -> None:
    assert "vars.GOOGLE_WORKLOAD_IDENTITY_PROVIDER == ''" in sync["jobs"]["sync"]["if"]
    assert "vars.GOOGLE_WORKLOAD_IDENTITY_PROVIDER != ''" in sync["jobs"]["sync-wif"]["if"]


def test_workload_identity_variant_signs_in_with_google_auth(sync: dict[str, Any]) -> None:
    job = sync["jobs"]["sync-wif"]
    (auth,) = uses(job, "google-github-actions/auth")
    assert auth["uses"] == "google-github-actions/auth@v2"
    assert auth["with"] == {
        "workload_identity_provider": "${{ vars.GOOGLE_WORKLOAD_IDENTITY_PROVIDER }}",
        "service_account": "${{ vars.GOOGLE_SERVICE_ACCOUNT }}",
    }
    steps = job["steps"]
    checkout = steps.index(uses(job, "actions/checkout")[0])
    assert checkout < steps.index(auth), "checkout would delete the credentials file written by auth"
    assert "GOOGLE_SERVICE_ACCOUNT_JSON" not in str(job), "no key in the keyless variant"


def test_both_variants_run_the_same_steps_apart_from_signing_in(sync: dict[str, Any]) -> None:
    def shape(job: dict[str, Any]) -> list[Any]:
        out = []
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("google-github-actions/auth@"):
                continue
            step = dict(step)
            env = {k: v for k, v in step.pop("env", {}).items() if k != "GOOGLE_SERVICE_ACCOUNT_JSON"}
            out.append((step, env))
        return out

    assert shape(sync["jobs"]["sync"]) == shape(sync["jobs"]["sync-wif"])
    wif, key = sync["jobs"]["sync-wif"], sync["jobs"]["sync"]
    assert {k: v for k, v in wif.items() if k not in ("steps", "permissions", "if", "name")} == {
        k: v for k, v in key.items() if k not in ("steps", "if", "name")
    }


# -- steps -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("job_name", SYNC_JOBS)
def test_install_then_doctor_then_sync(sync: dict[str, Any], job_name: str) -> None:
    job = sync["jobs"][job_name]
    (setup,) = uses(job, "actions/setup-python")
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"] == "pyproject.toml"
    install = step_named(job, "Install sheets-sync")
    assert install["run"].strip() == "python -m pip install ."
    runs = [s.get("run", "") for s in job["steps"]]
    doctor = runs.index("sheets-sync doctor")
    sync_step = next(i for i, r in enumerate(runs) if "sheets-sync sync" in r)
    assert job["steps"].index(install) < doctor < sync_step
    assert all(s["uses"].startswith("actions/checkout@") for s in uses(job, "actions/checkout"))
    assert uses(job, "actions/checkout")[0]["with"] == {"persist-credentials": False}


@pytest.mark.parametrize("job_name", SYNC_JOBS)
def test_the_report_is_written_each_run_and_kept_with_the_outbox(sync: dict[str, Any], job_name: str) -> None:
    job = sync["jobs"][job_name]
    (upload,) = uses(job, "actions/upload-artifact")
    assert upload["uses"] == "actions/upload-artifact@v4"
    assert upload["if"] == "always()"
    assert upload["id"] == "keep"
    assert upload["with"]["if-no-files-found"] == "ignore"
    assert "gha-creds" not in upload["with"]["path"] and "*" not in upload["with"]["path"]
    assert "report.html" in upload["with"]["path"].split()
    # Artifact names cannot hold "/": the office's name comes from a step, not from the matrix path.
    assert upload["with"]["name"] == "sheets-sync-${{ steps.office.outputs.name }}"
    report = step_named(job, "sheets-sync report")
    steps = job["steps"]
    sync_step = next(s for s in steps if "sheets-sync sync" in s.get("run", ""))
    link = step_named(job, "Link the report from the run's summary")
    assert steps.index(sync_step) < steps.index(report) < steps.index(upload) < steps.index(link)
    # Also after a failed sync; a report that cannot be made never fails the office's run.
    assert report["if"] == "success() || failure()" and report["continue-on-error"] is True
    assert link["env"] == {"ARTIFACT_URL": "${{ steps.keep.outputs.artifact-url }}"}
    assert "steps.keep.outputs.artifact-url != ''" in link["if"]


def test_no_step_is_left_commented_out() -> None:
    text = SYNC.read_text(encoding="utf-8")
    assert not re.search(r"^\s*#\s*-\s*(name|uses|run):", text, re.M)
    assert not re.search(r"^\s*#\s*run:", text, re.M)
    assert "later version" not in text


def test_tests_run_the_same_checks_as_ci_run(test_wf: dict[str, Any]) -> None:
    assert set(test_wf["on"]) >= {"push", "pull_request"}
    (job,) = test_wf["jobs"].values()
    (setup,) = uses(job, "actions/setup-python")
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"] == "pyproject.toml"
    assert [s["run"] for s in job["steps"] if "run" in s] == ["bash .ci/run"]
    assert (ROOT / ".ci" / "run").is_file()
    pythons = job["strategy"]["matrix"]["python"]
    assert "3.11" in pythons, "the oldest Python pyproject.toml allows"


# -- secrets ---------------------------------------------------------------------------------------


def walk(node: Any, path: tuple[str, ...] = ()) -> Any:
    """Every (path, string) in a parsed workflow."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, (*path, str(i)))
    elif isinstance(node, str):
        yield path, node


PRINTING = re.compile(r"(^|[;&|(`]|\$\()\s*(echo|printf|cat|tee|printenv|env|export|declare|set)\b")
SECRET_WORDS = re.compile(r"secrets\.|secrets\[|" + "|".join(SECRET_VARS))


def secret_leaks(workflow: dict[str, Any]) -> list[str]:
    """Every way a workflow could show a secret: secrets outside a step's env, scripts that print them."""
    found = []
    for where, value in walk(workflow):
        if "secrets." in value or "secrets[" in value:
            in_step_env = len(where) == 6 and where[0] == "jobs" and where[2] == "steps" and where[4] == "env"
            if not in_step_env or value != f"${{{{ secrets.{where[5]} }}}}" or where[5] not in SECRET_VARS:
                found.append(f"secret outside a step's env: {'.'.join(where)}")
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            script = step.get("run", "")
            where = f"{job_name}: {step.get('name', script[:30])!r}"
            # No `${{ }}` inside a script: values reach it as environment variables (no script injection).
            if "${{" in script:
                found.append(f"{where}: ${{{{ }}}} in a script")
            if re.search(r"\bset\s+-\w*x|\bset\s+-o\s+xtrace", script):
                found.append(f"{where}: set -x prints every expanded command")
            if re.search(
                r"(^|[;&|]\s*)(printenv|env|export\s+-p|declare\s+-p|set)\s*($|[|>;&])", script, re.M
            ):
                found.append(f"{where}: dumps every variable")
            for line in script.splitlines():
                if PRINTING.search(line) and SECRET_WORDS.search(line):
                    found.append(f"{where}: prints a secret: {line.strip()}")
    return found


@pytest.mark.parametrize("path", [SYNC, TEST], ids=lambda p: p.name)
def test_no_step_shows_a_secret(path: Path) -> None:
    assert secret_leaks(load(path)) == []


def test_the_leak_check_finds_leaks() -> None:
    key = "${{ secrets.GOOGLE_SERVICE_ACCOUNT_JSON }}"
    bad = {
        "env": {"GOOGLE_SERVICE_ACCOUNT_JSON": key},
        "jobs": {
            "j": {
                "env": {"SHEETS_SYNC_SMTP_PASSWORD": "${{ secrets.SHEETS_SYNC_SMTP_PASSWORD }}"},
                "steps": [
                    {"name": "a", "run": 'echo "$GOOGLE_SERVICE_ACCOUNT_JSON" > key.json'},
                    {"name": "b", "run": "set -x\nsheets-sync sync"},
                    {"name": "c", "run": "printenv | sort"},
                    {"name": "d", "run": "sheets-sync sync --today ${{ inputs.today }}"},
                    {"name": "e", "run": "cat $SHEETS_SYNC_SMTP_PASSWORD"},
                    {"name": "f", "with": {"password": "${{ secrets.SHEETS_SYNC_SMTP_PASSWORD }}"}},
                    {"name": "g", "env": {"GOOGLE_SERVICE_ACCOUNT_JSON": key}, "run": "sheets-sync sync"},
                ],
            }
        },
    }
    leaks = secret_leaks(bad)
    assert [leak for leak in leaks if leak.startswith("secret outside")] == [
        "secret outside a step's env: env.GOOGLE_SERVICE_ACCOUNT_JSON",
        "secret outside a step's env: jobs.j.env.SHEETS_SYNC_SMTP_PASSWORD",
        "secret outside a step's env: jobs.j.steps.5.with.password",
    ]
    flagged = sorted({leak.split("'")[1] for leak in leaks if leak.startswith("j: ")})
    assert flagged == ["a", "b", "c", "d", "e"], leaks  # not g: a step's env is the one right place


def test_secrets_reach_only_the_steps_that_need_them(sync: dict[str, Any]) -> None:
    for job in sync["jobs"].values():
        for step in job["steps"]:
            names = {k for k, v in step.get("env", {}).items() if "secrets." in v}
            if names:
                assert step["run"].startswith(("sheets-sync doctor", "args=()")), step["name"]
    passed = {where[5] for where, value in walk(sync) if "secrets." in value}
    assert passed == set(SECRET_VARS)


# -- the scripts, run with bash ----------------------------------------------------------------------


@pytest.fixture
def bash() -> str:
    found = shutil.which("bash")
    if not found:
        pytest.skip("bash is not installed")
    return found


def run_step(bash: str, script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # GitHub runs `run:` with `bash --noprofile --norc -eo pipefail {0}`; the script is fed on stdin here
    # so that no file is left in `cwd`.
    return subprocess.run(
        [bash, "--noprofile", "--norc", "-eo", "pipefail", "-s"],
        input=script,
        cwd=cwd,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines())


def test_listing_finds_every_office_but_not_the_examples(
    sync: dict[str, Any], tmp_path: Path, bash: str
) -> None:
    script = step_named(
        sync["jobs"]["configs"], "List configs/*.toml (example-*.toml are templates, not offices)"
    )
    (tmp_path / "configs").mkdir()
    for name in ("spp-b-2.toml", "example-esa.toml", "spp-a-1.toml", "notes.md"):
        (tmp_path / "configs" / name).write_text("", encoding="utf-8")
    out = tmp_path / "github_output"
    result = run_step(bash, script["run"], tmp_path, {"GITHUB_OUTPUT": str(out)})
    assert result.returncode == 0, result.stderr
    assert outputs(out) == {"configs": '["configs/spp-a-1.toml", "configs/spp-b-2.toml"]'}


def test_listing_with_no_office_gives_an_empty_list(sync: dict[str, Any], tmp_path: Path, bash: str) -> None:
    script = step_named(
        sync["jobs"]["configs"], "List configs/*.toml (example-*.toml are templates, not offices)"
    )
    (tmp_path / "configs").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "configs")
    out = tmp_path / "github_output"
    assert run_step(bash, script["run"], tmp_path, {"GITHUB_OUTPUT": str(out)}).returncode == 0
    assert outputs(out) == {"configs": "[]"}  # the sync jobs' `if:` then skips them


def test_the_repository_lists_only_real_offices(sync: dict[str, Any], tmp_path: Path, bash: str) -> None:
    script = step_named(
        sync["jobs"]["configs"], "List configs/*.toml (example-*.toml are templates, not offices)"
    )
    out = tmp_path / "github_output"
    assert run_step(bash, script["run"], ROOT, {"GITHUB_OUTPUT": str(out)}).returncode == 0
    assert "example-" not in outputs(out)["configs"]


@pytest.fixture
def fake_sheets_sync(tmp_path: Path) -> Path:
    """A `sheets-sync` on PATH that prints each argument it got on its own line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "sheets-sync"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n', encoding="utf-8")
    fake.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize(
    ("dry_run", "today", "expected"),
    [
        ("", "", ["sync"]),  # the cron: no inputs at all
        ("", "", ["sync", "--no-mail"]),  # the midnight cron: record only
        ("false", "", ["sync"]),
        ("true", "", ["sync", "--dry-run"]),
        ("true", "2026-11-12", ["sync", "--today", "2026-11-12", "--dry-run"]),
        ("false", "2026-11-12", ["sync", "--today", "2026-11-12"]),
        # An input is data, never code: it reaches sheets-sync as one argument, which refuses it.
        (
            "false",
            '2026-11-12"; echo "$GOOGLE_SERVICE_ACCOUNT_JSON',
            ["sync", "--today", '2026-11-12"; echo "$GOOGLE_SERVICE_ACCOUNT_JSON'],
        ),
        ("false", "$(touch pwned) `touch pwned`", ["sync", "--today", "$(touch pwned) `touch pwned`"]),
    ],
)
@pytest.mark.parametrize("job_name", SYNC_JOBS)
def test_sync_arguments_come_from_the_inputs_safely(
    sync: dict[str, Any],
    tmp_path: Path,
    bash: str,
    fake_sheets_sync: Path,
    job_name: str,
    dry_run: str,
    today: str,
    expected: list[str],
) -> None:
    step = step_named(sync["jobs"][job_name], "sheets-sync sync")
    assert step["env"]["DRY_RUN"] == "${{ inputs.dry_run }}"
    assert step["env"]["TODAY"] == "${{ inputs.today }}"
    assert step["env"]["SCHEDULE"] == "${{ github.event.schedule }}"
    env = {
        "PATH": f"{fake_sheets_sync}{os.pathsep}{os.environ['PATH']}",
        "DRY_RUN": dry_run,
        "TODAY": today,
        # github.event.schedule: the cron expression of a scheduled run, empty for a hand run.
        "SCHEDULE": RECORDING_CRON if "--no-mail" in expected else (SENDING_CRON if not dry_run else ""),
        "GOOGLE_SERVICE_ACCOUNT_JSON": "SECRET-KEY",
    }
    result = run_step(bash, step["run"], tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected
    assert "SECRET-KEY" not in result.stdout + result.stderr
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ("", ["report", "--quiet", "--out", "report.html"]),
        ("2026-11-12", ["report", "--today", "2026-11-12", "--quiet", "--out", "report.html"]),
        ("$(touch pwned)", ["report", "--today", "$(touch pwned)", "--quiet", "--out", "report.html"]),
    ],
)
@pytest.mark.parametrize("job_name", SYNC_JOBS)
def test_report_arguments_come_from_the_inputs_safely(
    sync: dict[str, Any], tmp_path: Path, bash: str, fake_sheets_sync: Path, job_name: str, today: str,
    expected: list[str],
) -> None:  # fmt: skip
    step = step_named(sync["jobs"][job_name], "sheets-sync report")
    assert step["env"]["TODAY"] == "${{ inputs.today }}"
    env = {"PATH": f"{fake_sheets_sync}{os.pathsep}{os.environ['PATH']}", "TODAY": today}
    result = run_step(bash, step["run"], tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("with_report", [True, False])
def test_the_step_summary_links_the_kept_report(
    sync: dict[str, Any], tmp_path: Path, bash: str, with_report: bool
) -> None:
    step = step_named(sync["jobs"]["sync"], "Link the report from the run's summary")
    summary = tmp_path / "summary.md"
    summary.write_text("| cycle | … |\n", encoding="utf-8")  # what the sync step wrote
    if with_report:
        (tmp_path / "report.html").write_text("<html></html>", encoding="utf-8")
    url = "https://github.com/esa/sheets-sync/actions/runs/1/artifacts/2"
    result = run_step(bash, step["run"], tmp_path, {"ARTIFACT_URL": url, "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 0, result.stderr
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("| cycle | … |\n")  # appended, not replaced
    what = "report.html and the outbox" if with_report else "the outbox"
    assert f"[Download {what} (zip, kept 14 days)]({url})" in text


# -- the example office ------------------------------------------------------------------------------


def test_the_example_office_config_loads_as_gsheets_with_smtp() -> None:
    config = load_config(EXAMPLE)
    assert config.workbook.backend == "gsheets"
    assert config.workbook.spreadsheet_id
    assert config.workbook.credentials_env == "GOOGLE_SERVICE_ACCOUNT_JSON"
    assert config.email.transport == "smtp"
    assert config.smtp.password_env == "SHEETS_SYNC_SMTP_PASSWORD"
    assert config.office.timezone == "Asia/Bangkok"
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count("CHANGE") >= 4 and "docs/deploy.md" in text


# -- the guide -------------------------------------------------------------------------------------

# Every line the tool can print for a deployment problem, as a fragment that is one piece of literal
# text in the code. Each must be in the guide's troubleshooting tables (Thai and English parts) and
# still in the code: a message reworded in the code fails here until the guide follows.
MESSAGES = [
    # line/: the [line] section of the guide
    "must be a LINE user id",
    "api_endpoint must start with https://",
    "retry_attempts must be 1 or more",
    "is empty; put the channel access token there",
    "is empty; put the channel secret there",
    "LINE refused the channel access token",
    "LINE refused the",
    "check the network or [line] api_endpoint",
    # config.py
    "config file not found. Pass --config FILE",
    "not valid TOML",
    "cannot be read: ",
    "unknown section [",
    "must be a table of settings",
    "secrets never go in the config file",
    "not a regular file; pass the path of the .toml config file",
    "not a config file",
    "must be the NAME of an environment variable",
    "must be the path of the JSON key file, not a key or token",
    "must be between",
    "unknown setting",
    "must be one of",
    "must be true or false",
    "must be a whole number, 0 or more",
    "must be a number, 0 or more",
    "must be a file or folder path in quotes",
    "must be a list of whole numbers above 0",
    "must be text in quotes",
    "unknown time zone",
    "spreadsheet_id is required with backend",
    "overdue_every_days must be 1 or more",
    "must be 0 or more",
    "must be on one line",
    "must hold one table per system",
    "unknown system [systems.",
    "unknown system [reconcile.",
    "must be a list of words in quotes",
    "must start with https://",
    # backends/google_auth.py
    "no Google credentials: set",
    "is not valid JSON (line",
    "is not a service-account key",
    "download a new JSON key for the service account",
    "[workbook] credentials_file",
    "the private key cannot be read",
    "no key file there",
    "give the path of the JSON key file",
    "cannot be read as a key file",
    "is larger than a key file can be",
    "is not a JSON key file (not UTF-8 text)",
    "is not a Google credentials file",
    "Google could not use it",
    # backends/gsheets/
    "no access to spreadsheet",
    "the Google Sheets API is not enabled for the service account's project",
    "Google refused the service account's key",
    "create a new JSON key and update the",
    "cannot reach Google to sign in",
    "click Share and add",
    "not found: check [workbook] spreadsheet_id",
    "Google refused the credentials",
    "kept failing",
    "run the sync again later",
    "retrying in",
    "Sheets API refused",
    "cannot reach the Sheets API at",
    "changed while the sync ran; nothing was written to it",
    "lacks columns the sync needs",
    "over Google's limit",
    "is gone; its values were not written",
    # evaluate.py
    "not found in the workbook; run 'sheets-sync init' to create it",
    "not found in row 1",
    # mail/smtp.py, mail/smtp_connect.py
    "has no password: set the environment variable",
    "refused for user",
    "Gmail needs an app password",
    "does not offer STARTTLS",
    "TLS with SMTP server",
    "its certificate is not trusted",
    "refused the connection",
    "check [smtp] security and username",
    "and that this computer can reach the server",
    "does not offer login (AUTH)",
    "does not support login",
    "the server offers",
    "reconnecting failed twice in a row",
    "reached for this run; left for the next run",
    "every recipient refused",
    "recipients not accepted for now",
    "it may or may not have been delivered",
    "does not support SMTPUTF8",
    # doctor.py, run_account.py
    "is not writable",
    "problems (run 'sheets-sync validate')",
    # backends/xlsx/backend.py, backends/xlsx/lock.py
    "is being synced by another run",
    "another run took the lock of spreadsheet",
    "workbook not found; run 'sheets-sync init' to create it",
    "cannot be opened as an .xlsx workbook",
    "changed on disk while the sync ran",
    "holds no readable lock",
    "lock_minutes must be",
    # backends/xlsx/preflight.py
    "is open in",
    "is read-only; make it writable",
    "cannot create files in this folder",
    "KB free, the save needs about",
    "are merged, in column",
    "cannot be written (open in Excel",
    "could not be saved",
]
ENGLISH_HEADING = "# Deploying sheets-sync with GitHub Actions"


@pytest.fixture(scope="module")
def guide() -> tuple[str, str]:
    text = GUIDE.read_text(encoding="utf-8")
    thai, english = text.split("\n" + ENGLISH_HEADING + "\n")
    return thai, english


@pytest.fixture(scope="module")
def code() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "sheets_sync").rglob("*.py")))


@pytest.mark.parametrize("message", MESSAGES)
def test_each_message_in_the_guide_is_still_in_the_code(message: str, code: str) -> None:
    assert message in code, f"{message!r} is no longer printed: update docs/deploy.md and this list"


@pytest.mark.parametrize("message", MESSAGES)
def test_each_message_is_in_both_troubleshooting_tables(message: str, guide: tuple[str, str]) -> None:
    for part in guide:
        table_rows = [ln for ln in part.splitlines() if ln.startswith("| ")]
        assert any(message in row for row in table_rows), f"{message!r} missing from a troubleshooting table"


ERROR_CLASSES = {
    "ConfigError",
    "WorkbookError",
    "BackendError",
    "MailError",
    "LockedError",
    "ConnectError",
    "LineError",
}
DEPLOYMENT_FILES = [
    "config.py",
    "config_checks.py",
    "doctor.py",
    "evaluate.py",
    "backends/google_auth.py",
    "backends/gsheets/client.py",
    "backends/gsheets/lock.py",
    "backends/gsheets/values.py",
    "backends/gsheets/view.py",
    "backends/xlsx/backend.py",
    "backends/xlsx/lock.py",
    "backends/xlsx/preflight.py",
    "mail/smtp.py",
    "mail/smtp_connect.py",
    "line/client.py",
    "line/listen.py",
]
# Errors with no row in the guide, and why.
NOT_IN_GUIDE = {
    "already exists; nothing was overwritten",  # xlsx: only `init` and the demo on a new file
    "must be starttls, ssl or none",  # smtp: the config check refuses such a value first
}


def literal_text(node: ast.expr) -> str:
    """The text of a str or f-string expression, each {…} replaced by an ellipsis."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(literal_text(v) if isinstance(v, ast.Constant) else "…" for v in node.values)
    return ""


def error_messages(source: str) -> list[str]:
    """Every message built for one of the tool's errors, or for a failed doctor check."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in ERROR_CLASSES:
            found.append(literal_text(node.args[0]))
        elif name == "Check" and len(node.args) == 3:
            ok = node.args[1]
            if isinstance(ok, ast.Constant) and ok.value is False:
                found.append(literal_text(node.args[2]))
    return [m for m in found if m]


def test_every_error_of_the_deployment_path_is_in_the_guide() -> None:
    # A new error in these files fails here until the guide (and MESSAGES) have a row for it.
    checked = 0
    for name in DEPLOYMENT_FILES:
        for message in error_messages((ROOT / "sheets_sync" / name).read_text(encoding="utf-8")):
            checked += 1
            assert any(m in message for m in MESSAGES) or any(s in message for s in NOT_IN_GUIDE), (
                name,
                message,
            )
    assert checked > 40


def test_the_guide_is_thai_first_then_english(guide: tuple[str, str]) -> None:
    thai, english = guide
    assert re.search(r"[\u0E00-\u0E7F]", thai.splitlines()[0]), "the first heading is Thai"
    for part in guide:
        for word in ("Settings", "Secrets and variables", "Actions", "New repository secret", "Run workflow"):
            assert word in part
        for name in (*SECRET_VARS, "GOOGLE_WORKLOAD_IDENTITY_PROVIDER", "GOOGLE_SERVICE_ACCOUNT"):
            assert name in part
        for menu in ("APIs & Services", "Library", "Google Sheets API", "IAM & Admin", "Service Accounts"):
            assert menu in part
        assert "Editor" in part and "dry-run" in part and 'transport = "smtp"' in part
    assert "**Settings** → **Secrets and variables** → **Actions**" in english
    assert "ขั้นที่ 10" in thai and "Step 10" in english
