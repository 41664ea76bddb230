"""Normalize the JSON-Schema dialects of API corpora into plain JSON Schema.

Corpora write types their own way (BFCL's ``dict``/``float``/``tuple``/``any``, its Java and
JavaScript tests' ``String``/``HashMap``/``long``, ToolBench's ``STRING``/``NUMBER``) and pydantic
or OpenAPI specs point into ``$defs``/``components`` with ``$ref``. Later stages embed parameters
and infer database columns from them, so they must see one dialect with every reference inlined.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from agentscaler.ingest.records import RecordError

MAX_DEPTH = 64
"""Deeper schemas are rejected: Azure's resource models nest about 40 deep, and it bounds ``$ref`` chains."""

RECURSIVE_REF = "x-recursive-ref"
"""Marker left where a ``$ref`` points back into itself: inlining it would never end."""

MODEL = "x-model"
"""Name of the data model (``#/definitions/Pet`` -> ``Pet``) an inlined object schema came from: the
environment compiler makes it a table, and a property holding another model a foreign key."""

_MODEL_HOMES = ("#/definitions/", "#/components/schemas/", "#/$defs/")

TYPE_ALIASES: dict[str, str | None] = {
    **{t: t for t in ("string", "number", "integer", "boolean", "array", "object", "null")},
    # BFCL, plus the Java / JavaScript types of its simple_java / simple_javascript tests
    "dict": "object", "float": "number", "tuple": "array", "any": None, "": None,
    "hashmap": "object", "map": "object", "long": "integer", "double": "number", "char": "string",
    "arraylist": "array", "list": "array", "str": "string", "int": "integer", "bool": "boolean",
    # ToolBench (RapidAPI) parameter types
    "enum": "string", "date (yyyy-mm-dd)": "string", "time (24-hour hh:mm)": "string",
    "geopoint (latitude, longitude)": "string", "file": "string", "credentials": "string",
}  # fmt: skip
"""Source type name (lower-cased) -> JSON Schema type; ``None`` means any type (no ``type`` key)."""

_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else")
_DROPPED = ("$defs", "definitions")  # inlined wherever they were referenced


def json_type(name: Any) -> str | None:
    """The JSON Schema type for a source type name; unknown names are a record error."""
    if not isinstance(name, str) or name.strip().lower() not in TYPE_ALIASES:
        raise RecordError(f"unknown type: {name!r}")
    return TYPE_ALIASES[name.strip().lower()]


def normalize_parameters(schema: Any, root: dict | None = None) -> dict[str, Any]:
    """``{"type": "object", "properties": {...}, "required": [...]}`` from any dialect's parameters.

    ``root`` is the document ``$ref`` pointers resolve against (an OpenAPI spec); by default the
    schema itself (pydantic's ``$defs``).
    """
    if schema is None:
        return {"type": "object", "properties": {}, "required": []}
    if not isinstance(schema, dict):
        raise RecordError(f"parameters is not an object schema: got {type(schema).__name__}")
    node = _Resolver(schema if root is None else root).normalize(schema, "parameters")
    if node.get("type", "object") != "object":
        raise RecordError(f"parameters is not an object schema: type {node['type']!r}")
    return {"type": "object", "properties": node.get("properties", {}), "required": node.get("required", [])}


def normalize_schema(schema: Any, root: dict | None = None, where: str = "returns") -> dict[str, Any]:
    """Any JSON Schema (a result, a request body) in the plain dialect, references inlined."""
    if root is None:
        root = schema if isinstance(schema, dict) else {}
    return _Resolver(root).normalize(schema, where)


def deref(node: Any, root: dict) -> Any:
    """``node`` with its own top-level ``$ref`` followed (an OpenAPI parameter, body or response)."""
    for _ in range(MAX_DEPTH):
        if not (isinstance(node, dict) and "$ref" in node):
            return node
        node = _Resolver(root).lookup(node["$ref"])
    raise RecordError(f"schema too deep: $ref chain at {node.get('$ref')!r}")


def model_name(ref: str, target: dict) -> str | None:
    """The model a reference names, when it points at an object schema among a spec's models."""
    home = next((h for h in _MODEL_HOMES if isinstance(ref, str) and ref.startswith(h)), None)
    name = unquote(ref[len(home):]) if home else ""
    is_object = target.get("type") == "object" or "properties" in target or "allOf" in target
    return name if home and name and "/" not in name and is_object else None


