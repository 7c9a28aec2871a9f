"""The officer's daily digest in LINE: a Flex bubble built from the evaluation and the run's LINE tally.

Pure, like messages.py; every text a person typed goes through `guard` (the personal-data guard).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sheets_sync.digest_rule import STATE_PREFIX
from sheets_sync.evaluate import Evaluation
from sheets_sync.line.messages import ALT_TEXT_LIMIT, LineMessage, LineTally, clip, guard
from sheets_sync.model import CycleKey, MessageKind
from sheets_sync.reminders import digest_step
from sheets_sync.selection import SchoolItem, select
from sheets_sync.summary import CycleSummary
from sheets_sync.thaidates import thai_date, thai_date_short, thai_weekday

# How many schools each digest list names, worst first (a LINE bubble stays short).
LIST_LIMIT = 5
GREEN = "#06C755"
RED = "#C0392B"


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": text or " ", "wrap": True, "size": "sm", **style}


def _row(label: str, value: str, color: str = "#111111") -> dict[str, Any]:
    return {
        "type": "box",
        "layout": "baseline",
        "spacing": "sm",
        "contents": [
            _text(label, color="#666666", flex=5),
            _text(value, color=color, flex=3, align="end", weight="bold"),
        ],
    }


def _section(title: str, lines: list[str], more: int, color: str = "#111111") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"type": "separator", "margin": "lg"},
        _text(title, weight="bold", margin="lg", color=color),
    ]
    out += [_text(line, color="#333333", size="xs") for line in lines]
    if more:
        out.append(_text(f"และอีก {more} รายการในชีต", color="#888888", size="xs"))
    return out


@dataclass(frozen=True)
class DigestFacts:
    """The digest's content, worked out once for the bubble and its alternative text."""

    cycles: list[tuple[str, int, int, int, float | None]]  # title, schools, confirmed, overdue, on-time %
    overdue: list[str]
    overdue_total: int
    help_wanted: list[str]
    help_total: int
    to_certify: list[str]
    certify_total: int
    gcode: tuple[int, int, int]  # awaiting verification, of which overdue, awaiting DMC


def digest_facts(ev: Evaluation, summaries: list[CycleSummary]) -> DigestFacts:
    """Per open cycle the counts and on-time rate; then the selection's first schools of each list (the worst
    overdue, the longest waiting for help, certification) and the G-code queue in numbers."""
    chosen = select(ev, [cs.result for cs in summaries])
    return DigestFacts(
        [
            _cycle_counts(cs)
            for cs in summaries
            if cs.result.cycle.active and ev.today >= cs.result.cycle.opens_on
        ],
        [_overdue_line(i) for i in chosen.overdue[:LIST_LIMIT]],
        len(chosen.overdue),
        [_help_line(i) for i in chosen.help_wanted[:LIST_LIMIT]],
        len(chosen.help_wanted),
        [_certify_line(i) for i in chosen.to_certify[:LIST_LIMIT]],
        len(chosen.to_certify),
        (len(chosen.gcode_queue), chosen.gcode_verification_overdue, len(chosen.gcode_with_schools)),
    )


def _cycle_counts(cs: CycleSummary) -> tuple[str, int, int, int, float | None]:
    total = cs.total
    return (
        cs.result.cycle.display_title,
        total.schools,
        total.confirmed,
        total.by_status[CycleKey.OVERDUE],
        total.on_time_rate,
    )


def _named(item: SchoolItem) -> str:
    return f"{item.school.name} ({item.cycle.cycle_id})"


def _overdue_line(item: SchoolItem) -> str:
    return f"{_named(item)}: {item.status.days_late} วัน"


def _help_line(item: SchoolItem) -> str:
    note = guard(item.school_note) if item.school_note else ""
    return f"{_named(item)}{': ' + note if note else ''}"


def _certify_line(item: SchoolItem) -> str:
    certify_by = item.cycle.certify_by
    by = f" (ภายใน {thai_date_short(certify_by)})" if certify_by else ""
    return f"{_named(item)}{' เลยกำหนดแล้ว' if item.late_for_officer else by}"


