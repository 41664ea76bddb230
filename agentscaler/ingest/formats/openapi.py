"""OpenAPI specs, both families: one spec per operation, keeping its HTTP method and path.

OpenAPI 3 and Swagger 2.0 (``swagger.py``) share the walk (paths → path items → operations, the
path's parameters overridden by the operation's own), the naming (``operationId``, else method +
path) and what a JSON body becomes: an object body's fields are the tool's top-level arguments,
so an agent calls ``createPet(name=...)`` as it calls any function. The families differ only in
where a parameter's schema, the request body and the success response's schema live.
Credentials (the spec's API-key headers, ``Authorization`` and the like) are not arguments: the
agent never supplies them.
"""

from __future__ import annotations

import re
from functools import partial
from operator import itemgetter
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict, Field

from agentscaler.ingest.formats.base import Api, Format, Name
from agentscaler.ingest.records import RecordError
from agentscaler.ingest.schema import deref, normalize_parameters, normalize_schema
from agentscaler.toolspec import function_name

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_AUTH_HEADER = re.compile(r"auth|token|api[-_]?key|secret|password|(^|[-_])(app|user)[-_]?(key|id)$|signature|"
                          r"credential|signed[-_]?headers|content[-_]sha256|^x-[a-z]+-(date|algorithm)$", re.I)
"""Header names that carry credentials or request signing (AWS SigV4's ``X-Amz-Signature``, ``X-Amz-Date``...),
beyond those a spec declares among its security schemes."""

_SUCCESS = re.compile(r"2\d\d")


class Parameter(BaseModel):
    """A parameter of either family: 2.0 writes its schema inline (the extra fields), 3 under ``schema``."""

    model_config = ConfigDict(extra="allow")

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
    responses: dict[str | int, Any] = {}  # YAML reads an unquoted 200 as a number


class OpenApiFamily(Format):
    """The walk and the assembly both families share; subclasses say where each part lives."""

    def apis(self, record: dict) -> Iterator[Api]:
        paths = record.get("paths")
        if paths is None or paths == {}:
            raise RecordError("no paths: the spec defines no operations")
        if not isinstance(paths, dict):
            raise RecordError(f"invalid paths: not a mapping but {type(paths).__name__}")
        for path, item in paths.items():
            item = deref(item, record)
            if not isinstance(item, dict):
                yield path, item, partial(_reject, f"invalid path item: not an object at {path}")
                continue
            for method in (m for m in METHODS if m in item):
                op = item[method]
                yield f"{method.upper()} {path}", op, partial(self.fields, record, path, method, item, op)

    def parameter_schema(self, param: Parameter) -> dict[str, Any]:
        """The JSON Schema of a (non-body) parameter's value."""
        raise NotImplementedError

    def argument(self, param: Parameter) -> dict[str, Any]:
        """A parameter as a property of the tool's arguments: its schema plus its description."""
        return {**self.parameter_schema(param), **({"description": param.description} if param.description else {})}

    def request_body(self, op: Operation, params: list[Parameter], doc: dict) -> tuple[Any, bool]:
        """The JSON request body's schema (``None`` if there is none) and whether it is required."""
        raise NotImplementedError

    def response_schema(self, response: dict) -> Any:
        """The schema of one (dereferenced) response object, if it has one."""
        raise NotImplementedError

    def fields(self, doc: dict, path: str, method: str, item: dict, raw: Any) -> dict[str, Any]:
        """``ToolSpec.build`` fields for one operation."""
        if not isinstance(raw, dict):
            raise RecordError(f"invalid operation: not a mapping but {type(raw).__name__}")
        op = Operation.model_validate(raw)
        by_key: dict[tuple[str, str], Parameter] = {}  # the operation's own parameters override the path's
        for entry in [*item.get("parameters", []), *op.parameters]:
            param = Parameter.model_validate(deref(entry, doc))
            by_key[param.name, param.location] = param
        credentials = security_headers(doc)
        params = [p for p in by_key.values() if not (p.location == "header" and is_credential(p.name, credentials))]
        properties, required = {}, []
        for p in params:
            if p.location not in ("body", "formData"):
                properties[p.name] = self.argument(p)
                required += [p.name] if p.required or p.location == "path" else []
        body, body_required = self.request_body(op, params, doc)
        _add_body(properties, required, body, body_required, doc)
        returns = next((s for r in _successes(op.responses, doc) if (s := self.response_schema(r)) is not None), None)
        info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
        licence = info.get("license") if isinstance(info.get("license"), dict) else {}
        return {
            "name": function_name(op.operationId) if op.operationId else function_name(method, path),
            "description": op.description or op.summary or "",
            "parameters": normalize_parameters({"type": "object", "properties": properties, "required": required}, doc),
            "returns": None if returns is None else normalize_schema(returns, doc),
            "category": op.tags[0] if op.tags else None,
            "toolkit": info.get("title"),
            "licence": licence.get("name"),
            "http_method": method.upper(),
            "http_path": path,
        }


