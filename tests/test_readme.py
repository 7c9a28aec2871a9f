"""The README's command sections are the commands' own --help, so they cannot go stale.

`python -m tests.test_readme` rewrites them; the test fails when the README differs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from click.testing import CliRunner

from sheets_sync.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- help:start -->\n)(.*?)(<!-- help:end -->)", re.S)
ORDER = [
    "demo",
    "init",
    "import-schools",
    "reconcile",
    "share-list",
    "new-year",
    "sync",
    "status",
    "validate",
    "preview",
    "report",
    "line-listen",
    "doctor",
]


def help_text(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="sheets-sync", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.stdout.rstrip() + "\n"


def rendered() -> str:
    parts = ["```", help_text().rstrip(), "```", ""]
    for name in ORDER:
        parts += [f"### `sheets-sync {name}`", "", "```", help_text(name).rstrip(), "```", ""]
    return "\n".join(parts)


def test_every_command_is_documented() -> None:
    assert sorted(ORDER) == sorted(cli.commands)


def test_readme_help_sections_are_current() -> None:
    match = BLOCK.search(README.read_text(encoding="utf-8"))
    assert match, "README.md lacks the <!-- help:start --> … <!-- help:end --> block"
    assert match.group(2) == rendered(), "README is stale: run `python -m tests.test_readme`"


QUICK_START = [
    'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/sheets-sync demo',
    ".venv/bin/python -m pytest",
]
CI_RUN = README.parent / ".ci" / "run"


def quick_start() -> list[str]:
    section = README.read_text(encoding="utf-8").split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the quick start has a ```sh block"
    return match.group(1).splitlines()


def test_quick_start_is_two_commands_in_a_virtual_environment() -> None:
    # A PEP 668 system (Debian 12+, Ubuntu 24.04) refuses `pip install` outside a virtual environment:
    # the first command makes one and uses only what is inside it.
    assert quick_start() == QUICK_START


def test_ci_runs_the_quick_start_as_written() -> None:
    script = CI_RUN.read_text(encoding="utf-8")
    assert "README.md" in script and "## Quick start" in script
    assert '"${quick_start[0]}"' in script and '"${quick_start[1]}"' in script
    assert "pip install" not in script and "pytest" not in script.replace("quick_start[1]", "")


def main() -> int:
    text = README.read_text(encoding="utf-8")
    README.write_text(BLOCK.sub(lambda m: m.group(1) + rendered() + m.group(3), text), encoding="utf-8")
    print(f"updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
