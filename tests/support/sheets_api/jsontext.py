"""Answer bodies as JSON bytes: Google's pretty-printed layout, byte for byte what
``json.dumps(payload, indent=2, ensure_ascii=False)`` gives, without its pure-Python encoder.

The standard library drops to Python code, a few calls per value, as soon as ``indent`` is set,
which at 30,000 schools (a 50 MB values.batchGet answer) is seconds. Here the containers are walked
in Python but every list of scalars, and every list of rows of scalars (a ``values`` matrix), is
encoded by one call of the C encoder with the newline and indentation as its item separator.
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Any

_SCALARS = frozenset({str, int, float, bool, type(None)})
_encode_string = json.encoder.encode_basestring  # what ensure_ascii=False uses
_encoders: dict[str, Any] = {}


class _Unusual(Exception):
    """A value the fast layout does not handle (a tuple, a subclass, a non-string key)."""


def dumps(payload: Any, pretty: bool) -> bytes:
    """The answer body: pretty (two-space indent, trailing newline) or compact."""
    if not pretty:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    out: list[str] = []
    try:
        _emit(payload, 0, out)
    except _Unusual:
        return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode()
    out.append("\n")
    return "".join(out).encode()


def _encoder(item_separator: str) -> Any:
    encode = _encoders.get(item_separator)
    if encode is None:
        encode = json.JSONEncoder(ensure_ascii=False, separators=(item_separator, ": ")).encode
        _encoders[item_separator] = encode
    return encode


def _scalar(value: Any) -> str:
    # json.encoder's own rules for the five scalar types (allow_nan=True)
    kind = type(value)
    if kind is str:
        return _encode_string(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == float("-inf"):
        return "-Infinity"
    return float.__repr__(value)


def _emit(value: Any, level: int, out: list[str]) -> None:
    kind = type(value)
    if kind in _SCALARS:
        out.append(_scalar(value))
        return
    if kind is dict:
        if not value:
            out.append("{}")
            return
        inner = "\n" + "  " * (level + 1)
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            out.append(separator)
            out.append(_encode_string(key))
            out.append(": ")
            _emit(item, level + 1, out)
            separator = "," + inner
        out.append("\n" + "  " * level + "}")
        return
    if kind is not list:
        raise _Unusual
    if not value:
        out.append("[]")
        return
    inner = "\n" + "  " * (level + 1)
    kinds = set(map(type, value))
    if kinds <= _SCALARS:
        out += ("[", inner, _encoder("," + inner)(value)[1:-1], "\n", "  " * level, "]")
        return
    if kinds == {list} and set(map(type, chain.from_iterable(value))) <= _SCALARS:
        _emit_rows(value, level, out)
        return
    separator = "[" + inner
    for item in value:
        out.append(separator)
        _emit(item, level + 1, out)
        separator = "," + inner
    out.append("\n" + "  " * level + "]")


def _emit_rows(rows: list[list[Any]], level: int, out: list[str]) -> None:
    """A list of lists of scalars in one C call: encoded with the cells' separator, the rows'
    boundaries (``],<newline+indent>[``, which only structure can produce, since strings escape
    newlines) are then re-indented, and empty rows, which came out spread over two lines, closed."""
    outer, row, cell = ("\n" + "  " * n for n in (level, level + 1, level + 2))
    body = _encoder("," + cell)(rows)[2:-2].replace("]," + cell + "[", row + "]," + row + "[" + cell)
    if all(rows):
        out += ("[", row, "[", cell, body, row, "]", outer, "]")
        return
    text = "[" + row + "[" + cell + body + row + "]" + outer + "]"
    out.append(text.replace("[" + cell + row + "]", "[]"))
