"""The floor: json alone on the sync's own read and write, the least any client in Python must spend."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from benchmarks.process import ChildFailed, run_child


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def save_read_response(server: Any, sid: str, path: Path) -> None:
    """The read's batchGet exactly as the backend asks it, fetched before the clock (not counted).

    The server adds a response's bytes to its count just after sending it: this waits for that, so that the
    sync's count, reset next, does not take this response in.
    """
    import requests

    params = [("ranges", _quoted(t)) for t in server.tabs(sid)] + [
        ("valueRenderOption", "UNFORMATTED_VALUE"),
        ("dateTimeRenderOption", "SERIAL_NUMBER"),
        ("majorDimension", "ROWS"),
        ("prettyPrint", "false"),
    ]
    counted = server.bytes_sent
    resp = requests.get(f"{server.url}/v4/spreadsheets/{sid}/values:batchGet", params=params, timeout=600)
    resp.raise_for_status()
    path.write_bytes(resp.content)
    deadline = time.monotonic() + 10
    while server.bytes_sent - counted < len(resp.content) and time.monotonic() < deadline:
        time.sleep(0.001)


def save_write_body(server: Any, path: Path) -> None:
    """The final write: the values.batchUpdate with the most ranges among the server's calls."""
    bodies = [c.body or {} for c in server.calls if c.kind == "values.batchUpdate"]
    body = max(bodies, key=lambda b: len(b.get("data", [])), default={})
    path.write_text(json.dumps(body), encoding="utf-8")


def child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """json alone: decode the read's batchGet response, encode the write's batchUpdate body (best of 3)."""
    raw = Path(spec["response"]).read_bytes()
    body = json.loads(Path(spec["body"]).read_bytes())
    decode, encode = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        decoded = json.loads(raw)
        decode.append(time.perf_counter() - t0)
        del decoded
        t0 = time.perf_counter()
        encoded = json.dumps(body, allow_nan=False).encode("utf-8")  # as requests encodes json=
        encode.append(time.perf_counter() - t0)
        del encoded
    return {"decode_s": min(decode), "encode_s": min(encode), "floor_s": min(decode) + min(encode)}


def measure_floor(n: int, files: dict[str, Path], timeout: float) -> dict[str, Any]:
    """The floor at N from the files the first gsheets sync left."""
    try:
        result = run_child("floor", {k: str(v) for k, v in files.items()}, timeout)
        mb = {f"{k}_mb": v.stat().st_size / 2**20 for k, v in files.items()}
        result.update(n=n, response_mb=mb["response_mb"], body_mb=mb["body_mb"])
    except ChildFailed as exc:
        result = {"n": n, "error": str(exc)}
    return result
