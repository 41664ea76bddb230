"""MCP ``tools/list`` results, bare or wrapped in a JSON-RPC response's ``result``."""

from __future__ import annotations

from functools import partial
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict

from agentscaler.ingest.formats.base import Api, Format, Name
from agentscaler.ingest.schema import normalize_parameters, normalize_schema


class McpTool(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: Name
    description: str | None = None
    inputSchema: dict[str, Any]
    outputSchema: dict[str, Any] | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description or "",
            "parameters": normalize_parameters(self.inputSchema),
            "returns": None if self.outputSchema is None else normalize_schema(self.outputSchema),
        }


def _fields(tool: Any) -> dict[str, Any]:
    return McpTool.model_validate(tool).fields()


def _tools(record: dict) -> Any:
    result = record.get("result")
    return (result if isinstance(result, dict) else record).get("tools")


class Mcp(Format):
    name = "mcp"

    def detect(self, record: dict) -> bool:
        tools = _tools(record)
        return isinstance(tools, list) and any(isinstance(t, dict) and "inputSchema" in t for t in tools)

    def apis(self, record: dict) -> Iterator[Api]:
        for i, tool in enumerate(_tools(record)):
            yield f"tool {i}", tool, partial(_fields, tool)
