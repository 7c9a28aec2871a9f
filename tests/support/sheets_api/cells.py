"""Cell values: what a write stores (RAW vs USER_ENTERED) and what a read renders.

Stored values are typed: ``str``, ``int``/``float``, ``bool`` or :class:`Formula`. Dates are
serial numbers (days since 1899-12-30) carrying a DATE number format, as in Google.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import operator
import re
from dataclasses import dataclass
from typing import Any

EPOCH = dt.datetime(1899, 12, 30)
ERROR = "#ERROR!"


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula (written with USER_ENTERED ``=...`` or ``formulaValue``)."""

    text: str

    def __str__(self) -> str:
        return self.text


Value = str | int | float | bool | Formula


def is_empty(value: Any) -> bool:
    return value is None or value == "" and isinstance(value, str)


# -- USER_ENTERED parsing ---------------------------------------------------------------------
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def to_serial(moment: dt.datetime) -> float | int:
    delta = moment - EPOCH
    serial = delta.days + delta.seconds / 86400
    return int(serial) if float(serial).is_integer() else serial


def from_serial(serial: float) -> dt.datetime:
    return EPOCH + dt.timedelta(days=serial)


def _number(text: str) -> float | int | None:
    t = text.strip()
    if not t or not _NUMBER.fullmatch(t) or not any(ch.isdigit() for ch in t):
        return None
    n = float(t.replace(",", ""))
    return int(n) if n.is_integer() and "e" not in t.lower() and "." not in t else n


