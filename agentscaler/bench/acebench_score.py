"""ACEBench's scoring rules (its ``model_eval/checker.py`` and ``eval_main.py``), re-stated for the agent's
tool calls: each check returns None when the reply passes, else the reason it fails.

Normal categories (single, parallel, multi-turn, similar API, preference, atom): the calls must name
the answer's functions as many times each; every required parameter given, none that the schema or
the answer lacks; a value's type must be the schema's (``"true"``/``"false"`` read as booleans, an int
accepted for a float) unless it has the answer's own type or equals it, in which case it is not
checked further (ACEBench calls that a "variable"); then strings must contain the answer's (both
standardized: lower case, no spaces or ``,./-_*^``), lists must equal it element by element (strings
standardized), objects must have the answer's keys, each value containing the answer's as text, and
arrays of objects must match it object by object in order. ACEBench itself never compares numbers or
booleans (a wrong number of the right type passes); ``strict_scalars`` adds that comparison.

Special categories: the reply must say the phrase of its case and name what is wrong: "Missing necessary
parameters" with the function and each missing parameter (incomplete), "There is incorrect value"
with each wrong value (error_param), "the limitations of the function" (irrelevant).

Agent categories, process accuracy: the share of the gold milestone calls found in order among the
agent's steps (each step's calls compared as a whole, the best of the alternative milestone lists).

Where this departs from ACEBench's code: a call without arguments is right when the answer has none
(ACEBench also wants the schema to declare no parameters); the stray spaces in special_incomplete's
answers (``" rentalManagement "``) are stripped; milestones are compared as parsed calls, not as strings.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from agentscaler.bench.acebench_data import BEYOND, INCORRECT, MISSING, answer_calls, parse_calls

Calls = list[tuple[str, dict[str, Any]]]

# ACEBench's schema types as Python types (its PYTHON_TYPE_MAPPING); a type not listed is not type-checked.
_TYPES = {"string": str, "any": str, "integer": int, "int": int, "number": int, "float": float, "boolean": bool,
          "array": list, "tuple": list, "list": list, "list(string)": list, "list(enum)": list, "objectArray": list,
          "dict": dict, "object": dict}
_NESTED = {"array", "tuple", "list(string)", "list(enum)", "objectArray"}  # arrays whose items decide the check
_BOOLEAN_TEXT = {"true": True, "false": False}


def standardize(text: str) -> str:
    """ACEBench's string normal form: no spaces or ``,./-_*^``, lower case, single quotes as double."""
    return re.sub(r"[ ,./\-_*^]", "", text).lower().replace("'", '"')


def _std(value: Any) -> Any:
    return standardize(value) if isinstance(value, str) else value


def check_normal(functions: list[dict[str, Any]], calls: Calls, answer: dict[str, Any],
                 strict_scalars: bool = False) -> str | None:
    """One alternative of a normal item's answer against the agent's calls."""
    expected = answer_calls(answer, functions)
    if len(calls) != len(expected):
        return f"wrong number of calls: {len(calls)} for {len(expected)}"
    made, wanted = Counter(n for n, _ in calls), Counter(n for n, _ in expected)
    if made != wanted:
        return f"function mismatch: called {dict(made)}, expected {dict(wanted)}"
    schemas = {f["name"]: f for f in functions}
    for name, gold in expected:
        reasons = [_check_call(schemas.get(name, {}), args, gold, strict_scalars) for n, args in calls if n == name]
        if None not in reasons:
            return f"{name}: {reasons[0]}"
    return None


def _check_call(schema: dict[str, Any], args: dict[str, Any], gold: dict[str, Any], strict: bool) -> str | None:
    parameters = schema.get("parameters") or {}
    properties = parameters.get("properties") or {}
    if not args or not gold:
        return None if not args and not gold else "arguments given where none are expected, or none given"
    missing = [p for p in parameters.get("required", []) if p not in args]
    if missing:
        return f"required parameters missing: {missing}"
    for param, value in args.items():
        if param not in properties or param not in gold:
            return f"parameter not in the schema or the answer: {param}"
        reason = _check_value(param, value, gold[param], properties[param], strict)
        if reason:
            return reason
    return None


