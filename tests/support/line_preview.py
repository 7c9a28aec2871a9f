"""The officer's LINE digest as it appears in the LINE app: the Flex JSON the sync pushes, drawn as HTML.

    python -m tests.support.line_preview docs/line-digest.png

Builds the demo office (`sheets-sync demo`), evaluates it on the demo day, makes the digest message exactly
as the sync does, renders its Flex bubble to HTML (the layout rules of the components the digest uses: box,
text, separator, button) inside a LINE chat frame, and screenshots it with headless Chromium.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SIZES = {"xxs": 11, "xs": 13, "sm": 14, "md": 16, "lg": 19, "xl": 22}
MARGINS = {"none": 0, "xs": 2, "sm": 4, "md": 8, "lg": 12, "xl": 16, "xxl": 20}


def component(c: dict[str, Any], parent_layout: str = "vertical") -> str:
    """One Flex component as HTML; an unknown type is an error (the preview must not hide a part)."""
    style = []
    if c.get("margin"):
        side = "left" if parent_layout in ("horizontal", "baseline") else "top"
        style.append(f"margin-{side}:{MARGINS[c['margin']]}px")
    if "flex" in c:
        style.append(f"flex:{c['flex']} 1 0")
    kind = c["type"]
    if kind == "box":
        layout = c["layout"]
        direction = "column" if layout == "vertical" else "row"
        style += [f"display:flex;flex-direction:{direction}"]
        if layout == "baseline":
            style.append("align-items:baseline")
        if c.get("backgroundColor"):
            style.append(f"background:{c['backgroundColor']}")
        inner = "".join(component(x, layout) for x in c["contents"])
        return f'<div style="{";".join(style)}">{inner}</div>'
    if kind == "text":
        style += [
            f"font-size:{SIZES[c.get('size', 'md')]}px",
            f"color:{c.get('color', '#111111')}",
            f"text-align:{c.get('align', 'start').replace('start', 'left').replace('end', 'right')}",
            "font-weight:bold" if c.get("weight") == "bold" else "",
            "white-space:pre-wrap" if c.get("wrap") else "white-space:nowrap;overflow:hidden",
        ]
        return f'<div style="{";".join(s for s in style if s)}">{html.escape(c["text"])}</div>'
    if kind == "separator":
        return f'<div style="{";".join(style)};border-top:1px solid #e5e5e5"></div>'
    if kind == "button":
        color = c.get("color", "#17c950")
        return (
            f'<div style="{";".join(style)};background:{color};color:#fff;border-radius:6px;text-align:center;'
            f'padding:8px;font-size:15px">{html.escape(c["action"]["label"])}</div>'
        )
    raise ValueError(f"the preview does not draw Flex component {kind!r}")


def bubble_html(flex: dict[str, Any]) -> str:
    """A LINE chat screen with the bubble from the account, and the notification's alternative text."""
    bubble = flex["contents"]
    parts = []
    for block, pad in (("header", "14px 16px"), ("body", "6px 16px 16px"), ("footer", "0 16px 14px")):
        if block in bubble:
            parts.append(f'<div style="padding:{pad};{_bg(bubble[block])}">{component(bubble[block])}</div>')
    return f"""<!doctype html><html lang="th"><head><meta charset="utf-8"><style>
body {{ margin:0; background:#8cabd9; font-family:'Noto Sans Thai','Noto Sans',sans-serif; }}
.top {{ background:#2b3a55; color:#fff; padding:12px 16px; font-size:16px; font-weight:bold; }}
.notice {{ margin:10px 16px; background:rgba(0,0,0,.25); color:#fff; border-radius:12px; padding:6px 10px;
  font-size:12px; white-space:pre-wrap; }}
.row {{ display:flex; gap:8px; padding:6px 12px 16px; align-items:flex-start; }}
.avatar {{ width:36px; height:36px; border-radius:50%; background:#06c755; color:#fff; font-size:11px;
  display:flex; align-items:center; justify-content:center; flex:none; }}
.bubble {{ width:340px; background:#fff; border-radius:16px; overflow:hidden; }}
</style></head><body>
<div class="top">กลุ่มเจ้าหน้าที่ติดตามข้อมูล</div>
<div class="notice">การแจ้งเตือน: {html.escape(flex["altText"])}</div>
<div class="row"><div class="avatar">สพป.</div><div class="bubble">{"".join(parts)}</div></div>
</body></html>"""


def _bg(block: dict[str, Any]) -> str:
    return f"background:{block['backgroundColor']}" if block.get("backgroundColor") else ""


def demo_digest() -> dict[str, Any]:
    """The digest message the sync would push for the demo office on the demo day."""
    from sheets_sync.backends.factory import make_backend
    from sheets_sync.config import load_config
    from sheets_sync.demo import DEMO_TODAY, create_demo
    from sheets_sync.evaluate import evaluate
    from sheets_sync.line.digest import digest_message
    from sheets_sync.line.messages import LineTally
    from sheets_sync.summary import summarize

    with tempfile.TemporaryDirectory() as folder:
        config_path = create_demo(Path(folder))
        config = load_config(config_path)
        ev = evaluate(make_backend(config).read(), config, DEMO_TODAY)
    sheet = "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUvWxYz/edit"
    tally = LineTally(sent=41, held=0, failed=())
    message = digest_message(ev, summarize(ev), config.office.name, "C" + "0" * 32, sheet, tally)
    return dict(message.messages[0])


def main(out: str) -> None:
    flex = demo_digest()
    target = Path(out).resolve()
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "digest.html"
        page.write_text(bubble_html(flex), encoding="utf-8")
        (target.with_suffix(".json")).write_text(
            json.dumps(flex, ensure_ascii=False, indent=1) + "\n", "utf-8"
        )
        chromium = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={target}", "--window-size=420,1660", page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    print(target)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/line-digest.png")
