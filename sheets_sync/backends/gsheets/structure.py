"""The structure a write plan needs, as spreadsheets.batchUpdate requests: tabs, header cells, tick boxes
and date formats, status colors, protections, grid growth, and the summary tab's chart. Only what differs
from the sheet as read is asked for, and the run's view of the sheet is updated as if it were applied."""

from __future__ import annotations

from typing import Any

from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.plan import TabWrite, WritePlan, column_positions
from sheets_sync.schema import CYCLE_STATUSES, LOG, Kind, Owner
from sheets_sync.summary import SummaryLayout

from . import request_bodies as rq
from .client import SheetsClient
from .protections import Protections
from .view import MIN_COLUMNS, MIN_ROWS, ROW_MARGIN, SheetView

FORMAT_FIELDS = "sheets(properties.title,data.rowData.values(dataValidation,userEnteredFormat.numberFormat))"


class Structure:
    """Builds one run's structure requests against the view of the sheet."""

    def __init__(
        self, view: SheetView, config: Config, client: SheetsClient, protections: Protections
    ) -> None:
        self.view = view
        self.config = config
        self.client = client
        self.protections = protections
        self._formats: dict[str, dict[int, str]] = {}

    def requests(self, plan: WritePlan) -> list[dict[str, Any]]:
        """The batchUpdate requests that bring tabs, headers, formats, colors, protections and the chart
        to what `plan` needs; the view of the sheet is updated as if they were applied."""
        view, log = self.view, self.config.tabs.log
        out: list[dict[str, Any]] = []
        self.protections.start()
        tabs = list(plan.tabs)
        if plan.create_log or log not in view.sheets:
            tabs.append(TabWrite(log, LOG, create=True))
        elif column_positions(view.headers.get(log, []), LOG)[1]:
            # A log from before a column existed (the channel): its header gains it; old lines stay as read.
            tabs.append(TabWrite(log, LOG, create=False))
        self._formats = self._read_formats([t.tab for t in tabs]) if plan.reformat else {}
        for tw in tabs:
            out += self._shape_tab(tw, reformat=plan.reformat)
        if plan.log_room:
            out += self._log_room(plan.log_room)
        if plan.summary is not None:
            out += self._shape_summary(plan.summary)
        return out

    def _read_formats(self, titles: list[str]) -> dict[str, dict[int, str]]:
        """Which columns already have tick boxes or a date format (row 2), so `init` repeats nothing."""
        titles = [t for t in titles if t in self.view.sheets]
        if not titles:
            return {}
        meta = self.client.metadata(
            {
                "includeGridData": "true",
                "ranges": [f"{rq.a1_tab(t)}!2:2" for t in titles],
                "fields": FORMAT_FIELDS,
            }
        )
        found: dict[str, dict[int, str]] = {}
        for sheet in meta.get("sheets", []):
            kinds: dict[int, str] = {}
            for block in sheet.get("data", []):
                for row in block.get("rowData", [])[:1]:
                    for col, value in enumerate(row.get("values", [])):
                        if value.get("dataValidation", {}).get("condition", {}).get("type") == "BOOLEAN":
                            kinds[col] = "checkbox"
                        elif value.get("userEnteredFormat", {}).get("numberFormat", {}).get("type") == "DATE":
                            kinds[col] = "date"
            found[sheet.get("properties", {}).get("title", "")] = kinds
        return found

    def _log_room(self, rows: int) -> list[dict[str, Any]]:
        """Empty rows below the log for the run's messages, so the final values.batchUpdate can hold them
        (a value write outside a tab's grid is refused)."""
        title = self.config.tabs.log
        grid = self.view.grid(title)
        have = grid.get("rowCount", MIN_ROWS)
        needed = max(self.view.log_end, 1) + rows
        if needed <= have:
            return []
        extra = needed + ROW_MARGIN - have
        grid["rowCount"] = have + extra
        return [rq.append_dimension(self.view.sheet_id(title), "ROWS", extra)]

    def _add_tab(self, title: str, rows: int, columns: int) -> dict[str, Any]:
        """A new tab, only as wide as its columns (the log: 8, not Google's default 26): every cell of the
        grid counts against the spreadsheet's 10 million."""
        sheet_id = self.view.new_sheet_id(title)
        grid = {"rowCount": max(MIN_ROWS, rows + ROW_MARGIN), "columnCount": max(columns, 1)}
        self.view.sheets[title] = {
            "properties": {
                "sheetId": sheet_id,
                "title": title,
                "gridProperties": {**grid, "frozenRowCount": 1},
            },
            "conditionalFormats": [],
            "protectedRanges": [],
        }
        self.view.snapshot[title] = []
        return rq.add_sheet(sheet_id, title, grid["rowCount"], grid["columnCount"])

    def _shape_tab(self, tw: TabWrite, reformat: bool) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        title = tw.tab
        rows = self.view.snapshot.get(title, [])
        used_width = max((len(r) for r in rows), default=0)
        positions, new_headers = column_positions(self.view.headers.get(title, []), tw.spec, used_width)
        width = max([used_width, *[c + 1 for c in new_headers]], default=0)
        needed_rows = max(len(rows), 1) + len(tw.appends) + 1
        if title not in self.view.sheets:
            out.append(self._add_tab(title, needed_rows, width))
        sheet_id = self.view.sheet_id(title)
        grid = self.view.grid(title)
        if width > grid.get("columnCount", MIN_COLUMNS):
            out.append(rq.append_dimension(sheet_id, "COLUMNS", width - grid["columnCount"]))
            grid["columnCount"] = width
        grew = needed_rows > grid.get("rowCount", MIN_ROWS)
        if grew:
            extra = needed_rows + ROW_MARGIN - grid.get("rowCount", MIN_ROWS)
            out.append(rq.append_dimension(sheet_id, "ROWS", extra))
            grid["rowCount"] = grid.get("rowCount", MIN_ROWS) + extra
        if new_headers:
            out += self._new_headers(title, sheet_id, width, new_headers)
        if grid.get("frozenRowCount", 0) < 1:
            out.append(rq.freeze_header(sheet_id))
            grid["frozenRowCount"] = 1
        fresh = set(new_headers) if not (reformat or grew) else set(positions.values())
        out += self._formats_of(tw, sheet_id, positions, fresh, grew)
        sheet = self.view.sheets[title]
        out += self._colors(sheet, tw, positions)
        out += self.protections.changes(sheet, tw, positions, rows)
        return out

    def _new_headers(
        self, title: str, sheet_id: int, width: int, new_headers: dict[int, str]
    ) -> list[dict[str, Any]]:
        header: list[Cell] = list(self.view.headers.get(title, []))
        header += [None] * (width - len(header))
        for pos, text in new_headers.items():
            header[pos] = text
        self.view.headers[title] = header
        self.view.snapshot[title] = [header, *self.view.snapshot.get(title, [])[1:]]
        return rq.header_cells(sheet_id, new_headers)

    def _formats_of(
        self, tw: TabWrite, sheet_id: int, positions: dict[str, int], fresh: set[int], grew: bool
    ) -> list[dict[str, Any]]:
        """Tick boxes and the sync's date format for the columns that are new (or all, to reformat)."""
        out: list[dict[str, Any]] = []
        have = self._formats.get(tw.tab, {})
        for spec_col in tw.spec.columns:
            at = positions.get(spec_col.key)
            if at is None or at not in fresh:
                continue
            if spec_col.kind is Kind.TICK and (grew or have.get(at) != "checkbox"):
                out.append(rq.checkbox(sheet_id, at))
            elif spec_col.kind is Kind.DATE and spec_col.owner is Owner.SYNC and have.get(at) != "date":
                out.append(rq.date_format(sheet_id, at))
        return out

    def _colors(self, sheet: dict[str, Any], tw: TabWrite, positions: dict[str, int]) -> list[dict[str, Any]]:
        status_col, problems_col = positions.get("status"), positions.get("problems")
        if status_col is None and problems_col is None:
            return []
        sheet_id = int(sheet["properties"]["sheetId"])
        desired = rq.status_rules(sheet_id, status_col if tw.statuses else None, problems_col, tw.statuses)
        existing = sheet.get("conditionalFormats", [])
        labels = {s.label for s in tw.statuses}
        columns = {c for c in (status_col, problems_col) if c is not None}
        ours = [(i, r) for i, r in enumerate(existing) if rq.is_ours(r, labels, columns)]
        if sorted(rq.rule_signature(r) for _, r in ours) == sorted(rq.rule_signature(r) for r in desired):
            return []
        out: list[dict[str, Any]] = [
            {"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": i}}
            for i, _ in sorted(ours, reverse=True)
        ]
        out += [{"addConditionalFormatRule": {"rule": rule, "index": n}} for n, rule in enumerate(desired)]
        kept = [r for i, r in enumerate(existing) if i not in {j for j, _ in ours}]
        sheet["conditionalFormats"] = desired + kept
        return out

    # -- the summary tab ------------------------------------------------------------------------------
    def _shape_summary(self, layout: SummaryLayout) -> list[dict[str, Any]]:
        title = self.config.tabs.summary
        grid_values = layout.rows
        view = self.view
        out: list[dict[str, Any]] = []
        width = max((len(r) for r in grid_values), default=1)
        rows_needed = max(len(grid_values), len(view.snapshot.get(title, []))) + 30
        if title not in view.sheets:
            sheet_id = view.new_sheet_id(title)
            props = {"rowCount": max(MIN_ROWS, rows_needed), "columnCount": max(width, 1)}
            out.append(
                {"addSheet": {"properties": {"sheetId": sheet_id, "title": title, "gridProperties": props}}}
            )
            view.sheets[title] = {
                "properties": {"sheetId": sheet_id, "title": title, "gridProperties": props},
                "charts": [],
            }
            view.snapshot[title] = []
        sheet_id = view.sheet_id(title)
        grid = view.grid(title)
        if rows_needed > grid.get("rowCount", MIN_ROWS):
            out.append(rq.append_dimension(sheet_id, "ROWS", rows_needed - grid.get("rowCount", MIN_ROWS)))
            grid["rowCount"] = rows_needed
        if width > grid.get("columnCount", MIN_COLUMNS):
            out.append(rq.append_dimension(sheet_id, "COLUMNS", width - grid.get("columnCount", MIN_COLUMNS)))
            grid["columnCount"] = width
        if not grid_values:
            # `init` only makes sure the tab exists; the chart is the sync's, drawn from the table it writes.
            return out
        return out + self._chart(title, layout)

    def _chart(self, title: str, layout: SummaryLayout) -> list[dict[str, Any]]:
        """The summary's chart of statuses per cycle: added, redrawn when its rows changed, or removed."""
        out: list[dict[str, Any]] = []
        sheet_id = self.view.sheet_id(title)
        cycles = len(layout.cycle_rows)
        charts = self.view.sheets[title].get("charts", [])
        ours = [c for c in charts if c.get("spec", {}).get("title") == layout.chart_title]
        for extra in ours[1:]:
            out.append({"deleteEmbeddedObject": {"objectId": extra["chartId"]}})
        if not cycles:
            if ours:
                out.append({"deleteEmbeddedObject": {"objectId": ours[0]["chartId"]}})
            return out
        spec = rq.chart_spec(
            sheet_id,
            layout.chart_header_row,
            cycles,
            layout.first_status_col,
            list(CYCLE_STATUSES[: layout.status_cols]),
            layout.chart_title,
        )
        if not ours:
            anchor = {"sheetId": sheet_id, "rowIndex": len(layout.rows) + 2, "columnIndex": 0}
            position = {"overlayPosition": {"anchorCell": anchor, "widthPixels": 720, "heightPixels": 360}}
            out.append({"addChart": {"chart": {"spec": spec, "position": position}}})
        elif rq.chart_rows(ours[0].get("spec", {})) != rq.chart_rows(spec):
            out.append({"updateChartSpec": {"chartId": ours[0]["chartId"], "spec": spec}})
        return out