def digest_message(
    ev: Evaluation,
    summaries: list[CycleSummary],
    office: str,
    to: str,
    sheet_url: str,
    tally: LineTally,
) -> LineMessage:
    """The officer's daily digest as a Flex bubble, with a plain alternative text for notifications."""
    facts = digest_facts(ev, summaries)
    day = f"{thai_weekday(ev.today)}ที่ {thai_date(ev.today)}"
    bubble = _bubble(day, office, _body(facts, tally), sheet_url)
    flex = {"type": "flex", "altText": clip(_alt_text(day, facts, tally), ALT_TEXT_LIMIT), "contents": bubble}
    step = digest_step(ev.today)
    # The picture's fingerprint is remembered with the digest (digest_rule), but is not its identity: a
    # rerun the same day is the same digest for LINE's retry key.
    items = (step, f"{STATE_PREFIX}{ev.digest_state}") if ev.digest_state else (step,)
    return LineMessage(MessageKind.DIGEST, "", to, items, (flex,), identity=(step,))


def _body(facts: DigestFacts, tally: LineTally) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = []
    for title, schools, confirmed, overdue, rate in facts.cycles:
        body += [
            {"type": "separator", "margin": "lg"},
            _text(title, weight="bold", margin="lg"),
            _row("ยืนยันแล้ว", f"{confirmed}/{schools}"),
            _row("เกินกำหนด", str(overdue), RED if overdue else "#111111"),
            _row("ส่งตรงเวลา", "-" if rate is None else f"{rate:.0f}%"),
        ]
    if body:
        body = body[1:]  # no line above the first cycle
    else:
        body.append(_text("ไม่มีรอบรายงานที่เปิดอยู่", color="#666666", margin="lg"))
    if facts.overdue:
        body += _section("เกินกำหนดมากที่สุด", facts.overdue, facts.overdue_total - len(facts.overdue), RED)
    if facts.help_wanted:
        body += _section("ขอความช่วยเหลือ", facts.help_wanted, facts.help_total - len(facts.help_wanted))
    if facts.to_certify:
        body += _section("รอเขตรับรอง", facts.to_certify, facts.certify_total - len(facts.to_certify))
    awaiting, late, dmc = facts.gcode
    if awaiting or dmc:
        body += [
            {"type": "separator", "margin": "lg"},
            _text("คิวคำขอเลข G", weight="bold", margin="lg"),
            _row("รอเขตตรวจสอบ", str(awaiting)),
            _row("เกินกำหนดตรวจสอบ", str(late), RED if late else "#111111"),
            _row("รอโรงเรียนเพิ่มใน DMC", str(dmc)),
        ]
    notes = _line_notes(tally)
    if notes:
        body += _section("LINE", notes, 0, GREEN)
    return body


def _bubble(day: str, office: str, body: list[dict[str, Any]], sheet_url: str) -> dict[str, Any]:
    bubble: dict[str, Any] = {
        "type": "bubble",
        "size": "mega",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": GREEN,
            "contents": [
                _text("สรุปประจำวัน", weight="bold", color="#FFFFFF", size="lg"),
                _text(day, color="#FFFFFF", size="xs"),
                _text(office, color="#FFFFFF", size="xs"),
            ],
        },
        "body": {"type": "box", "layout": "vertical", "contents": body},
    }
    if sheet_url.startswith("https://"):
        button = {
            "type": "button",
            "style": "primary",
            "color": GREEN,
            "height": "sm",
            "action": {"type": "uri", "label": "เปิดชีต", "uri": sheet_url},
        }
        bubble["footer"] = {"type": "box", "layout": "vertical", "contents": [button]}
    return bubble


def _line_notes(tally: LineTally) -> list[str]:
    notes = []
    if tally.sent:
        notes.append(f"ส่งถึงโรงเรียนทาง LINE {tally.sent} ข้อความ")
    if tally.held:
        notes.append(f"พักไว้ {tally.held} ข้อความ: โควตาข้อความของเดือนนี้ไม่พอ (อีเมลยังส่งตามปกติ)")
    notes += [f"ส่งไม่สำเร็จ: {f}" for f in tally.failed[:LIST_LIMIT]]
    if len(tally.failed) > LIST_LIMIT:
        notes.append(f"ส่งไม่สำเร็จอีก {len(tally.failed) - LIST_LIMIT} ข้อความ (ดูแท็บบันทึกการแจ้งเตือน)")
    return notes


def _alt_text(day: str, facts: DigestFacts, tally: LineTally) -> str:
    parts = [f"สรุปประจำวัน{day}"]
    parts += [f"{t}: ยืนยัน {c}/{s} เกินกำหนด {o}" for t, s, c, o, _ in facts.cycles]
    parts.append(f"ขอความช่วยเหลือ {facts.help_total} · รอเขตรับรอง {facts.certify_total}")
    if tally.held:
        parts.append(f"LINE พักไว้ {tally.held} ข้อความ (โควตาเต็ม)")
    return "\n".join(parts)
