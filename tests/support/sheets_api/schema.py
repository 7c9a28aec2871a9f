"""Request checking against Google's published discovery document for Sheets v4.

Every request body and every query parameter name is checked the way Google's JSON front end
does it, and violations are answered in Google's words (verified against recorded answers):

* unknown field: ``Invalid JSON payload received. Unknown name "foo" at
  'requests[0].add_sheet.properties': Cannot find field.`` (path in snake_case, the name echoed as
  sent, no ``at`` clause at the top level);
* wrong type / bad enum: ``Invalid value at 'requests[0].add_sheet.properties.sheet_type'
  (type.googleapis.com/google.apps.sheets.v4.SheetType), "NOPE"``, ``(TYPE_INT32), "abc"``;
* two request kinds in one ``requests[i]``: ``Invalid value at 'requests[0]' (oneof), oneof field
  'kind' is already set. Cannot set 'deleteSheet'``;
* unknown query parameter: ``Invalid JSON payload received. Unknown name "foo": Cannot bind query
  parameter. Field 'foo' could not be found in request message.``

All answer HTTP 400 INVALID_ARGUMENT with a ``google.rpc.BadRequest`` detail holding one
``fieldViolations`` entry per problem; the message is the descriptions joined by newlines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

PKG = "type.googleapis.com/google.apps.sheets.v4."

# Proto enum type names Google prints for "Invalid value" errors. The discovery document does not
# carry them; the first group is measured, the rest are the names in Google's API reference.
_ENUM_BY_FIELD = {
    "majorDimension": "Dimension",
    "dimension": "Dimension",
    "valueInputOption": "ValueInputOption",
    "valueRenderOption": "ValueRenderOption",
    "responseValueRenderOption": "ValueRenderOption",
    "dateTimeRenderOption": "DateTimeRenderOption",
    "responseDateTimeRenderOption": "DateTimeRenderOption",
    "insertDataOption": "InsertDataOption",
    "sheetType": "SheetType",
    "sortOrder": "SortOrder",
    "recalculationInterval": "RecalculationInterval",
    "autoRecalc": "RecalculationInterval",
    "visibility": "DeveloperMetadata.DeveloperMetadataVisibility",
    "locationType": "DeveloperMetadataLocation.DeveloperMetadataLocationType",
    "locationMatchingStrategy": "DeveloperMetadataLookup.DeveloperMetadataLocationMatchingStrategy",
    "mergeType": "MergeCellsRequest.MergeType",
    "pasteType": "PasteType",
    "shiftDimension": "Dimension",
}
_ENUM_BY_SCHEMA_FIELD = {
    ("BooleanCondition", "type"): "ConditionType",
    ("NumberFormat", "type"): "NumberFormatType",
    ("PieChartSpec", "legendPosition"): "PieChartSpec.PieChartLegendPosition",
}
_MESSAGE_NAME = {"Request": "BatchUpdateSpreadsheetRequest.Request"}
_SHEET_ID_DEFAULTED = {"GridRange", "DimensionRange", "GridCoordinate"}
_INT_TYPES = {"int32": "TYPE_INT32", "uint32": "TYPE_UINT32", "int64": "TYPE_INT64", "uint64": "TYPE_UINT64"}
_INT_LIMITS = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


_ANY_ITEMS = {"type": "any"}
_ROWS_OF_ANY = {"type": "array", "items": _ANY_ITEMS}


@dataclass(frozen=True)
class Violation:
    field: str | None
    description: str


class SchemaError(Exception):
    """The request does not parse into Google's request message."""

    def __init__(self, violations: list[Violation]):
        super().__init__("\n".join(v.description for v in violations))
        self.violations = violations

    @property
    def message(self) -> str:
        return "\n".join(v.description for v in self.violations)

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": 400,
                "message": self.message,
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [
                            ({"field": v.field} if v.field else {}) | {"description": v.description}
                            for v in self.violations
                        ],
                    }
                ],
            }
        }


@lru_cache(maxsize=1)
def discovery() -> dict[str, Any]:
    """Google's discovery document for Sheets v4, as shipped with google-api-python-client."""
    from googleapiclient.discovery_cache import get_static_doc

    doc = get_static_doc("sheets", "v4")
    if not doc:  # pragma: no cover - the package always ships it
        raise RuntimeError("google-api-python-client does not ship the sheets v4 discovery document")
    return json.loads(doc)


