"""The short account of a run: counts per status per cycle, messages, problems; as text and as Markdown."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from sheets_sync.errors import SheetsSyncError
from sheets_sync.model import FINAL_FAILURES, CycleKey, MessageKind
from sheets_sync.outgoing import for_terminal
from sheets_sync.schema import CYCLE_STATUSES
from sheets_sync.selection import Selection, select
from sheets_sync.summary import CycleSummary
from sheets_sync.sync import SyncResult
from sheets_sync.thaidates import thai_date


class StepSummaryError(SheetsSyncError):
    """The step summary could not be written; the run itself is not affected."""


COLUMNS = (
    CycleKey.CERTIFIED,
    CycleKey.DONE,
    CycleKey.CONFIRMED,
    CycleKey.MISSED,
    CycleKey.OVERDUE,
    CycleKey.DUE_SOON,
    CycleKey.SUBMITTED,
    CycleKey.PENDING,
    CycleKey.NOT_OPEN,
    CycleKey.INACTIVE,
)
# The statuses as the run's account prints them: their keys, with spaces.
SHORT = {k: k.replace("_", " ") for k in COLUMNS}


def status_rows(summaries: list[CycleSummary]) -> list[list[str]]:
    """One row per cycle: id, schools, each status count, on-time rate."""
    rows = []
    for cs in summaries:
        t = cs.total
        rate = f"{t.on_time_rate:.1f}%" if t.on_time_rate is not None else "-"
        rows.append([cs.result.cycle.cycle_id, str(t.schools), *[str(t.by_status[k]) for k in COLUMNS], rate])
    return rows


def status_table(summaries: list[CycleSummary]) -> str:
    """A plain text table for the terminal."""
    header = ["cycle", "schools", *[SHORT[k] for k in COLUMNS], "on time"]
    rows = status_rows(summaries)
    if not rows:
        return "no open cycles"
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in [header, *rows]]  # fmt: skip
    return "\n".join(line.rstrip() for line in lines)


def message_counts(result: SyncResult) -> Counter[str]:
    return Counter(m.result for m in result.messages)


def text_summary(result: SyncResult) -> str:
    """What the CLI prints after a sync."""
    ev = result.evaluation
    counts = message_counts(result)
    lines = [
        f"sheets-sync {ev.today.isoformat()} ({thai_date(ev.today)})",
        "",
        status_table(result.summaries),
        "",
    ]
    if ev.requests:
        g = Counter(r.status.key for r in ev.requests)
        lines.append("G-code: " + ", ".join(f"{k} {n}" for k, n in sorted(g.items())))
    sent = ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "none"
    lines.append(f"messages ({result.transport}): {sent}")
    if result.api_calls:
        calls = ", ".join(f"{k} {n}" for k, n in sorted(result.api_calls.items()))
        lines.append(f"Sheets API calls: {sum(result.api_calls.values())} ({calls})")
    lines.append(
        f"problems: {len(ev.problems)}"
        + (" (run 'sheets-sync validate' to list them)" if ev.problems else "")
    )
    for w in result.warnings:
        lines.append(f"warning: {w}")
    if result.mail_error:
        lines.append(f"mail failed: {result.mail_error}")
    return "\n".join(lines)


def refusals(result: SyncResult) -> str:
    """One line when the mail server refused messages for good (the run then fails), else ''."""
    refused = [m for m in result.messages if m.result in FINAL_FAILURES]
    if not refused:
        return ""
    digest = " (the digest among them)" if any(m.kind == MessageKind.DIGEST for m in refused) else ""
    noun = "message was" if len(refused) == 1 else "messages were"
    return (
        f"{len(refused)} {noun} refused for good by the mail server{digest}; "
        f"the reasons are in the log tab's result column"
    )


def markdown_summary(result: SyncResult, dry_run: bool = False) -> str:
    """The same for a GitHub Actions run page."""
    ev = result.evaluation
    labels = {s.key: s.label for s in CYCLE_STATUSES}
    trial = " · ทดลอง (dry run): ไม่ได้เขียนชีตหรือส่งอีเมล" if dry_run else ""
    out = [f"### sheets-sync · {thai_date(ev.today)}{trial}", ""]
    rows = status_rows(result.summaries)
    if rows:
        out.append("| รอบ | โรงเรียน | " + " | ".join(labels[k] for k in COLUMNS) + " | ทันเวลา |")
        out.append("|---|" + "---:|" * (len(COLUMNS) + 2))
        out += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        out.append("ยังไม่มีรอบที่เปิดระบบ")
    chosen = select(ev, [cs.result for cs in result.summaries])
    counts = message_counts(result)
    out += [
        "",
        waiting_line(chosen),
        f"**อีเมล** ({result.transport}): "
        + (", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "ไม่มี"),
    ]
    if result.line is not None:
        out.append(f"**LINE**: {result.line.summary().removeprefix('LINE: ')}")
    out.append(f"**ปัญหาในข้อมูล**: {len(chosen.problems)}")
    if result.mail_error:
        out.append(f"**ส่งอีเมลไม่สำเร็จ**: {result.mail_error}")
    return "\n".join(out) + "\n"


def waiting_line(chosen: Selection) -> str:
    """The digest's lists in numbers, for a run page that shows many offices."""
    counts = [
        ("เกินกำหนด", len(chosen.overdue)),
        ("ไม่ทันปิดระบบ", len(chosen.missed)),
        ("ขอความช่วยเหลือ", len(chosen.help_wanted)),
        ("รอเขตรับรอง", len(chosen.to_certify)),
        ("คำขอเลข G รอเขตตรวจสอบ", len(chosen.gcode_queue)),
    ]
    return "**รายการในสรุปประจำวัน**: " + " · ".join(f"{label} {n}" for label, n in counts)


def write_step_summary(result: SyncResult, dry_run: bool = False) -> Path | None:
    """Append the Markdown summary to $GITHUB_STEP_SUMMARY when GitHub Actions provides it. The run's work is
    done by then: a summary that cannot be written is a warning (StepSummaryError), never a failed run."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(for_terminal(markdown_summary(result, dry_run)))
    except OSError as exc:
        raise StepSummaryError(
            f"GITHUB_STEP_SUMMARY {path}: cannot be written ({exc.strerror or exc})"
        ) from None
    return path
