"""Field masks: the ``fields`` query parameter and the ``fields`` of update requests."""

from __future__ import annotations

import copy
from typing import Any

Mask = dict[str, "Mask | None"]  # None: the whole value at that key


class MaskError(ValueError):
    pass


def parse_mask(text: str) -> Mask:
    """``sheets(properties(sheetId,title)),spreadsheetId`` / ``gridProperties.frozenRowCount``.

    ``/`` separates path parts like ``.`` (``sheets/data/rowData/values/note``; gspread sends it)."""
    text = text.replace("/", ".")
    pos = 0

    def parse_list(depth: int) -> Mask:
        nonlocal pos
        result: Mask = {}
        while True:
            start = pos
            while pos < len(text) and text[pos] not in ",()":
                pos += 1
            path = text[start:pos]
            if not path:
                raise MaskError(text)
            sub: Mask | None = None
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = parse_list(depth + 1)
                if pos >= len(text) or text[pos] != ")":
                    raise MaskError(text)
                pos += 1
            node: Mask | None = sub
            for part in reversed(path.split(".")):
                if not part:
                    raise MaskError(text)
                node = {part: node}
            assert node is not None
            _merge(result, node)
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            if depth and pos < len(text) and text[pos] == ")":
                return result
            if pos >= len(text):
                if depth:
                    raise MaskError(text)
                return result
            raise MaskError(text)

    return parse_list(0)


def _merge(into: Mask, other: Mask) -> None:
    for key, sub in other.items():
        if key not in into:
            into[key] = sub
        elif into[key] is None or sub is None:
            into[key] = None
        else:
            _merge(into[key], sub)  # type: ignore[arg-type]


def mask_paths(mask: Mask, prefix: str = "") -> list[str]:
    out: list[str] = []
    for key, sub in mask.items():
        path = f"{prefix}.{key}" if prefix else key
        out.extend([path] if sub is None else mask_paths(sub, path))
    return out


def select(value: Any, mask: Mask | None) -> Any:
    """Keep only the masked parts of a response."""
    if mask is None:
        return value
    if isinstance(value, list):
        return [select(v, mask) for v in value]
    if isinstance(value, dict):
        if "*" in mask:
            return value
        return {k: select(v, mask[k]) for k, v in value.items() if k in mask}
    return value


def check_mask(mask: Mask, schemas: dict[str, Any], schema_name: str, prefix: str = "") -> list[str]:
    """Paths of the mask that do not exist in the schema."""
    bad: list[str] = []
    props = schemas[schema_name].get("properties", {})
    for key, sub in mask.items():
        path = f"{prefix}.{key}" if prefix else key
        if key == "*":
            continue
        prop = props.get(key)
        if prop is None:
            bad.append(path)
            continue
        if sub is None:
            continue
        target = prop.get("items", prop) if prop.get("type") == "array" else prop
        if "$ref" in target:
            bad.extend(check_mask(sub, schemas, target["$ref"], path))
        elif target.get("type") not in {"object", "any"}:
            bad.append(path + "." + next(iter(sub)))
    return bad


def apply_update(target: dict[str, Any], source: dict[str, Any], mask: Mask) -> None:
    """Copy the masked fields from ``source`` to ``target``; a masked field absent in ``source`` is
    cleared (Google's update semantics)."""
    for key, sub in mask.items():
        if key == "*":
            for k, v in source.items():
                target[k] = copy.deepcopy(v)
            continue
        if sub is None or not isinstance(source.get(key, {}), dict):
            if key in source:
                target[key] = copy.deepcopy(source[key])
            else:
                target.pop(key, None)
            continue
        node = target.get(key)
        if not isinstance(node, dict):
            node = {}
        apply_update(node, source.get(key) or {}, sub)
        if node:
            target[key] = node
        else:
            target.pop(key, None)
