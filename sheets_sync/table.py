"""Finding columns by header text, so officers may reorder columns and add their own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sheets_sync.cells import Cell
from sheets_sync.errors import WorkbookError
from sheets_sync.model import Problem
from sheets_sync.schema import Column, TabSpec, header_aliases, norm_header


@dataclass
class Table:
    """A tab's rows with its columns located: `index[key]` is the 0-based column of that key."""

    name: str
    spec: TabSpec
    rows: list[list[Cell]]
    index: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # The sheet row number of rows[0] (a file imported with title rows above its header starts lower).
    header_row: int = 1

    @classmethod
    def read(cls, name: str, rows: list[list[Cell]], spec: TabSpec, header_row: int = 1) -> Table:
        """Locate the spec's columns in the header row; duplicates and missing required ones are problems."""
        table = cls(name, spec, rows, header_row=header_row)
        header = rows[0] if rows else []
        wanted = {alias: col for col in spec.columns for alias in header_aliases(col)}
        for pos, text in enumerate(header):
            col = wanted.get(norm_header(text))
            if col is None:
                continue
            if col.key in table.index:
                table.problems.append(
                    Problem(name, header_row, str(text), f"หัวคอลัมน์ซ้ำ ใช้คอลัมน์แรกเท่านั้น ({col.label})")
                )
                continue
            table.index[col.key] = pos
        return table

    @property
    def missing_required(self) -> list[Column]:
        return [c for c in self.spec.columns if c.required and c.key not in self.index]

    @property
    def missing(self) -> list[Column]:
        return [c for c in self.spec.columns if c.key not in self.index]

    def require(self) -> None:
        """Raise WorkbookError naming the tab and the first required header that is missing."""
        for col in self.missing_required:
            raise WorkbookError(
                f"tab {self.name!r}: required column {col.label!r} ({col.key}) not found in row 1; "
                f"add that header or run 'sheets-sync init' to create the tab"
            )

    def has(self, key: str) -> bool:
        return key in self.index

    def raw_records(self) -> Iterator[tuple[int, list[Cell]]]:
        """(sheet row number, the row's cells as read) for each row that is not entirely blank."""
        for offset, row in enumerate(self.rows[1:], start=self.header_row + 1):
            for v in row:
                if v is not None and (not isinstance(v, str) or v.strip()):
                    yield offset, row
                    break

    def values_of(self, row: list[Cell]) -> dict[str, Cell]:
        """{key: raw cell} of one row; a column beyond the row's end reads as None."""
        n = len(row)
        return {key: (row[pos] if pos < n else None) for key, pos in self.index.items()}

    def records(self) -> Iterator[tuple[int, dict[str, Cell]]]:
        """(sheet row number, {key: raw cell}) for each row that is not entirely blank."""
        index = list(self.index.items())
        width = max((pos for _, pos in index), default=-1) + 1
        for offset, row in self.raw_records():
            if len(row) >= width:
                yield offset, {key: row[pos] for key, pos in index}
            else:
                yield offset, self.values_of(row)

    def label(self, key: str) -> str:
        """The header as the sheet spells it, for problem messages."""
        pos = self.index.get(key)
        if pos is not None and self.rows and pos < len(self.rows[0]):
            return str(self.rows[0][pos]).strip()
        return self.spec.column(key).label