def _check_value(param: str, value: Any, gold: Any, spec: dict[str, Any], strict: bool) -> str | None:
    kind = spec.get("type")
    python = _TYPES.get(kind) if isinstance(kind, str) else None
    value = _BOOLEAN_TEXT.get(value, value) if isinstance(value, str) else value
    if kind == "float" and type(value) is int:
        value = float(value)
    variable = gold != "" and python is not None and type(gold) is not python
    if python is not None and type(value) is not python:
        if gold == "" or not (type(value) is type(gold) or value == gold):
            return f"wrong type for {param}: {type(value).__name__}, expected {kind}"
        variable = True
    if strict and isinstance(gold, (bool, int, float)) and (
            value != gold or isinstance(value, bool) != isinstance(gold, bool)):
        return f"wrong value for {param}: {value!r}, expected {gold!r}"
    if variable:
        return None
    if python is dict:
        return _check_object(param, value, gold)
    if python is list and kind in _NESTED and _TYPES.get((spec.get("items") or {}).get("type"), dict) is dict:
        if not isinstance(gold, list) or len(value) != len(gold):
            return f"wrong number of objects for {param}"
        return next(filter(None, map(lambda v, g: _check_object(param, v, g), value, gold)), None)
    if python is str and standardize(gold) not in standardize(value):
        return f"wrong value for {param}: {value!r}, expected {gold!r}"
    if python is list and [_std(v) for v in value] != [_std(g) for g in gold]:
        return f"wrong value for {param}: {value!r}, expected {gold!r}"
    return None


def _check_object(param: str, value: Any, gold: Any) -> str | None:
    """ACEBench's dict check: the answer's keys exactly, each value containing the answer's as text."""
    if not isinstance(value, dict) or not isinstance(gold, dict) or len(value) != len(gold):
        return f"wrong object for {param}: {value!r}, expected {gold!r}"
    for key, item in value.items():
        item = _BOOLEAN_TEXT.get(item, item) if isinstance(item, str) else item
        if key not in gold:
            return f"unexpected key {key!r} in {param}"
        if isinstance(gold[key], dict):
            reason = _check_object(param, item, gold[key])
            if reason:
                return reason
        elif str(_std(gold[key])) not in str(_std(item)):
            return f"wrong value for {param}.{key}: {item!r}, expected {gold[key]!r}"
    return None


def check_special(category: str, answer: Any, text: str) -> str | None:
    """A special item's reply text: the phrase of its case, with the names or values it must point out."""
    if category == "special_irrelevant":
        return None if BEYOND in text else f"does not say {BEYOND!r}"
    phrase = MISSING if category == "special_incomplete" else INCORRECT
    if phrase not in text:
        return f"does not say {phrase!r}"
    for name, values in answer.items():
        if category == "special_incomplete" and name not in text:
            return f"does not name the function {name}"
        absent = [v for v in (str(v).strip() for v in values) if v not in text]
        if absent:
            return f"does not name {absent}"
    return None


def process_score(milestones: list[list[str]], steps: list[Calls]) -> tuple[int, int]:
    """(milestones found in order, milestones) for the best alternative; a milestone is found at the first
    later step whose calls are exactly its calls, and one not found ends the search (as in ACEBench)."""
    best = (0, 1)
    for alternative in milestones:
        if not alternative:
            return 1, 1
        found, position = 0, 0
        for stone in map(parse_calls, alternative):
            while position < len(steps) and steps[position] != stone:
                position += 1
            if position == len(steps):
                break
            found, position = found + 1, position + 1
        if found / len(alternative) > best[0] / best[1]:
            best = (found, len(alternative))
    return best if best[0] else (0, len(milestones[0]) if milestones else 1)