def _value_type(value: Any) -> str:
    for kind, types in (("boolean", bool), ("integer", int), ("number", float), ("string", str),
                        ("array", list), ("object", dict)):
        if isinstance(value, types):
            return kind
    return "null"


def _reconcile_enum(node: dict) -> None:
    """A schema no value can satisfy, read the way its enum shows it meant: a ``boolean`` whose enum is
    ``["True", "False", "dontcare"]`` is a string (BFCL), an ``array`` whose enum lists item values
    (Swagger 2 query arrays) has that enum on its items. Mixed enums are left as written."""
    kinds = {_value_type(v) for v in node["enum"]} - {"null"}
    declared = node["type"]
    if declared == "array" and kinds and "array" not in kinds:
        values = node.pop("enum")
        items = node.get("items") if isinstance(node.get("items"), dict) else {}
        node["items"] = {**({"type": next(iter(kinds))} if len(kinds) == 1 else {}), **items,
                         "enum": items.get("enum", values)}
    elif len(kinds) == 1 and declared not in kinds and not (declared == "number" and kinds == {"integer"}):
        node["type"] = kinds.pop()


class _Resolver:
    """Walks one schema, inlining ``$ref`` pointers into ``root`` and mapping type names."""

    def __init__(self, root: dict):
        self.root = root

    def normalize(self, node: Any, where: str, refs: tuple[str, ...] = (), depth: int = 0) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise RecordError(f"property is not a schema: {where}")
        if depth > MAX_DEPTH:
            raise RecordError(f"schema too deep: {where}")
        if "$ref" in node:
            ref = node["$ref"]
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if ref in refs:
                return {RECURSIVE_REF: ref, **siblings}
            target = self.lookup(ref)
            model = model_name(ref, target)
            if model and MODEL not in target:
                siblings = {MODEL: model, **siblings}
            return self.normalize({**target, **siblings}, where, (*refs, ref), depth + 1)
        out: dict[str, Any] = {}
        for key, value in node.items():
            inner = f"{where}.{key}"
            if key == "type":
                mapped = [json_type(t) for t in value] if isinstance(value, list) else json_type(value)
                if isinstance(mapped, list):
                    mapped = None if None in mapped else mapped
                if mapped is not None:
                    out[key] = mapped
            elif key in _SCHEMA_MAPS:
                if not isinstance(value, dict):
                    raise RecordError(f"property is not a schema: {inner}")
                out[key] = {name: self.normalize(v, f"{inner}.{name}", refs, depth + 1) for name, v in value.items()}
            elif key in _SCHEMA_LISTS or (key == "items" and isinstance(value, list)):
                out[key] = [self.normalize(v, f"{inner}[{i}]", refs, depth + 1) for i, v in enumerate(value)]
            elif key in _SCHEMA_VALUES and isinstance(value, dict):
                out[key] = self.normalize(value, inner, refs, depth + 1)
            elif key not in _DROPPED:
                out[key] = value
        if "required" in out:
            out["required"] = self.required(out, where)
        if isinstance(out.get("enum"), list) and isinstance(out.get("type"), str):
            _reconcile_enum(out)
        return out

    @staticmethod
    def required(node: dict, where: str) -> list[str]:
        names = node["required"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise RecordError(f"invalid required: not a list of names at {where}")
        known = set(node.get("properties", {})).union(*(part.get("properties", {}) for part in node.get("allOf", [])))
        unknown = [n for n in names if n not in known]  # JSON Schema lets allOf parts declare them
        if unknown:
            raise RecordError(f"required names not in properties: {', '.join(unknown)} at {where}")
        return list(dict.fromkeys(names))

    def lookup(self, ref: Any) -> dict:
        """The schema a local JSON pointer (``#/$defs/Pet``, ``#/components/schemas/Pet``) names."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise RecordError(f"unresolvable $ref: {ref!r} (only local references are supported)")
        target: Any = self.root
        for part in filter(None, ref[1:].split("/")):
            part = unquote(part).replace("~1", "/").replace("~0", "~")
            if isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            elif isinstance(target, dict) and part in target:
                target = target[part]
            else:
                raise RecordError(f"unresolvable $ref: {ref}")
        if not isinstance(target, dict):
            raise RecordError(f"unresolvable $ref: {ref} is not a schema")
        return target
