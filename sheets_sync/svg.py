"""Charts as inline SVG, drawn from plain numbers: stacked bars per district, a cumulative curve."""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape

from sheets_sync.schema import StatusLook
from sheets_sync.thaidates import thai_date_short

FONT = "Sarabun, Loma, Garuda, Norasi, Tahoma, sans-serif"


def _text(x: float, y: float, content: str, size: int = 12, anchor: str = "start", fill: str = "#333",
          weight: str = "normal") -> str:  # fmt: skip
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
        f'font-weight="{weight}" font-family="{FONT}">{escape(content)}</text>'
    )


# A status with no color in the sheet (pending: a white cell) is drawn white with a grey outline, so
# that its bar shows on the white page.
NO_FILL, NO_FILL_STROKE = "FFFFFF", "#888"


def stacked_bars(
    rows: list[tuple[str, dict[str, int], str]],
    statuses: list[StatusLook],
    label: str = "สถานะรายอำเภอ",
    width: int = 680,
) -> str:
    """One horizontal bar per row (label, counts by status key, note at the end), segments in status colors."""
    label_w, note_w, bar_h, gap = 150, 70, 22, 10
    legend: list[tuple[float, float, StatusLook]] = []
    x, y = float(label_w), 6.0
    for s in statuses:
        step = 16 + 11 * len(s.label) * 0.62 + 14
        if x + step > width and x > label_w:
            x, y = float(label_w), y + 18
        legend.append((x, y, s))
        x += step
    top = int(y) + 28
    height = top + len(rows) * (bar_h + gap) + 10
    scale_w = width - label_w - note_w - 10
    biggest = max((sum(c.values()) for _, c, _ in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}">'
    ]
    for lx, ly, s in legend:
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly:.1f}" width="12" height="12" fill="#{s.fill or NO_FILL}" stroke="#999"/>'
        )
        parts.append(_text(lx + 16, ly + 10, s.label, 11))
    for i, (name, counts, note) in enumerate(rows):
        y = float(top + i * (bar_h + gap))
        parts.append(_text(label_w - 8, y + bar_h * 0.7, name, 12, "end"))
        cursor = float(label_w)
        for s in statuses:
            n = counts.get(s.key, 0)
            if not n:
                continue
            w = scale_w * n / biggest
            stroke = "#fff" if s.fill else NO_FILL_STROKE
            parts.append(
                f'<rect x="{cursor:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#{s.fill or NO_FILL}" '
                f'stroke="{stroke}"><title>{escape(f"{name}: {s.label} {n}")}</title></rect>'
            )
            if w >= 18:
                parts.append(_text(cursor + w / 2, y + bar_h * 0.7, str(n), 11, "middle"))
            cursor += w
        parts.append(_text(width - note_w + 4, y + bar_h * 0.7, note, 12, "start", "#333", "bold"))
    parts.append("</svg>")
    return "".join(parts)


def cumulative_curve(
    points: list[tuple[dt.date, int]],
    start: dt.date,
    end: dt.date,
    due_on: dt.date,
    total: int,
    width: int = 680,
    height: int = 260,
) -> str:
    """Confirmations so far by day (a step line) against the deadline and the number of schools."""
    left, right, top, bottom = 46, 16, 16, 40
    days = max((end - start).days, 1)
    ymax = max(total, max((n for _, n in points), default=0), 1)

    def px(day: dt.date) -> float:
        return left + (width - left - right) * (day - start).days / days

    def py(n: int) -> float:
        return top + (height - top - bottom) * (1 - n / ymax)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="จำนวนโรงเรียนที่ยืนยันข้อมูลสะสมรายวัน">',
        f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" fill="#fafafa" '
        f'stroke="#ddd"/>',
    ]
    for frac in (0, 0.25, 0.5, 0.75, 1):
        n = round(ymax * frac)
        y = py(n)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(_text(left - 6, y + 4, str(n), 11, "end", "#666"))
    parts.append(
        f'<line x1="{left}" y1="{py(total):.1f}" x2="{width - right}" y2="{py(total):.1f}" stroke="#6aa84f" '
        f'stroke-dasharray="4 3"/>'
    )
    parts.append(_text(width - right - 4, py(total) - 5, f"ทั้งหมด {total} โรง", 11, "end", "#38761d"))
    if start <= due_on <= end:
        x = px(due_on)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" stroke="#cc0000" stroke-width="2"/>'
        )
        near_end = x > width - right - 140
        parts.append(
            _text(x - 4 if near_end else x + 4, top + 14, f"กำหนดส่ง {thai_date_short(due_on)}", 11,
                  "end" if near_end else "start", "#cc0000")
        )  # fmt: skip
    path: list[str] = []
    last = 0
    for day, n in sorted(points):
        if day < start or day > end:
            continue
        path.append(f"L{px(day):.1f},{py(last):.1f} L{px(day):.1f},{py(n):.1f}")
        last = n
    line = f"M{px(start):.1f},{py(0):.1f} " + " ".join(path) + f" L{px(end):.1f},{py(last):.1f}"
    parts.append(f'<path d="{line}" fill="none" stroke="#1a73e8" stroke-width="2.5"/>')
    parts.append(_text(px(start), height - bottom + 16, thai_date_short(start), 11, "start", "#666"))
    parts.append(_text(px(end), height - bottom + 16, thai_date_short(end), 11, "end", "#666"))
    parts.append("</svg>")
    return "".join(parts)
