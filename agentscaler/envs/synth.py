"""Synthesized database states, and the sample arguments the build uses to check each tool.

Rows respect column types, enums, keys and foreign keys (a child's key column takes an existing
parent key). A state depends only on (seed, domain, state index), so reruns reproduce it and
different indices give different states.
"""

from __future__ import annotations

import json
import random
from typing import Any

from agentscaler.envs.naming import tokens
from agentscaler.envs.semantics import is_natural_key
from agentscaler.envs.spec import Binding, Column, JsonType, Table
from agentscaler.seeding import rng_for

Rows = dict[str, list[list[Any]]]

_WORDS = {
    "name": ["Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger"],
    "city": ["Paris", "Tokyo", "Lagos", "Lima", "Oslo", "Austin", "Pune", "Cairo"],
    "country": ["US", "FR", "JP", "NG", "PE", "NO", "IN", "EG"],
    "language": ["en", "fr", "ja", "es", "de"], "lang": ["en", "fr", "ja", "es", "de"],
    "currency": ["USD", "EUR", "JPY", "GBP"],
    "status": ["active", "pending", "closed"],
}
_NUMBER_RANGES = {"year": (1990, 2025), "age": (18, 90), "quantity": (1, 10), "count": (1, 20),
                  "rating": (1, 5), "lat": (-90, 90), "latitude": (-90, 90), "lon": (-180, 180),
                  "lng": (-180, 180), "longitude": (-180, 180)}


def value(column: Column, rng: random.Random, row: int, table: str) -> Any:
    """A plausible value for one column, guided by its enum, default, type and name."""
    if column.enum:
        return encode(rng.choice(column.enum))
    if column.default is not None and rng.random() < 0.5:
        return encode(column.default)
    words = tokens(column.name)
    last = words[-1] if words else column.name
    kind: JsonType = column.json_type
    if kind == "boolean":
        return rng.randint(0, 1)
    if kind in ("integer", "number"):
        low, high = _NUMBER_RANGES.get(last, (1, 1000))
        return rng.randint(low, high) if kind == "integer" else round(rng.uniform(low, high), 2)
    if kind in ("array", "object"):
        return "[]" if kind == "array" else "{}"
    if "email" in words:
        return f"{rng.choice(_WORDS['name']).lower()}{row}@example.com"
    if is_natural_key(column.name):  # unique, so a lookup by it finds one row
        return f"{last}_{row}"
    if last in ("date", "birthday", "day") or "date" in words:
        return f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if last in ("url", "link", "website"):
        return f"https://example.com/{table}/{row}"
    if last in ("phone", "mobile"):
        return f"+1-555-01{rng.randint(0, 99):02d}"
    for key, choices in _WORDS.items():
        if key in words:
            return rng.choice(choices) if key != "name" else f"{rng.choice(choices)} {row}"
    return f"{last}_{rng.randint(1, 99)}"


def encode(v: Any) -> Any:
    """A JSON value as SQLite stores it: booleans as 0/1, arrays and objects as JSON text."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, sort_keys=True, separators=(",", ":"))
    return v


def synthesize(tables: list[Table], rows: int, seed: int, domain_id: int, index: int) -> Rows:
    """One initial state; tables in dependency order (parents first), so inserts satisfy foreign keys.
    A singleton (settings) table has one row. References point into the first ~80% of a parent's rows, so
    some parents have no dependents (a user without orders) and a restricting delete has a row it may remove."""
    rng = rng_for(seed, domain_id, index)
    keys: dict[str, list[Any]] = {}
    state: Rows = {}
    for table in dependency_order(tables):
        refs = {fk.column: fk.table for fk in table.foreign_keys}
        data = []
        for n in range(1, (1 if table.singleton else rows) + 1):
            row = []
            for c in table.columns:
                if c.name == table.primary_key:
                    row.append(n if table.key_prefix is None else f"{table.key_prefix}{n}")
                elif c.name in refs:
                    parents = keys.get(refs[c.name])
                    row.append(rng.choice(parents[:max(1, round(0.8 * len(parents)))]) if parents else None)
                else:
                    row.append(value(c, rng, n, table.name))
            data.append(row)
        keys[table.name] = [r[0] for r in data]
        state[table.name] = data
    return state


def dependency_order(tables: list[Table]) -> list[Table]:
    """Parents before children; tables in a reference cycle keep their order (their links stay NULL)."""
    done: list[Table] = []
    pending = list(tables)
    while pending:
        ready = [t for t in pending if all(fk.table in {d.name for d in done} for fk in t.foreign_keys)]
        chosen = ready[0] if ready else pending[0]
        done.append(chosen)
        pending.remove(chosen)
    return done


def as_argument(v: Any, kind: JsonType) -> Any:
    """A stored value as an agent would pass it for a parameter of this JSON type (None if it can't be)."""
    if v is None:
        return None
    try:
        if kind == "string":
            return v if isinstance(v, str) else str(v)
        if kind == "integer":
            return int(v)
        if kind == "number":
            return float(v)
        if kind == "boolean":
            return bool(v)
        if kind in ("array", "object"):
            return json.loads(v) if isinstance(v, str) else v
    except (TypeError, ValueError):
        return None
    return v


def sample_arguments(bindings: list[Binding], table: Table, state: Rows, row: int, rng: random.Random) -> dict:
    """Arguments for one call, filters taken from an existing row so they match it; used to check tools."""
    existing = state.get(table.name) or []
    target = dict(zip([c.name for c in table.columns], existing[row % len(existing)])) if existing else {}
    names = {c.name: c for c in table.columns}
    parents = {fk.column: state.get(fk.table) or [] for fk in table.foreign_keys}

    def fresh(b: Binding) -> Any:
        column = names.get(b.column) or Column(name=b.param, type="TEXT", json_type=b.json_type)
        return as_argument(value(column.model_copy(update={"json_type": b.json_type, "enum": b.enum}),
                                 rng, row, table.name), b.json_type)

    args = {}
    for b in bindings:
        if b.role in ("limit", "page"):
            args[b.param] = as_argument(5 if b.role == "limit" else 1, b.json_type)
        elif b.role == "offset":
            args[b.param] = as_argument(0, b.json_type)
        elif b.role == "value" and b.column == table.primary_key:
            args[b.param] = as_argument(f"{table.key_prefix or ''}{10_000 + row}", b.json_type)
        elif b.role == "value" and parents.get(b.column):
            args[b.param] = as_argument(rng.choice(parents[b.column])[0], b.json_type)
        elif b.role == "value" or b.column not in target:
            args[b.param] = fresh(b)
        elif b.role == "like":
            args[b.param] = str(target[b.column] or "")[:3]
        else:
            args[b.param] = as_argument(target[b.column], b.json_type)
        if (args[b.param] is None and b.required) or (b.enum and args[b.param] not in b.enum):
            args[b.param] = fresh(b)  # the row's value does not fit the parameter's type or enum
    return {k: v for k, v in args.items() if v is not None}
