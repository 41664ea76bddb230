"""API-Gen / xLAM records: ``tools`` is a JSON string of functions with Python-typed parameters."""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Iterator

from agentscaler.ingest.formats.base import Api, Format, FunctionDoc
from agentscaler.ingest.pytypes import python_type
from agentscaler.ingest.records import RecordError
from agentscaler.ingest.schema import normalize_parameters


class Xlam(Format):
    name = "xlam"

    def detect(self, record: dict) -> bool:
        return isinstance(record.get("tools"), str)

    def apis(self, record: dict) -> Iterator[Api]:
        try:
            tools = json.loads(record["tools"])
        except ValueError as error:
            raise RecordError(f"invalid tools JSON: {error}") from error
        for i, doc in enumerate(tools if isinstance(tools, list) else [tools]):
            yield f"tool {i}", doc, partial(_fields, doc)


def _fields(raw: Any) -> dict[str, Any]:
    """``{"x": {"type": "int, optional", ...}}`` -> JSON Schema; plain JSON Schema passes through."""
    doc = FunctionDoc.model_validate(raw)
    params = doc.parameters or {}
    if not isinstance(params, dict) or params.get("type") == "object":
        return doc.fields()
    properties, required = {}, []
    for name, spec in params.items():
        if not isinstance(spec, dict):
            raise RecordError(f"property is not a schema: parameters.{name}")
        schema, optional = python_type(spec.get("type", "Any"))
        properties[name] = {**schema, **{k: v for k, v in spec.items() if k != "type"}}
        if not optional:
            required.append(name)
    schema = {"type": "object", "properties": properties, "required": required}
    return {"name": doc.name, "description": doc.description or "", "parameters": normalize_parameters(schema)}