def snake(name: str) -> str:
    """``addSheet`` -> ``add_sheet`` (Google's field paths are snake_case)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def camel(name: str) -> str:
    """``add_sheet`` -> ``addSheet`` (Google accepts both spellings on input)."""
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def render_value(value: Any) -> str:
    """A rejected value, printed the way Google prints it after the type name."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False)


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _unknown(name: str, path: str) -> Violation:
    where = f" at '{path}'" if path else ""
    return Violation(
        path or None, f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
    )


def _invalid(path: str, type_name: str, value: Any) -> Violation:
    return Violation(path, f"Invalid value at '{path}' ({type_name}), {render_value(value)}")


class Validator:
    """Checks (and normalises to camelCase) JSON against the discovery document's schemas."""

    def __init__(self, doc: dict[str, Any] | None = None):
        self.doc = doc or discovery()
        self.schemas: dict[str, Any] = self.doc["schemas"]

    # -- bodies -------------------------------------------------------------------------------
    def check_body(self, body: Any, schema_name: str, root: str = "") -> Any:
        """Return the body with snake_case keys renamed to camelCase, or raise SchemaError.

        ``root`` is the request field the body binds to (``data`` for values.update/append)."""
        if not isinstance(body, dict):
            raise SchemaError(
                [
                    Violation(
                        None,
                        'Invalid JSON payload received. Unknown name "": Root element must be a message.',
                    )
                ]
            )
        out: list[Violation] = []
        normalised = self._message(body, schema_name, root, out)
        if out:
            raise SchemaError(out)
        return normalised

    def _message(self, value: Any, name: str, path: str, out: list[Violation]) -> Any:
        schema = self.schemas[name]
        if not isinstance(value, dict):
            out.append(_invalid(path, PKG + _MESSAGE_NAME.get(name, name), value))
            return value
        props: dict[str, Any] = schema.get("properties", {})
        result: dict[str, Any] = {}
        for key, item in value.items():
            field = key if key in props else camel(key)
            if field not in props:
                out.append(_unknown(key, path))
                continue
            if item is None:
                continue
            result[field] = self._field(item, props[field], name, field, _join(path, snake(field)), out)
        if name in _SHEET_ID_DEFAULTED and "sheetId" not in result:
            result["sheetId"] = 0  # proto default: a range without sheetId is on sheet 0
        if name == "Request":
            kinds = [k for k in value if (k in props or camel(k) in props) and value[k] is not None]
            if len(kinds) > 1:
                out.append(
                    Violation(
                        path,
                        f"Invalid value at '{path}' (oneof), oneof field 'kind' is already set. "
                        f"Cannot set '{camel(kinds[1])}'",
                    )
                )
        return result

    def _field(self, value: Any, prop: dict[str, Any], owner: str, field: str, path: str, out: list) -> Any:
        if "$ref" in prop:
            return self._message(value, prop["$ref"], path, out)
        kind = prop.get("type")
        if kind == "array":
            items = prop.get("items", {})
            if not isinstance(value, list):
                out.append(_invalid(path, self._type_name(prop, owner, field), value))
                return value
            if items == _ANY_ITEMS or (items == _ROWS_OF_ANY and set(map(type, value)) <= {list}):
                # a ValueRange's values: the loop below would return every row and cell as it came
                return list(value)
            return [
                None if v is None else self._field(v, items, owner, field, f"{path}[{i}]", out)
                for i, v in enumerate(value)
            ]
        if kind == "object" and "additionalProperties" in prop:
            if not isinstance(value, dict):
                out.append(_invalid(path, "type.googleapis.com/google.protobuf.Struct", value))
                return value
            sub = prop["additionalProperties"]
            return {k: self._field(v, sub, owner, field, f"{path}[{k}]", out) for k, v in value.items()}
        if kind == "any":
            return value
        if kind == "object":  # free-form object
            return value
        ok = self._scalar_ok(value, prop)
        if not ok:
            out.append(_invalid(path, self._type_name(prop, owner, field), value))
            return value
        return self._coerce(value, prop)

    @staticmethod
    def _coerce(value: Any, prop: dict[str, Any]) -> Any:
        """Proto JSON accepts ints as strings/integral floats and enums as numbers; normalise."""
        if "enum" in prop and isinstance(value, int):
            return prop["enum"][value]
        if prop.get("type") == "integer" and not isinstance(value, bool):
            return int(value) if not isinstance(value, str) else int(value.strip())
        if prop.get("type") == "number" and isinstance(value, str):
            return float(value)
        return value

    @staticmethod
    def _scalar_ok(value: Any, prop: dict[str, Any]) -> bool:
        kind, fmt = prop.get("type"), prop.get("format")
        if "enum" in prop:
            if isinstance(value, bool):
                return False
            if isinstance(value, int):
                return 0 <= value < len(prop["enum"])
            return isinstance(value, str) and value in prop["enum"]
        if kind == "string" and fmt in _INT_LIMITS or kind == "integer":
            lo, hi = _INT_LIMITS.get(fmt or "int32", _INT_LIMITS["int32"])
            if isinstance(value, bool):
                return False
            if isinstance(value, float):
                if not value.is_integer():
                    return False
                value = int(value)
            if isinstance(value, str):
                if not re.fullmatch(r"-?[0-9]+", value.strip()):
                    return False
                value = int(value)
            return isinstance(value, int) and lo <= value <= hi
        if kind == "number":
            if isinstance(value, bool):
                return False
            if isinstance(value, (int, float)):
                return True
            if isinstance(value, str):
                try:
                    float(value)
                except ValueError:
                    return False
                return True
            return False
        if kind == "boolean":
            return isinstance(value, bool)
        if kind == "string":
            return isinstance(value, str)
        return True

    def _type_name(self, prop: dict[str, Any], owner: str, field: str) -> str:
        if "$ref" in prop:
            return PKG + _MESSAGE_NAME.get(prop["$ref"], prop["$ref"])
        kind, fmt = prop.get("type"), prop.get("format")
        if "enum" in prop:
            enum = _ENUM_BY_SCHEMA_FIELD.get((owner, field)) or _ENUM_BY_FIELD.get(field)
            if enum is None:
                enum = f"{owner}.{field[:1].upper()}{field[1:]}"
            return PKG + enum
        if kind == "array":
            items = prop.get("items", {})
            if items.get("type") == "any":
                return "type.googleapis.com/google.protobuf.ListValue"
            return self._type_name(items, owner, field)
        if kind == "integer" or (kind == "string" and fmt in _INT_TYPES):
            return _INT_TYPES.get(fmt or "int32", "TYPE_INT32")
        if kind == "number":
            return "TYPE_FLOAT" if fmt == "float" else "TYPE_DOUBLE"
        if kind == "boolean":
            return "TYPE_BOOL"
        return "TYPE_STRING"

    # -- query parameters -----------------------------------------------------------------------
    def method(self, method_id: str) -> dict[str, Any]:
        """``values.append`` -> the discovery method description."""
        res: dict[str, Any] = self.doc["resources"]["spreadsheets"]
        *parents, name = method_id.split(".")
        for p in parents:
            res = res["resources"][p]
        return res["methods"][name]

    def check_query(self, method_id: str, query: dict[str, list[str]]) -> dict[str, list[str]]:
        """Check query parameter names and values; return them keyed by camelCase name."""
        method = self.method(method_id)
        params = {k: v for k, v in method.get("parameters", {}).items() if v.get("location") == "query"}
        params |= self.doc.get("parameters", {})
        body_ref = method.get("request", {}).get("$ref")
        # Requests whose whole message is the body (``body: "*"``) also bind query parameters to
        # the body message's primitive fields, and say so when one is a message.
        body_props: dict[str, Any] = self.schemas[body_ref]["properties"] if body_ref else {}
        if method_id in {"values.update", "values.append"}:
            body_props = {}
        out: list[Violation] = []
        result: dict[str, list[str]] = {}
        for name, values in query.items():
            key = name if name in params or name in body_props else camel(name)
            prop = params.get(key) or body_props.get(key)
            if prop is None:
                out.append(
                    Violation(
                        None,
                        f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
                        f"Field '{name}' could not be found in request message.",
                    )
                )
                continue
            target = prop.get("items", prop) if prop.get("type") == "array" else prop
            if "$ref" in target:
                out.append(
                    Violation(
                        None,
                        f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
                        f"'{name}' is a message type. Parameters can only be bound to primitive types.",
                    )
                )
                continue
            for raw in values:
                if not self._query_value_ok(raw, target):
                    type_name = self._type_name(target, body_ref or "", key)
                    out.append(
                        Violation(snake(key), f"Invalid value at '{snake(key)}' ({type_name}), \"{raw}\"")
                    )
            result[key] = values
        if out:
            raise SchemaError(out)
        return result

    def _query_value_ok(self, raw: str, prop: dict[str, Any]) -> bool:
        kind = prop.get("type")
        if "enum" in prop:
            return raw in prop["enum"] or (raw.isdigit() and int(raw) < len(prop["enum"]))
        if kind == "boolean":
            return raw.lower() in {"true", "false", "1", "0"}
        if kind == "integer" or prop.get("format") in _INT_LIMITS:
            return bool(re.fullmatch(r"-?[0-9]+", raw))
        if kind == "number":
            try:
                float(raw)
            except ValueError:
                return False
        return True
