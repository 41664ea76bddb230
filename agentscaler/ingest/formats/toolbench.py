"""ToolBench (RapidAPI) tool JSON: one tool object with an ``api_list``; one spec per API."""

from __future__ import annotations

import re
from functools import partial
from typing import Any, Iterator

from pydantic import BaseModel

from agentscaler.ingest.formats.base import Api, Format, Name
from agentscaler.ingest.pytypes import python_schema
from agentscaler.ingest.records import RecordError
from agentscaler.ingest.schema import normalize_parameters
from agentscaler.toolspec import function_name

_LIST_OF = re.compile(r"^list of (\w+)", re.I)


class Parameter(BaseModel):
    name: Name
    type: str = "STRING"
    description: str | None = None
    default: Any = None


class Endpoint(BaseModel):
    name: Name
    description: str | None = None
    required_parameters: list[Parameter] = []
    optional_parameters: list[Parameter] = []
    template_response: Any = None


class Tool(BaseModel):
    tool_name: Name
    category_name: str | None = None
    api_list: list[Any]


class ToolBench(Format):
    name = "toolbench"
    licence = "Apache-2.0"

    def detect(self, record: dict) -> bool:
        return "api_list" in record

    def apis(self, record: dict) -> Iterator[Api]:
        tool = Tool.model_validate(record)
        for i, api in enumerate(tool.api_list):
            yield f"api {i}", api, partial(_fields, tool, api)


def _fields(tool: Tool, raw: Any) -> dict[str, Any]:
    """ToolBench's own naming (``{api}_for_{tool}``) keeps names unique across RapidAPI providers."""
    api = Endpoint.model_validate(raw)
    properties: dict[str, dict] = {}
    for param in api.required_parameters + api.optional_parameters:
        if param.name in properties:
            raise RecordError(f"duplicate parameter: {param.name}")
        properties[param.name] = {
            "type": param.type,
            **({"description": param.description} if param.description else {}),
            **({"default": param.default} if "default" in param.model_fields_set else {}),
        }
    schema = {"type": "object", "properties": properties, "required": [p.name for p in api.required_parameters]}
    return {
        "name": function_name(api.name, "for", tool.tool_name),
        "description": api.description or "",
        "parameters": normalize_parameters(schema),
        "returns": None if api.template_response is None else template_schema(api.template_response),
        "toolkit": tool.tool_name,
        "category": tool.category_name,
    }


def template_schema(example: Any) -> dict[str, Any]:
    """JSON Schema from a ToolBench ``template_response``: an example whose leaves are type names."""
    if isinstance(example, dict):
        return {"type": "object", "properties": {k: template_schema(v) for k, v in example.items()}}
    if isinstance(example, list) and example and isinstance(example[0], str) and _LIST_OF.match(example[0]):
        return template_schema(example[0])  # ["list of str with length 1"] describes the list itself
    if isinstance(example, list):
        return {"type": "array", **({"items": template_schema(example[0])} if example else {})}
    if isinstance(example, str) and example == "empty list":
        return {"type": "array"}
    if isinstance(example, str) and (match := _LIST_OF.match(example)):
        return {"type": "array", "items": python_schema(match.group(1))}
    try:
        return python_schema(str(example))
    except RecordError:
        return {"description": f"example value: {example}"}
