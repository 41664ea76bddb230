"""The normalized API record every stage after ingest reads.

A ``ToolSpec`` speaks the OpenAI function-calling schema (``name``, ``description``, ``parameters``
as a JSON Schema object) because every model, chat template and benchmark speaks it. Parquet holds
the JSON-valued fields as JSON text: their shapes differ from tool to tool, and a struct column
would force one shape on all of them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from pydantic import BaseModel, Field

_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]+")
MAX_NAME_LENGTH = 64  # the OpenAI function-name limit


def function_name(*parts: str) -> str:
    """A valid function name (``^[a-zA-Z0-9_-]{1,64}$``) from free-form parts such as ``math.factorial``."""
    name = "_".join(p for p in (_INVALID_NAME_CHARS.sub("_", part).strip("_") for part in parts) if p)
    name = name or "tool"
    if len(name) > MAX_NAME_LENGTH:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_NAME_LENGTH - 9]}_{digest}"
    return name


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text (and equal hashes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def integral(value: Any) -> Any:
    """3.0 as 3: JSON and SQLite may carry an integer as a float and an integer parameter accepts either, so every
    comparison, key and sentence takes them as one value."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def declared_bounds(prop: dict[str, Any]) -> tuple[float | None, float | None, bool, bool]:
    """A number's (minimum, maximum, minimum exclusive, maximum exclusive) as its JSON Schema declares them: JSON
    Schema 6+ gives an exclusive bound as the number itself, Swagger 2.0 as a flag beside ``minimum``/``maximum``."""
    def number(v: Any) -> float | None:
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None

    found = []
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        value, strict = number(prop.get(bound)), number(prop.get(exclusive))
        flagged = value is not None and prop.get(exclusive) is True
        found.append((strict, True) if strict is not None else (value, flagged))
    (low, low_strict), (high, high_strict) = found
    return low, high, low_strict, high_strict


def value_text(value: Any) -> str:
    """A value as a sentence writes it: a string as itself, 3.0 as 3, a list as its items ("pen, ink and paper";
    "; " between items that have fields), an object as its fields ("Key team, Value billing"), anything else as
    JSON text (true, null). A person names an order's lines or a resource's tags; they do not say JSON."""
    value = integral(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value:
        return ", ".join(f"{k} {value_text(v)}" for k, v in value.items())
    if isinstance(value, list) and value:
        items = [value_text(v) for v in value]
        if any(isinstance(v, (dict, list)) for v in value):
            return "; ".join(items)
        return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
    return json.dumps(value, ensure_ascii=False)


class SchemaCheck:
    """One tool's JSON Schema, compiled once, judging call arguments: what the validity filter asks of an agent's
    calls and the task checker of gold calls. jsonschema loads on first use, not at every CLI start (~80 ms).
    A bounded memo keeps the verdicts (the samples of one task mostly repeat their calls)."""

    MEMO = 4096

    def __init__(self, schema: dict):
        from jsonschema import Draft202012Validator, validators

        self.validator = validators.validator_for(schema, default=Draft202012Validator)(schema)
        self.memo: dict[str, str | None] = {}

    def error(self, arguments: dict) -> str | None:
        """Why ``arguments`` violate the schema, or None."""
        key = json.dumps(arguments, sort_keys=True)
        if key not in self.memo:
            if len(self.memo) >= self.MEMO:
                self.memo.clear()
            self.memo[key] = self._judge(arguments)
        return self.memo[key]

    def _judge(self, arguments: dict) -> str | None:
        from jsonschema import SchemaError
        from jsonschema.exceptions import UnknownType, best_match
        from referencing.exceptions import Unresolvable

        try:
            if self.validator.is_valid(arguments):
                return None
            error = best_match(self.validator.iter_errors(arguments))
        except (SchemaError, Unresolvable, UnknownType, re.error, TypeError) as e:  # the tool's own schema is broken
            return f"the tool's own JSON Schema cannot be used: {e}"
        where = "/".join(str(p) for p in error.absolute_path)
        return error.message + (f" at {where}" if where else "")


class ToolSpec(BaseModel):
    """One API, normalized. ``tool_id`` is derived from content, so identical APIs share it."""

    tool_id: str = Field(description="Stable id: a hash of name, description, parameters and returns.")
    name: str = Field(description="Function name as an agent calls it (OpenAI naming rules).")
    description: str = Field(default="", description="What the API does, as the source says it.")
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}, "required": []},
        description="JSON Schema object: properties (type, description, enum, default, nested), required.",
    )
    returns: dict[str, Any] | None = Field(default=None, description="JSON Schema of the result, where known.")
    source: str = Field(
        description="Corpus format the record came from: toolbench, bfcl, openai, xlam, mcp, openapi, swagger."
    )
    source_file: str = Field(default="", description="File (or file:line) the record was read from: lineage.")
    toolkit: str | None = Field(
        default=None, description="The provider the API belongs to (ToolBench tool, OpenAPI title, MCP server)."
    )
    category: str | None = Field(default=None, description="Source category (ToolBench has 49), where known.")
    licence: str | None = Field(default=None, description="Licence of the source corpus, where known.")
    http_method: str | None = Field(
        default=None, description="HTTP method in upper case (GET, POST...), for APIs read from an OpenAPI spec."
    )
    http_path: str | None = Field(default=None, description="The operation's path template (/pets/{petId}), likewise.")
    raw: dict[str, Any] | list[Any] | None = Field(default=None, description="The record as the source wrote it.")

    @staticmethod
    def content_id(name: str, description: str, parameters: dict, returns: dict | None) -> str:
        digest = hashlib.sha256(canonical_json([name, description, parameters, returns]).encode()).hexdigest()
        return f"t{digest[:15]}"

    @classmethod
    def build(cls, **fields: Any) -> "ToolSpec":
        """Create a spec whose ``tool_id`` is computed from its content."""
        fields.setdefault("description", "")
        fields.setdefault("parameters", {"type": "object", "properties": {}, "required": []})
        fields["name"] = function_name(fields["name"])
        fields["tool_id"] = cls.content_id(
            fields["name"], fields["description"], fields["parameters"], fields.get("returns")
        )
        return cls(**fields)

    def openai_schema(self) -> dict[str, Any]:
        """The tool as an OpenAI ``tools`` entry, the form chat templates take."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def to_row(self) -> dict[str, Any]:
        row = self.model_dump()
        for key in JSON_COLUMNS:
            row[key] = None if row[key] is None else canonical_json(row[key])
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "ToolSpec":
        row = dict(row)
        for key in JSON_COLUMNS:
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
        return cls(**row)


JSON_COLUMNS = ("parameters", "returns", "raw")
