"""JSON Patch bodies (RFC 6902): an update whose body is a list of operations, each naming a field by its path.

AWS API Gateway's ``patchOperations``, LaunchDarkly's and hetras's ``body``: ``[{"op": "replace", "path": "/name",
"value": "Checkout"}]``. The schema binds each field such a tool may change as a ``value`` binding whose ``param``
is the field's path (``/name``) and whose ``patch`` names the parameter the operations travel in. The planner, the
intents, the policy and the teacher work with those flat arguments, as with any update; a call packs them into
operations (``packed``) and the simulator unpacks them (``unpacked``), so the agent reads and writes the API's own
shape and the database sees the fields it names.
"""

from __future__ import annotations

import json
from typing import Any

from agentscaler.envs.naming import snake
from agentscaler.envs.spec import Binding, Column, CompiledTool, Table, ValueHints
from agentscaler.ingest import SERVER_SET
from agentscaler.toolspec import ToolSpec

MAX_FIELDS = 8
"""Fields a patch may change where no create of its table says which: the table's first, as the API shows them."""
REMOVE = object()
"""A flat argument's value for a ``remove`` operation: the field is cleared (NULL)."""
_SETS = ("replace", "add")  # on a field of an existing row both set it
_OPS = (*_SETS, "remove", "move", "copy", "test")


class PatchError(ValueError):
    """A patch list the tool cannot apply; its message is the error observation."""


def is_json_patch(prop: Any) -> bool:
    """Whether a parameter's schema is a JSON Patch list: an array of objects with an ``op`` and a ``path``."""
    items = prop.get("items") if isinstance(prop, dict) and prop.get("type") == "array" else None
    fields = items.get("properties") if isinstance(items, dict) else None
    return isinstance(fields, dict) and {"op", "path"} <= set(fields)


def field_bindings(patch: str, table: Table, filters: set[str], named: dict[str, str]) -> list[Binding]:
    """The fields a patch in parameter ``patch`` may change on ``table``: those the API names (``named``: column
    -> its spelling, ``defaultTtl``), else the table's first ``MAX_FIELDS`` columns; never its key, a reference
    to another row, a column that finds the row (``filters``) or a field only the server sets."""
    fixed = {table.primary_key, *filters, *(fk.column for fk in table.foreign_keys)}
    columns = [c for c in table.columns if c.name not in fixed and c.name.replace("_", "") not in SERVER_SET]
    chosen = [c for c in columns if c.name in named] or columns[:MAX_FIELDS]
    return [_binding(patch, c, named.get(c.name, c.name)) for c in chosen]


def _binding(patch: str, column: Column, spelling: str) -> Binding:
    hints = {k: getattr(column, k) for k in ValueHints.model_fields}
    return Binding(param=f"/{spelling}", column=column.name, role="value", json_type=column.json_type,
                   enum=column.enum, patch=patch, **hints)


def relaxed(tool: ToolSpec, patch: str) -> ToolSpec:
    """The tool with its patch operations' ``value`` open to any JSON value where the spec types it as an object
    or an array: RFC 6902's value is any JSON value, and LaunchDarkly's spec says object where its own docs
    replace ``/name`` with a string."""
    props = tool.parameters.get("properties") or {}
    item = props[patch]["items"]
    value = (item.get("properties") or {}).get("value")
    if not isinstance(value, dict) or value.get("type") not in ("object", "array"):
        return tool
    opened = {k: v for k, v in value.items() if k not in ("type", "properties", "items", "additionalProperties")}
    item = {**item, "properties": {**item["properties"], "value": opened}}
    parameters = {**tool.parameters, "properties": {**props, patch: {**props[patch], "items": item}}}
    return tool.model_copy(update={"parameters": parameters})


