"""OpenAPI 3 specs: one spec per operation, parameters from path/query/header/cookie and JSON body."""

from __future__ import annotations

from functools import partial
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field

from agentscaler.ingest.formats.base import Api, Format, Name
from agentscaler.ingest.records import RecordError
from agentscaler.ingest.schema import deref, normalize_parameters, normalize_schema
from agentscaler.toolspec import function_name

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Parameter(BaseModel):
    name: Name
    location: str = Field(alias="in")
    required: bool = False
    description: str | None = None
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")


class Operation(BaseModel):
    model_config = ConfigDict(extra="allow")

    operationId: str | None = None
    summary: str | None = None
    description: str | None = None
    tags: list[str] = []
    parameters: list[Any] = []
    requestBody: dict[str, Any] | None = None
    responses: dict[str, Any] = {}


class OpenApi(Format):
    name = "openapi"

    def detect(self, record: dict) -> bool:
        return str(record.get("openapi", "")).startswith("3") and isinstance(record.get("paths"), dict)

    def apis(self, record: dict) -> Iterator[Api]:
        for path, item in record["paths"].items():
            item = deref(item, record)
            if not isinstance(item, dict):
                yield path, item, partial(_reject, f"invalid path item: not an object at {path}")
                continue
            for method in (m for m in METHODS if m in item):
                op = item[method]
                yield f"{method.upper()} {path}", op, partial(_fields, record, path, method, item, op)


def _reject(reason: str) -> dict[str, Any]:
    raise RecordError(reason)


def _document_fields(doc: dict) -> dict[str, Any]:
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    licence = info.get("license") if isinstance(info.get("license"), dict) else {}
    return {"toolkit": info.get("title"), "licence": licence.get("name")}


def _fields(doc: dict, path: str, method: str, item: dict, raw: Any) -> dict[str, Any]:
    op = Operation.model_validate(raw)
    params = {}  # (name, in) -> Parameter; an operation's own parameters override the path's
    for entry in [*item.get("parameters", []), *op.parameters]:
        param = Parameter.model_validate(deref(entry, doc))
        params[param.name, param.location] = param
    properties = {
        p.name: {**p.schema_, **({"description": p.description} if p.description else {})} for p in params.values()
    }
    required = [p.name for p in params.values() if p.required or p.location == "path"]
    request = deref(op.requestBody, doc) or {}
    body = _json_schema(request)
    flat = deref(body, doc)
    fields = flat.get("properties") if isinstance(flat, dict) else None
    if isinstance(fields, dict) and not set(fields) & set(properties):
        properties.update(fields)  # an object body's fields become the tool's arguments
        required += flat.get("required", [])
    elif body is not None:
        properties["body"] = body
        required += ["body"] if request.get("required") else []
    ok = next((deref(op.responses[c], doc) for c in ("200", "201") if c in op.responses), None)
    returns = _json_schema(ok)
    return {
        "name": function_name(op.operationId) if op.operationId else function_name(method, path),
        "description": op.description or op.summary or "",
        "parameters": normalize_parameters({"type": "object", "properties": properties, "required": required}, doc),
        "returns": None if returns is None else normalize_schema(returns, doc),
        "category": op.tags[0] if op.tags else None,
        **_document_fields(doc),
    }


def _json_schema(holder: Any) -> Any:
    """The JSON media type's schema of a request body or response, if it has one."""
    content = holder.get("content") if isinstance(holder, dict) else None
    if not isinstance(content, dict):
        return None
    media = next((m for kind, m in content.items() if "json" in kind), None)
    return media.get("schema") if isinstance(media, dict) else None
