"""Python type annotations written as text (``List[str]``, ``str, optional``) as JSON Schema.

xLAM / API-Gen function docs and ToolBench's response templates describe values by Python type
name rather than JSON Schema; this is the one place those names are read.
"""

from __future__ import annotations

import re
from typing import Any

from agentscaler.ingest.records import RecordError

_SCALARS = {
    "str": "string", "string": "string", "int": "integer", "integer": "integer", "float": "number",
    "number": "number", "double": "number", "bool": "boolean", "boolean": "boolean",
    "nonetype": "null", "none": "null", "null": "null",
}  # fmt: skip
_ARRAYS = {"list", "tuple", "set", "sequence", "iterable", "array"}
_OBJECTS = {"dict", "mapping", "object"}
_GENERIC = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?:\[(.*)\])?\s*$", re.S)
_OPTIONAL_SUFFIX = re.compile(r",\s*optional\s*$", re.I)


def python_type(text: Any) -> tuple[dict[str, Any], bool]:
    """The schema for a type annotation, and whether it is optional (``, optional`` / ``Optional[X]``)."""
    if not isinstance(text, str):
        raise RecordError(f"unknown type: {text!r}")
    optional = bool(_OPTIONAL_SUFFIX.search(text))
    text = _OPTIONAL_SUFFIX.sub("", text)
    head, args = _split_generic(text)
    if head == "optional" and len(args) == 1:
        return python_schema(args[0]), True
    return python_schema(text), optional


def python_schema(text: str) -> dict[str, Any]:
    """JSON Schema for one annotation; ``Any`` is the permissive schema ``{}``."""
    head, args = _split_generic(text)
    if head in _SCALARS and not args:
        return {"type": _SCALARS[head]}
    if head == "any" and not args:
        return {}
    if head in _ARRAYS:
        return {"type": "array", **({"items": python_schema(args[0])} if len(args) == 1 else {})}
    if head in _OBJECTS:
        values = python_schema(args[1]) if len(args) == 2 else {}
        return {"type": "object", **({"additionalProperties": values} if values else {})}
    if head == "union" and args:
        return {"anyOf": [python_schema(arg) for arg in args]}
    if head == "optional" and len(args) == 1:
        return {"anyOf": [python_schema(args[0]), {"type": "null"}]}
    raise RecordError(f"unknown type: {text!r}")


def _split_generic(text: str) -> tuple[str, list[str]]:
    """``'Dict[str, List[int]]'`` -> ``('dict', ['str', 'List[int]'])``: top-level arguments only."""
    match = _GENERIC.match(text)
    if not match:
        raise RecordError(f"unknown type: {text!r}")
    head, inner = match.group(1).split(".")[-1].lower(), match.group(2)
    args, depth, start = [], 0, 0
    for i, char in enumerate(inner or ""):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            args.append(inner[start:i].strip())
            start = i + 1
    if inner and inner.strip():
        args.append(inner[start:].strip())
    return head, args