def packed(tool: CompiledTool, args: dict[str, Any]) -> dict[str, Any]:
    """Flat arguments as the tool takes them: each field's value a ``replace`` operation in its patch list, as
    text where the spec types the operation's value as a string (AWS: ``"value": "true"``)."""
    fields = {b.param: b.patch for b in tool.operation.bindings if b.patch} if tool.operation else {}
    if not fields:
        return args
    props = tool.openai_schema.get("function", {}).get("parameters", {}).get("properties") or {}
    out: dict[str, Any] = {}
    for param, v in args.items():
        if param in fields:
            value = ((props.get(fields[param]) or {}).get("items", {}).get("properties") or {}).get("value") or {}
            text = value.get("type") == "string" and not isinstance(v, str)
            v = json.dumps(v, ensure_ascii=False) if text else v
            out.setdefault(fields[param], []).append({"op": "replace", "path": param, "value": v})
        else:
            out[param] = v
    return out


def unpacked(bindings: list[Binding], args: dict[str, Any]) -> dict[str, Any]:
    """A call's patch lists as flat arguments (field path -> value, ``REMOVE`` for a removed field); raises
    ``PatchError`` for a list the tool cannot apply. A path may be spelled as the API does (``/defaultTtl``) or
    as the column (``/default_ttl``); later operations on a field win, as RFC 6902 applies them in order."""
    fields = {b.param: b for b in bindings if b.patch}
    if not fields:
        return args
    loose = sorted(p for p in args if p in fields)
    if loose:  # a field's path is no parameter of its own: the tool's schema has the list only
        example = json.dumps({"op": "replace", "path": loose[0], "value": "..."})
        raise PatchError(f"unexpected argument(s) {loose}: a field is changed by an operation in "
                         f"{fields[loose[0]].patch!r}, such as {example}")
    lists: dict[str, dict[str, Binding]] = {}
    for b in fields.values():
        lists.setdefault(b.patch, {}).update({snake(b.param[1:]): b, b.column: b})
    out = {p: v for p, v in args.items() if p not in lists}
    for patch, paths in lists.items():
        operations = args.get(patch)
        if operations is None:
            continue
        if not isinstance(operations, list):
            raise PatchError(f"argument {patch!r} must be a list of JSON Patch operations "
                             f'({{"op": "replace", "path": "/field", "value": ...}}), got {type(operations).__name__}')
        for i, operation in enumerate(operations):
            b, v = _operation(patch, i, operation, paths)
            out[b.param] = _typed(v, b)
    return out


def _typed(v: Any, b: Binding) -> Any:
    """A value sent as text for a field that is not (``"true"``, ``"5"``: AWS's operations carry text) as the
    field's type; anything else as sent, for the simulator's checks to judge."""
    if not isinstance(v, str) or b.json_type in ("string", "any"):
        return v
    try:
        return json.loads(v)
    except ValueError:
        return v


def _operation(patch: str, i: int, operation: Any, paths: dict[str, Binding]) -> tuple[Binding, Any]:
    where = f"{patch}[{i}]"
    if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
        raise PatchError(f"{where} must be an object with an 'op' and a 'path'")
    op, path = operation.get("op"), operation["path"]
    if op not in _OPS:
        raise PatchError(f"{where}: op must be one of {list(_OPS)}, got {op!r}")
    if op not in (*_SETS, "remove"):
        raise PatchError(f"{where}: op {op!r} is not supported here; use replace, add or remove")
    # RFC 6901: "/" starts the pointer, "~1" is a slash and "~0" a tilde inside a name
    name = path[1:].replace("~1", "/").replace("~0", "~") if path.startswith("/") else None
    b = (paths.get(name) or paths.get(snake(name))) if name and "/" not in name else None
    if b is None:
        raise PatchError(f"{where}: path {path!r} names no field this tool can change; it can change "
                         f"{sorted({b.param for b in paths.values()})}")
    if op == "remove":
        return b, REMOVE
    if "value" not in operation:
        raise PatchError(f"{where}: op {op!r} needs a 'value'")
    return b, operation["value"]