class OpenApi(OpenApiFamily):
    """OpenAPI 3: parameter schemas under ``schema``, bodies and responses under ``content``."""

    name = "openapi"

    def detect(self, record: dict) -> bool:
        return str(record.get("openapi", "")).startswith("3")

    def parameter_schema(self, param: Parameter) -> dict[str, Any]:
        return param.schema_

    def request_body(self, op: Operation, params: list[Parameter], doc: dict) -> tuple[Any, bool]:
        request = deref(op.requestBody, doc) or {}
        return _json_content(request), bool(request.get("required"))

    def response_schema(self, response: dict) -> Any:
        return _json_content(response)


def _reject(reason: str) -> dict[str, Any]:
    raise RecordError(reason)


def security_headers(doc: dict) -> set[str]:
    """Lower-cased names of the headers the spec's API-key security schemes read."""
    components = doc.get("components") if isinstance(doc.get("components"), dict) else {}
    schemes = doc.get("securityDefinitions") or components.get("securitySchemes") or {}
    return {
        str(s.get("name")).lower()
        for s in (schemes.values() if isinstance(schemes, dict) else [])
        if isinstance(s, dict) and s.get("in") == "header"
    }


def is_credential(header: str, declared: set[str]) -> bool:
    return header.lower() in declared or bool(_AUTH_HEADER.search(header))


def object_fields(schema: Any, doc: dict) -> tuple[dict[str, Any], list[str]] | None:
    """An object schema's properties and required names, ``allOf`` parts merged; ``None`` if not an object."""
    schema = deref(schema, doc)
    if not isinstance(schema, dict):
        return None
    properties = dict(schema["properties"]) if isinstance(schema.get("properties"), dict) else {}
    required = list(schema["required"]) if isinstance(schema.get("required"), list) else []
    for part in schema.get("allOf", []) if isinstance(schema.get("allOf"), list) else []:
        inner = object_fields(part, doc)
        if inner is None:
            return None
        properties.update(inner[0])
        required += inner[1]
    return (properties, required) if properties else None


def _add_body(properties: dict, required: list[str], body: Any, body_required: bool, doc: dict) -> None:
    """An object body's fields as arguments (required only if the body is); any other body as ``body``. A field
    the server alone sets (``_read_only``) is no argument, and one a parameter already declares is that
    parameter (``PUT /devices/{id}`` with a Device body: the path's ``id`` is the device's)."""
    if body is None:
        return
    fields, names = object_fields(body, doc) or ({}, [])
    kept = {name: prop for name, prop in fields.items() if name not in properties and not _read_only(name, prop, doc)}
    if kept:
        properties.update(kept)
        required += [name for name in names if name in kept] if body_required else []
    else:
        properties["body"] = body
        required += ["body"] if body_required else []


SERVER_SET = {"etag", "selflink", "created", "updated", "modified", "createdat", "updatedat", "modifiedat",
              "lastmodified", "lastupdated", "datecreated", "dateupdated", "datemodified", "creationtime",
              "createtime", "updatetime", "creationdate", "modificationdate", "createddate", "updateddate",
              "modifieddate", "lastupdateddate", "lastmodifieddate", "createdtime", "updatedtime"}
"""Body fields only a server sets, whatever the spec says (names lower-cased, ``_`` and ``-`` dropped): the
resource's version tag, its own URL, and when it was made or last changed (Google Tasks' ``updated``: a user
changes a task's title, never its modification time)."""
_SAYS_READ_ONLY = re.compile(r"^\W*(output[ -]only|read[ -]only)\b|\b(is|are) read[ -]only\b|\bthis is always\b",
                             re.I)
"""A description that marks a field the server sets (Google's "Output only.", "This collection is read-only.",
"Type of the resource. This is always "tasks#task".")."""
_SAYS_SERVER_TIME = re.compile(r"^\W*(the\s+)?(last\s+)?(modification|modified|update|updated|creation|created)\s+"
                               r"(date|time|timestamp)\b", re.I)
"""A description that says a field is the resource's own timeline ("Last modification time of the task")."""


def _read_only(name: str, prop: Any, doc: dict) -> bool:
    """Whether a body field is the server's to set: ``readOnly``, a name of ``SERVER_SET``, or said so."""
    prop = deref(prop, doc)
    server_set = re.sub(r"[-_]", "", name.lower()) in SERVER_SET
    if server_set or not isinstance(prop, dict):
        return server_set
    description = prop.get("description")
    return prop.get("readOnly") is True or isinstance(description, str) and any(
        said.search(description) for said in (_SAYS_READ_ONLY, _SAYS_SERVER_TIME))


def _successes(responses: dict[str | int, Any], doc: dict) -> Iterator[dict]:
    """The 2xx responses, lowest code first, dereferenced."""
    codes = sorted(((str(c), r) for c, r in responses.items() if _SUCCESS.fullmatch(str(c))), key=itemgetter(0))
    for _, response in codes:
        response = deref(response, doc)
        if isinstance(response, dict):
            yield response


def _json_content(holder: Any) -> Any:
    """The JSON media type's schema of an OpenAPI 3 request body or response, if it has one."""
    content = holder.get("content") if isinstance(holder, dict) else None
    if not isinstance(content, dict):
        return None
    media = next((m for kind, m in content.items() if "json" in kind), None)
    return media.get("schema") if isinstance(media, dict) else None
