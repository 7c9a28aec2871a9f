"""The house stays one a newcomer can read: no module of `sheets_sync/` over 500 lines and no function over
60, and every file docs/design.md names exists (docs/design.md, The layers)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sheets_sync"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def long_modules(root: Path, limit: int) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            out.append(f"{path.relative_to(root.parent)}: {lines} lines")
    return out


def long_functions(root: Path, limit: int) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = (node.end_lineno or node.lineno) - first + 1
                if length > limit:
                    out.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name}: {length} lines")
    return out


def test_no_module_of_the_package_is_over_500_lines() -> None:
    assert long_modules(PACKAGE, MAX_MODULE_LINES) == []


def test_no_function_of_the_package_is_over_60_lines() -> None:
    assert long_functions(PACKAGE, MAX_FUNCTION_LINES) == []


def test_the_size_checks_can_fail(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    body = "\n".join(f"    x{n} = {n}" for n in range(61))
    (package / "big.py").write_text(f"def f() -> None:\n{body}\n" + "\n" * 440, encoding="utf-8")
    (package / "small.py").write_text("def g() -> int:\n    return 1\n", encoding="utf-8")
    assert long_modules(package, MAX_MODULE_LINES) == ["pkg/big.py: 502 lines"]
    assert long_functions(package, MAX_FUNCTION_LINES) == ["pkg/big.py:1 f: 62 lines"]


# A path in backticks: a folder ending in "/", or a file with an extension, under one of the places the
# design names files from.
PATH = re.compile(r"`([A-Za-z0-9_./-]+(?:/|\.(?:py|toml|md|j2|yml|txt|json)))`")
BASES = [ROOT, PACKAGE, PACKAGE / "backends", PACKAGE / "mail", PACKAGE / "line", PACKAGE / "cli"]


def named_paths(text: str) -> list[str]:
    return sorted({m for m in PATH.findall(text) if not m.startswith(("http", "-"))})


def test_every_file_the_design_names_exists() -> None:
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    names = named_paths(text)
    assert len(names) > 40  # the layer map and the ten steps name files
    missing = [n for n in names if not any((base / n).exists() for base in BASES)]
    gsheets = PACKAGE / "backends" / "gsheets"
    missing = [n for n in missing if not (gsheets / n).exists()]
    assert missing == []


def test_a_missing_file_is_found() -> None:
    names = named_paths("see `sheets_sync/sync.py`, `backends/nowhere.py` and `cli/`")
    assert names == ["backends/nowhere.py", "cli/", "sheets_sync/sync.py"]
    assert not any((base / "backends/nowhere.py").exists() for base in BASES)
