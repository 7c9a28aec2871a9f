"""Shared fixtures: every test runs in its own folder, with none of the user's settings or secrets."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from tests.support import workbooks

# Hypothesis: a quick profile in CI; `HYPOTHESIS_PROFILE=full python -m pytest tests/test_fuzz_workbooks.py`
# runs the adversarial suite's 10,000-example profile by hand.
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "full",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ISOLATED_ENV = (
    "SHEETS_SYNC_CONFIG",
    "SHEETS_SYNC_RAISE",
    "GITHUB_STEP_SUMMARY",
    "GOOGLE_SERVICE_ACCOUNT_JSON",
    "SHEETS_SYNC_SMTP_PASSWORD",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No config, step summary or secret from the environment; the working folder is the test's own."""
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """`write_config(email={"transport": "dry-run"})`: the test office's config with those settings changed.

    Written to tmp_path/sheets-sync.toml (or `name=`); its workbook is tmp_path/workbook.xlsx and its
    outbox tmp_path/outbox unless changed. Returns the file's path.
    """

    def write(name: str = "sheets-sync.toml", **sections: dict[str, Any]) -> Path:
        return workbooks.write_config(tmp_path, name, **sections)

    return write


@pytest.fixture
def config_path(write_config: Callable[..., Path]) -> Path:
    """The test office's config file, unchanged, in tmp_path."""
    return write_config()


@pytest.fixture
def runner() -> CliRunner:
    """Click's runner. Since click 8.2 `result.stdout` and `result.stderr` are apart; `output` has both."""
    return CliRunner()
