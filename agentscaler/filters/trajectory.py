"""A trajectory's messages and tool calls, parsed once, and the value normalization every filter shares.

Normalization (used by exact match, the repetition check and dedup): arguments are compared as JSON
values, so key order never matters; a number equal to an integer is that integer (``1 == 1.0``);
strings are stripped of surrounding whitespace but keep their case (case reaches the database, so
``"Pen"`` and ``"pen"`` are different writes); an argument set to ``null`` is the argument left out
(the simulator treats both the same).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from agentscaler.toolspec import integral

ROLES = frozenset({"system", "user", "assistant", "tool"})
UNPARSABLE = object()  # the arguments of a call whose argument text is not JSON


@dataclass(frozen=True, slots=True)
class Call:
    """One tool call of a trajectory, in message order."""

    message: int  # index of the assistant message that made it
    id: str | None
    name: Any  # a str when well-formed
    arguments: Any  # parsed JSON (a dict when well-formed), or UNPARSABLE

    def as_step(self) -> dict:
        """The call as the simulator takes it."""
        return {"name": self.name, "arguments": self.arguments if isinstance(self.arguments, dict) else "<bad>"}


def parse_messages(text: str | None) -> list[dict]:
    """The messages of a row; raises ValueError when they are not a JSON list of objects."""
    try:
        messages = json.loads(text) if text else None
    except (TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"messages are not JSON: {e}") from None
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ValueError("messages are not a JSON list of objects")
    return messages


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return UNPARSABLE
    return {} if raw is None else raw


def calls_of(messages: list[dict]) -> list[Call]:
    """Every tool call, in order; malformed ones are kept (with whatever could be read) for validity to judge."""
    calls = []
    for i, m in enumerate(messages):
        if m.get("role") != "assistant":
            continue
        for tc in m.get("tool_calls") or []:
            fn = tc.get("function") if isinstance(tc, dict) else None
            fn = fn if isinstance(fn, dict) else {}
            calls.append(Call(i, tc.get("id") if isinstance(tc, dict) else None, fn.get("name"),
                              _arguments(fn.get("arguments"))))
    return calls


@dataclass(frozen=True, slots=True)
class Trajectory:
    """A row's messages and calls, parsed once per worker and shared by the filters (never mutate them)."""

    messages: list[dict]
    calls: list[Call]
    keys: list[str] = field(default_factory=list)  # call_key of each call


@lru_cache(maxsize=2048)
def parse(text: str | None) -> Trajectory:
    """The row's trajectory; raises ValueError when its messages are malformed. Cached: the filters run
    one after another on the same batch, so each row's JSON is decoded once."""
    messages = parse_messages(text)
    calls = calls_of(messages)
    return Trajectory(messages, calls, [call_key(c.name, c.arguments) for c in calls])


def normalize(value: Any) -> Any:
    """The canonical form of a JSON value (see the module docstring)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return integral(value)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def call_key(name: Any, arguments: Any) -> str:
    """One call in canonical JSON text: equal keys mean equal calls."""
    args = "<unparsable>" if arguments is UNPARSABLE else normalize(arguments)
    return json.dumps([name, args], sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def tool_schemas(tools_text: str | None) -> dict[str, dict]:
    """Tool name -> parameters JSON Schema, from an OpenAI tool list (wrapped in "function" or flat)."""
    tools = json.loads(tools_text) if tools_text else []
    out = {}
    for t in tools if isinstance(tools, list) else []:
        fn = t.get("function", t) if isinstance(t, dict) else {}
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            out[fn["name"]] = fn.get("parameters") or {"type": "object", "properties": {}}
    return out
