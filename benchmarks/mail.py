"""Mail throughput: school reminders rendered and sent with SmtpTransport to the SMTP test server."""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.process import profile_path, run_child, save_profile, start_profiler
from benchmarks.workbook import RUN_AT, build_workbook, write_config


def child_mail(spec: dict[str, Any]) -> dict[str, Any]:
    """Render `count` school reminders and send them to the local SMTP server, on one connection or one each."""
    from dataclasses import replace

    from sheets_sync.config import load_config
    from sheets_sync.evaluate import evaluate
    from sheets_sync.mail.render import Renderer

    config = load_config(spec["config"])
    today = dt.date.fromisoformat(spec["today"])
    now = dt.datetime.combine(today, RUN_AT, config.zone)
    tabs = build_workbook(spec["schools"], today)
    ev = evaluate(tabs, config, today)
    count = spec["count"]
    reminders = [ev.reminders[i % len(ev.reminders)] for i in range(count)]
    renderer = Renderer(config, lambda tab, row: f"แท็บ {tab} แถว {row}", now)
    settings = replace(
        config.smtp, host="127.0.0.1", port=spec["port"], security="none", max_messages_per_run=0
    )
    out: dict[str, Any] = {"count": count, "distinct_schools": len(ev.reminders)}

    t0 = time.perf_counter()
    rendered = [renderer.school(r, today).message for r in reminders]
    out["render_only_s"] = time.perf_counter() - t0
    out["bytes_per_message"] = statistics.mean(len(m.as_bytes()) for m in rendered[:50])
    del rendered
    out.update(_send(spec, settings, renderer, reminders, today))
    return out


def _send(
    spec: dict[str, Any], settings: Any, renderer: Any, reminders: list[Any], today: dt.date
) -> dict[str, Any]:
    """Render and send every reminder on one connection, then again with one connection per message."""
    from sheets_sync.mail.smtp import SmtpTransport

    out: dict[str, Any] = {}
    profiler = start_profiler(spec)
    t0 = time.perf_counter()
    transport = SmtpTransport(settings)
    transport.open()
    results = [transport.send(renderer.school(r, today).message).result for r in reminders]
    transport.close()
    out["one_connection_s"] = time.perf_counter() - t0
    save_profile(profiler, spec)
    out["one_connection_accepted"] = results.count("accepted")

    t0 = time.perf_counter()
    results = []
    for r in reminders:
        message = renderer.school(r, today).message
        transport = SmtpTransport(settings)
        transport.open()
        results.append(transport.send(message).result)
        transport.close()
    out["per_message_s"] = time.perf_counter() - t0
    out["per_message_accepted"] = results.count("accepted")
    return out


def measure_mail(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """--mail reminders through a fresh SMTP test server; messages a second on one connection and on one each."""
    from tests.support.smtp_server import SmtpTestServer

    config = write_config(work / "mail", {"backend": "xlsx", "path": str(work / "mail" / "unused.xlsx")})
    with SmtpTestServer(security="none") as smtp:
        spec = {
            "config": str(config),
            "today": args.today,
            "port": smtp.port,
            "count": args.mail,
            "schools": args.mail * 4,
            "profile": profile_path(args, "mail"),
        }
        result = run_child("mail", spec, args.timeout)
        result["server_messages"] = len(smtp.messages)
        result["server_connections"] = smtp.connections
    count = result["count"]
    accepted = (result["one_connection_accepted"], result["per_message_accepted"], result["server_messages"])
    if accepted != (count, count, 2 * count):
        result["note"] = (
            f"accepted {accepted[0]} + {accepted[1]}, the server kept {accepted[2]}, of {count} + {count}"
        )
    result["one_connection_per_s"] = count / result["one_connection_s"]
    result["per_message_per_s"] = count / result["per_message_s"]
    result["ratio"] = result["one_connection_per_s"] / result["per_message_per_s"]
    result["render_ms"] = 1000 * result["render_only_s"] / count
    return result
