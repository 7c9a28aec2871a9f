"""What is printed: the tables of the sync, the naive peer, the floor and mail, then the targets and notes."""

from __future__ import annotations

from typing import Any

PHASES = ("read", "evaluate", "prepare", "render", "append_log", "write", "commit", "other")
KIND_SHORT = {
    "values.batchGet": "batchGet",
    "values.batchUpdate": "values.batchUpdate",
    "values.append": "append",
}
# fmt: off
SYNC_HEADERS = [
    "N", "backend", "msgs", "wall s", "cpu s", "server s", "client s", "peak MB", "calls", "up MB", "down MB",
    "wall÷floor", "client÷floor", "calls by kind",
]
NAIVE_HEADERS = [
    "N", "sample", "calls", "wall s", "server s", "calls at N", "quota min", "time at N s", "update_cell calls",
    "quota min", "how",
]
FLOOR_HEADERS = [
    "N", "batchGet MB", "body MB", "decode s", "encode s", "floor s", "sync wall s", "client s", "wall÷floor",
    "client÷floor",
]
# fmt: on


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned."""
    text = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) if text else len(h) for i, h in enumerate(headers)]
    right = [all(_numeric(r[i]) for r in text) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        padded = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True))
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in text)]).rstrip()


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _numeric(s: str) -> bool:
    return s == "-" or s.replace(",", "").replace(".", "").replace("×", "").lstrip("-").isdigit()


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median wall time among those that did not fail (else the first)."""
    ok = sorted((r for r in runs if "error" not in r), key=lambda r: r["wall_s"])
    return ok[(len(ok) - 1) // 2] if ok else runs[0]


def report(results: dict[str, Any]) -> str:
    """The tables, the targets and the notes, as printed."""
    m, opts = results["machine"], results["options"]
    out = [
        f"sheets-sync benchmarks · {m['cpu']} · {m['nproc']} cores · Python {m['python']} · {m['commit']}",
        f"today {opts['today']} · repeats {opts['repeats']} (median shown) · load average "
        f"{m['loadavg_start'][0]:.1f} at the start, {m.get('loadavg_end', [0])[0]:.1f} at the end",
    ]
    floors = {f["n"]: f for f in results["floor"] if "error" not in f}
    out += _sync_section(results, floors) + _naive_section(results) + _floor_section(results, floors)
    out += _mail_section(results.get("mail"))
    out += ["", "Targets"] + [
        f"  [{t['verdict']}] {t['target']}: {t['measured']}" for t in results["targets"]
    ]
    out += ["", "Notes"] + [f"  - {n}" for n in results["notes"]]
    return "\n".join(out)


def _sync_section(results: dict[str, Any], floors: dict[int, dict[str, Any]]) -> list[str]:
    if not results["sync"]:
        return []
    out = ["", "1. Sync: run_sync through make_backend (mail accepted and discarded; log appends included)"]
    out.append(table(SYNC_HEADERS, [_sync_row(e, floors) for e in results["sync"]]))
    rows = []
    for e in results["sync"]:
        r = median_run(e["runs"])
        if "error" not in r:
            p = r["phases_s"]
            rows.append([e["n"], e["backend"], *[p.get(k) for k in PHASES], r["wall_s"] - p.get("render", 0)])
    out += [
        "",
        "   where the wall time goes, s (render: Renderer.school and .digest; other: the rest of run_sync)",
    ]
    out.append(table(["N", "backend", *PHASES, "wall − render"], rows))
    return out


def _sync_row(entry: dict[str, Any], floors: dict[int, dict[str, Any]]) -> list[Any]:
    n, backend, r = entry["n"], entry["backend"], median_run(entry["runs"])
    if "error" in r:
        return [n, backend, *["-"] * (len(SYNC_HEADERS) - 3), r["error"].splitlines()[0][:80]]
    if backend != "gsheets":
        return [n, backend, r["messages"], r["wall_s"], r["cpu_s"], *[None] * 2, r["peak_mb"], *[None] * 6]
    kinds = r["calls_by_kind"]
    client = r["wall_s"] - r["server_s"]
    floor = floors.get(n, {}).get("floor_s")
    return [
        n,
        backend,
        r["messages"],
        r["wall_s"],
        r["cpu_s"],
        r["server_s"],
        client,
        r["peak_mb"],
        r["calls"],
        r["up_bytes"] / 2**20,
        r["down_bytes"] / 2**20,
        r["wall_s"] / floor if floor else None,
        client / floor if floor else None,
        " ".join(f"{KIND_SHORT.get(k, k)} {v}" for k, v in kinds.items()),
    ]


def _naive_section(results: dict[str, Any]) -> list[str]:
    if not results["naive"]:
        return []
    return [
        "",
        "2. Naive gspread peer: read each tab, then one `update` per row and one `append_row` per log row",
        table(NAIVE_HEADERS, [_naive_row(r) for r in results["naive"]]),
    ]


def _naive_row(r: dict[str, Any]) -> list[Any]:
    if "error" in r:
        return [r["n"], *["-"] * (len(NAIVE_HEADERS) - 2), r["error"].splitlines()[0][:80]]
    how = "extrapolated from the sample" if r["extrapolated"] else "measured"
    return [
        r["n"],
        r["sample_schools"],
        r["calls"],
        r["wall_s"],
        r["server_s"],
        r["calls_n"],
        r["quota_min_n"],
        r["time_n_s"],
        r["cell_calls_n"],
        r["cell_quota_min_n"],
        how,
    ]


def _floor_section(results: dict[str, Any], floors: dict[int, dict[str, Any]]) -> list[str]:
    rows = []
    for e in results["sync"]:
        r, f = median_run(e["runs"]), floors.get(e["n"])
        if e["backend"] == "gsheets" and f and "error" not in r:
            client = r["wall_s"] - r["server_s"]
            rows.append(
                [
                    e["n"],
                    f["response_mb"],
                    f["body_mb"],
                    f["decode_s"],
                    f["encode_s"],
                    f["floor_s"],
                    r["wall_s"],
                    client,
                    r["wall_s"] / f["floor_s"],
                    client / f["floor_s"],
                ]
            )
    if not rows:
        return []
    return [
        "",
        "3. Floor: json.loads of the read's batchGet response + json.dumps of the write's batchUpdate body",
        table(FLOOR_HEADERS, rows),
    ]


def _mail_section(mail: dict[str, Any] | None) -> list[str]:
    if mail and "error" in mail:
        return ["", f"4. Mail: {mail['error']}"]
    if not mail:
        return []
    count = mail["count"]
    rows = [
        ["one connection", count, mail["one_connection_s"], mail["one_connection_per_s"], 1],
        ["one per message", count, mail["per_message_s"], mail["per_message_per_s"], count],
        ["render only", count, mail["render_only_s"], count / mail["render_only_s"], 0],
    ]
    return [
        "",
        f"4. Mail: {count:,} school reminders rendered and sent to the local SMTP test server",
        table(["mode", "messages", "seconds", "msg/s", "connections"], rows),
        f"   one connection ÷ one per message: {mail['ratio']:.2f}×",
    ]