def replace_tab_requests(
    view: SheetView, name: str, rows: list[list[Cell]]
) -> tuple[str, list[dict[str, Any]]]:
    """The tab `name` (matched whatever its case) as the spreadsheet spells it, and the requests that make its
    content `rows` (values only; merges undone, the rest cleared), adding the tab when it is missing."""
    title = next((t for t in view.sheets if t.casefold() == name.casefold()), None)
    height, width = max(len(rows), 1), max([len(r) for r in rows] + [1])
    out: list[dict[str, Any]] = []
    if title is None:
        title, sheet_id = name, view.new_sheet_id(name)
        grid = {"rowCount": height, "columnCount": width}
        out.append({"addSheet": {"properties": {"sheetId": sheet_id, "title": name, "gridProperties": grid}}})
    else:
        sheet_id = view.sheet_id(title)
        grid = view.sheets[title]["properties"].get("gridProperties", {})
        out.append({"unmergeCells": {"range": {"sheetId": sheet_id}}})
        for dimension, have, need in (
            ("ROWS", grid.get("rowCount", MIN_ROWS), height),
            ("COLUMNS", grid.get("columnCount", MIN_COLUMNS), width),
        ):
            if need > have:
                out.append(rq.append_dimension(sheet_id, dimension, need - have))
    out.append(
        {
            "updateCells": {
                "range": {"sheetId": sheet_id},
                "rows": [{"values": [rq.cell_data(v) for v in row]} for row in rows],
                "fields": "userEnteredValue,userEnteredFormat.numberFormat",
            }
        }
    )
    return title, out