def parse_user_entered(value: Any) -> tuple[Any, dict[str, Any] | None]:
    """Interpret an input the way typing it into the cell would. Returns (value, numberFormat)."""
    if not isinstance(value, str):
        return value, None
    text = value
    if text == "":
        return "", None
    if text.startswith("'"):
        return text[1:], None
    if text.startswith("=") and len(text) > 1:
        return Formula(text), None
    upper = text.strip().upper()
    if upper in {"TRUE", "FALSE"}:
        return upper == "TRUE", None
    n = _number(text)
    if n is not None:
        if "," in text:  # "1,234.5" keeps its thousands separators on display
            decimals = len(text.strip().partition(".")[2]) if "e" not in text.lower() else 0
            return n, {"type": "NUMBER", "pattern": "#,##0" + ("." + "0" * decimals if decimals else "")}
        return n, None
    stripped = text.strip()
    if stripped.endswith("%"):
        n = _number(stripped[:-1])
        if n is not None:
            decimals = len(stripped[:-1].partition(".")[2])
            pattern = "0" + ("." + "0" * decimals if decimals else "") + "%"
            return n / 100, {"type": "PERCENT", "pattern": pattern}
    if stripped.startswith("$") or stripped.startswith("-$"):
        n = _number(stripped.replace("$", "", 1))
        if n is not None:
            return n, {"type": "CURRENCY", "pattern": '"$"#,##0.00'}
    m = _ISO_DATE.fullmatch(stripped)
    if m:
        y, mo, d, hh, mm, ss = m.groups()
        try:
            moment = dt.datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        except ValueError:
            return text, None
        if hh is None:
            return to_serial(moment), {"type": "DATE", "pattern": "yyyy-mm-dd"}
        return to_serial(moment), {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"}
    m = _US_DATE.fullmatch(stripped)
    if m:
        mo, d, y = m.groups()
        try:
            moment = dt.datetime(int(y), int(mo), int(d))
        except ValueError:
            return text, None
        return to_serial(moment), {"type": "DATE", "pattern": "M/d/yyyy"}
    return text, None


# -- formulas ---------------------------------------------------------------------------------
_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def evaluate(formula: Formula) -> Any:
    """Arithmetic on literals (``=1+2*3``) is computed; anything else reads back as ``#ERROR!``."""
    src = formula.text[1:].replace("^", "**")

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = walk(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        raise ValueError(src)

    try:
        result = walk(ast.parse(src, mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
        return ERROR
    return int(result) if isinstance(result, float) and result.is_integer() else result


# -- rendering --------------------------------------------------------------------------------
def json_number(n: float | int) -> float | int:
    if isinstance(n, float) and n.is_integer() and abs(n) < 2**53:
        return int(n)
    return n


def general_number(n: float | int) -> str:
    """Google's automatic format, approximately: up to 10 decimals, scientific beyond 1e15."""
    if isinstance(n, bool):
        return "TRUE" if n else "FALSE"
    if isinstance(n, float) and (math.isnan(n) or math.isinf(n)):
        return "#NUM!"
    if n != 0 and (abs(n) >= 1e15 or abs(n) < 1e-10):
        mantissa, exp = f"{n:.5E}".split("E")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}E{'+' if int(exp) >= 0 else '-'}{abs(int(exp)):02d}"
    if isinstance(n, int) or float(n).is_integer():
        return str(int(n))
    text = f"{n:.10f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


_DATE_TOKENS = re.compile(r"yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p|\"[^\"]*\"|\\.|.", re.I)


def _format_date(serial: float, pattern: str) -> str:
    moment = from_serial(serial)
    tokens = _DATE_TOKENS.findall(pattern)
    out: list[str] = []
    twelve = any(t.lower() in {"am/pm", "a/p"} for t in tokens)
    for i, tok in enumerate(tokens):
        low = tok.lower()
        prev = next((t.lower() for t in reversed(tokens[:i]) if t.strip() and t not in ":/-. "), "")
        nxt = next((t.lower() for t in tokens[i + 1 :] if t.strip() and t not in ":/-. "), "")
        is_minute = low in {"mm", "m"} and (prev in {"h", "hh"} or nxt in {"s", "ss"})
        hour = moment.hour % 12 or 12 if twelve else moment.hour
        if low == "yyyy":
            out.append(f"{moment.year:04d}")
        elif low == "yy":
            out.append(f"{moment.year % 100:02d}")
        elif low == "mmmm":
            out.append(moment.strftime("%B"))
        elif low == "mmm":
            out.append(moment.strftime("%b"))
        elif low == "mm":
            out.append(f"{moment.minute:02d}" if is_minute else f"{moment.month:02d}")
        elif low == "m":
            out.append(str(moment.minute) if is_minute else str(moment.month))
        elif low == "dddd":
            out.append(moment.strftime("%A"))
        elif low == "ddd":
            out.append(moment.strftime("%a"))
        elif low == "dd":
            out.append(f"{moment.day:02d}")
        elif low == "d":
            out.append(str(moment.day))
        elif low == "hh":
            out.append(f"{hour:02d}")
        elif low == "h":
            out.append(str(hour))
        elif low == "ss":
            out.append(f"{moment.second:02d}")
        elif low == "s":
            out.append(str(moment.second))
        elif low in {"am/pm", "a/p"}:
            out.append("AM" if moment.hour < 12 else "PM")
        elif tok.startswith('"'):
            out.append(tok[1:-1])
        elif tok.startswith("\\"):
            out.append(tok[1:])
        else:
            out.append(tok)
    return "".join(out)


_NUMBER_CORE = re.compile(r"[#0,]*0[#0,]*(?:\.[0#]+)?|#[#,]*(?:\.[0#]+)?")


def _format_number(n: float, pattern: str) -> str:
    section = pattern.split(";")[0]
    if n < 0 and ";" in pattern:
        section, n = pattern.split(";")[1], -n
    if "%" in section:
        n = n * 100
    m = _NUMBER_CORE.search(section)
    if not m:
        return general_number(n)
    core = m.group(0)
    decimals = len(core.partition(".")[2])
    text = f"{abs(n):,.{decimals}f}" if "," in core else f"{abs(n):.{decimals}f}"
    if n < 0:
        text = "-" + text
    literal = section[: m.start()] + "\0" + section[m.end() :]
    literal = re.sub(r'"([^"]*)"', r"\1", literal).replace("\\", "")
    return literal.replace("\0", text)


def formatted(value: Any, number_format: dict[str, Any] | None) -> str:
    """FORMATTED_VALUE rendering of a stored value."""
    if isinstance(value, Formula):
        value = evaluate(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return value
    fmt = number_format or {}
    kind, pattern = fmt.get("type"), fmt.get("pattern")
    if kind == "TEXT":
        return general_number(value)
    if kind in {"DATE", "DATE_TIME", "TIME"}:
        default = {"DATE": "M/d/yyyy", "DATE_TIME": "M/d/yyyy H:mm:ss", "TIME": "h:mm:ss am/pm"}[kind]
        try:
            return _format_date(float(value), pattern or default)
        except (OverflowError, ValueError):
            return general_number(value)
    if pattern:
        return _format_number(float(value), pattern)
    if kind == "PERCENT":
        return _format_number(float(value), "0.00%")
    if kind == "CURRENCY":
        return _format_number(float(value), '"$"#,##0.00')
    return general_number(value)


def render(
    value: Any,
    number_format: dict[str, Any] | None,
    value_render: str = "FORMATTED_VALUE",
    date_render: str = "SERIAL_NUMBER",
) -> Any:
    """Render one non-empty stored value for valueRenderOption / dateTimeRenderOption."""
    if value_render == "FORMATTED_VALUE":
        return formatted(value, number_format)
    if isinstance(value, Formula):
        if value_render == "FORMULA":
            return value.text
        value = evaluate(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        kind = (number_format or {}).get("type")
        if date_render == "FORMATTED_STRING" and kind in {"DATE", "DATE_TIME", "TIME"}:
            return formatted(value, number_format)
        return json_number(value)
    return value


def extended_value(value: Any) -> dict[str, Any]:
    """A stored value as an ExtendedValue (userEnteredValue)."""
    if isinstance(value, Formula):
        return {"formulaValue": value.text}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (int, float)):
        return {"numberValue": json_number(value)}
    return {"stringValue": value}


def effective_value(value: Any) -> dict[str, Any]:
    if isinstance(value, Formula):
        result = evaluate(value)
        if result == ERROR:
            return {"errorValue": {"type": "ERROR", "message": "Formula parse error."}}
        return extended_value(result)
    return extended_value(value)


def proto_text(value: Any, indent: int = 0) -> str:
    """google.protobuf.Value in protobuf text format, as Google prints rejected cells."""
    pad = "  " * indent
    if isinstance(value, list):
        inner = "".join(f"{pad}  values {{\n{proto_text(v, indent + 2)}{pad}  }}\n" for v in value)
        return f"{pad}list_value {{\n{inner}{pad}}}\n"
    if isinstance(value, dict):
        inner = "".join(
            f'{pad}  fields {{\n{pad}    key: "{k}"\n{pad}    value {{\n{proto_text(v, indent + 3)}{pad}    }}\n{pad}  }}\n'
            for k, v in value.items()
        )
        return f"{pad}struct_value {{\n{inner}{pad}}}\n"
    if isinstance(value, bool):
        return f"{pad}bool_value: {'true' if value else 'false'}\n"
    if isinstance(value, (int, float)):
        return f"{pad}number_value: {float(value)!r}\n"
    if value is None:
        return f"{pad}null_value: NULL_VALUE\n"
    return f'{pad}string_value: "{value}"\n'
