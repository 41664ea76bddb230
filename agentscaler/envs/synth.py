"""Synthesized database states, and the sample arguments the build uses to check each tool.

Rows respect column types, enums, keys and foreign keys (a child's key column takes an existing
parent key); their values are what the columns mean, drawn row by row so a row's columns agree
(``envs.values``). Natural keys (username, email, code...) stay unique within their table, so a lookup
by one finds one row. A state depends only on (seed, domain, state index), so reruns reproduce it and
different indices give different states.
"""

from __future__ import annotations

import random
import re
from typing import Any, Callable

import networkx as nx

from agentscaler.envs.keys import person_columns, row_key
from agentscaler.envs.semantics import is_natural_key
from agentscaler.envs.spec import Binding, Column, Table, ValueHints
from agentscaler.envs.values import SHARED, Meaning, Record, as_argument, conforms, meaning, value
from agentscaler.seeding import rng_for

Rows = dict[str, list[list[Any]]]
UNIQUE_TRIES = 8
"""Draws of a natural key before it is told apart by its row number."""


def _meanings(table: Table) -> dict[str, Meaning]:
    siblings = frozenset(c.name for c in table.columns)
    return {c.name: meaning(c, table.entity, siblings) for c in table.columns}


def unique(column: Column, m: Meaning) -> bool:
    """Whether the column's values must differ row to row: a scalar natural key without an enum, unless rows
    share what it holds (``country_code``: a country)."""
    return (is_natural_key(column.name) and not column.enum and m.kind not in SHARED
            and column.json_type in ("string", "integer", "number", "any"))


def distinct(draw: Callable[[], Any], taken: set, n: int) -> Any:
    """A value of ``draw`` not in ``taken`` (and now in it): drawn again a few times, then told apart by ``n``
    (before an email's ``@``, at the end of other text, past the largest number)."""
    for _ in range(UNIQUE_TRIES):
        v = draw()
        if v not in taken:
            break
    else:
        v = re.sub(r"(@|$)", f"{n}\\1", v, count=1) if isinstance(v, str) else max(
            [v, *(t for t in taken if isinstance(t, (int, float)))]) + 1
    taken.add(v)
    return v


SELF_LINKED = 0.6
"""The share of rows (past the first) that refer to another row of their own table: a task's parent task."""


def synthesize(tables: list[Table], rows: int, seed: int, domain_id: int, index: int) -> Rows:
    """One initial state; tables in dependency order (parents first), so inserts satisfy foreign keys.
    A singleton (settings) table has one row. References point into the first ~80% of a parent's rows, so
    some parents have no dependents (a user without orders) and a restricting delete has a row it may remove;
    a reference to the table's own rows points to an earlier row, so the rows form trees (subtasks)."""
    rng = rng_for(seed, domain_id, index)
    keys: dict[str, list[Any]] = {}
    state: Rows = {}
    for table in dependency_order(tables):
        refs = {fk.column: fk.table for fk in table.foreign_keys}
        kin = _Kin(table)
        meanings = _meanings(table)
        taken: dict[str, set] = {c.name: set() for c in table.columns if unique(c, meanings[c.name])}
        named = table.key_shape == "handle" and bool(person_columns(table))  # a handle takes the row's person
        data = []
        for n in range(1, (1 if table.singleton else rows) + 1):
            record = Record(rng, table.entity)
            row = []
            for c in table.columns:
                if c.name == table.primary_key:
                    row.append(n if table.key_shape is None else row_key(table.key_shape, table.entity, n,
                                                                          record.person if named else None))
                elif refs.get(c.name) == table.name:  # set below, once the row's other parents are drawn
                    row.append(None)
                elif c.name in refs:
                    parents = keys.get(refs[c.name])
                    row.append(rng.choice(parents[:max(1, round(0.8 * len(parents)))]) if parents else None)
                elif c.name in taken:
                    row.append(distinct(lambda: value(c, meanings[c.name], record), taken[c.name], n))
                else:
                    row.append(value(c, meanings[c.name], record))
            for at in kin.selves:  # another row of the table, an earlier one of the same parents (its list's), or none
                earlier = [r for r in data if kin.same(r, row)]
                row[at] = rng.choice(earlier)[0] if earlier and rng.random() < SELF_LINKED else None
            data.append(row)
        keys[table.name] = [r[0] for r in data]
        state[table.name] = data
    return state


class _Kin:
    """Where a table refers to its own rows (``selves``) and to other tables' (``parents``), by position: a row's
    parent task or previous sibling is one of the same parents (a task of its own list)."""

    def __init__(self, table: Table):
        self.at = {c.name: i for i, c in enumerate(table.columns)}
        self.selves = [self.at[fk.column] for fk in table.foreign_keys if fk.table == table.name]
        self.parents = [self.at[fk.column] for fk in table.foreign_keys if fk.table != table.name]

    def same(self, row: list[Any], other: list[Any]) -> bool:
        return all(str(row[at]) == str(other[at]) for at in self.parents)


def dependency_order(tables: list[Table]) -> list[Table]:
    """Parents before children; the tables of a reference cycle in their own order (the links among them stay
    NULL), and before every table that refers to one of them (API Gateway's stages name a REST API that is in
    a cycle with its methods: picking the first table left had put stages first, with no API to name)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(tables)))
    at = {t.name: i for i, t in enumerate(tables)}
    graph.add_edges_from((at[fk.table], i) for i, t in enumerate(tables) for fk in t.foreign_keys
                         if fk.table in at and fk.table != t.name)
    cycles = nx.condensation(graph)
    order = nx.lexicographical_topological_sort(cycles, key=lambda c: min(cycles.nodes[c]["members"]))
    return [tables[i] for c in order for i in sorted(cycles.nodes[c]["members"])]


def sample_arguments(bindings: list[Binding], table: Table, state: Rows, row: int, rng: random.Random) -> dict:
    """Arguments for one call, filters taken from an existing row so they match it; used to check tools and
    to sample tasks. Fresh values are drawn as one record (a new user's name and email agree), a new
    natural key names no existing row, and a new value differs from the row's own where it can."""
    existing = state.get(table.name) or []
    target = dict(zip([c.name for c in table.columns], existing[row % len(existing)])) if existing else {}
    names = {c.name: c for c in table.columns}
    positions = {c.name: i for i, c in enumerate(table.columns)}
    parents = {fk.column: state.get(fk.table) or [] for fk in table.foreign_keys}
    siblings = frozenset(names)
    record = Record(rng, table.entity)

    def fresh(b: Binding) -> Any:
        column = names.get(b.column) or Column(name=b.param, type="TEXT", json_type=b.json_type)
        hinted = {k: getattr(b, k) for k in ValueHints.model_fields if getattr(b, k) is not None}  # this tool's own
        column = column.model_copy(update={"json_type": b.json_type, "enum": b.enum, **hinted})
        m = meaning(column, table.entity, siblings)
        if b.role == "value" and unique(column, m) and column.name in positions:
            stored = distinct(lambda: value(column, m, record), {r[positions[column.name]] for r in existing}, row)
        else:
            stored = value(column, m, record)
        return as_argument(stored, b.json_type)

    args = {}
    for b in bindings:
        if b.role in ("limit", "page"):
            args[b.param] = as_argument(5 if b.role == "limit" else 1, b.json_type)
        elif b.role == "offset":
            args[b.param] = as_argument(0, b.json_type)
        elif b.role == "value" and b.column == table.primary_key:
            key = 10_000 + row
            person = record.person if table.key_shape == "handle" and person_columns(table) else None
            args[b.param] = as_argument(key if table.key_shape is None else row_key(
                table.key_shape, table.entity, key, person), b.json_type)
        elif b.role == "value" and parents.get(b.column):  # (of the table's own rows: not the one written)
            written = existing[row % len(existing)] if existing else None
            others = [r for r in parents[b.column] if r is not written] or parents[b.column]
            args[b.param] = as_argument(rng.choice(others)[0], b.json_type)
        elif b.role == "value" or b.column not in target:
            args[b.param] = fresh(b)
            held = as_argument(target[b.column], b.json_type) if b.role == "value" and b.column in target else None
            for _ in range(UNIQUE_TRIES):  # a new value is not the one the row holds
                if held is None or args[b.param] != held:
                    break
                args[b.param] = fresh(b)
        elif b.role == "in":  # the row's value, now and then with another row's
            other = existing[rng.randrange(len(existing))][positions[b.column]] if rng.random() < 0.5 else None
            values = [as_argument(v, b.shape["items"]["type"]) for v in (target[b.column], other) if v is not None]
            args[b.param] = list(dict.fromkeys(values))
        elif b.role == "like":  # a word of the row's value, as a person searches
            args[b.param] = next(iter(str(target[b.column] or "").split()), "")
        else:
            args[b.param] = as_argument(target[b.column], b.json_type)
        v = args[b.param]
        if (v is None and b.required) or (b.enum and v not in b.enum) or (v is not None and not conforms(v, b.shape)):
            args[b.param] = fresh(b)  # the row's value does not fit the parameter's type, enum or shape
    return among_kin(bindings, table, state, row, {k: v for k, v in args.items() if v is not None}, rng)


def among_kin(bindings: list[Binding], table: Table, state: Rows, row: int, args: dict, rng: random.Random,
              kept: frozenset[str] = frozenset()) -> dict:
    """``args`` with each reference to another row of the table itself (but those in ``kept``) drawn again among
    the rows of the same other parents as the row the call leaves (a subtask of its own list), or left out
    where there is none and it may be."""
    kin, existing = _Kin(table), state.get(table.name) or []
    if not kin.selves:
        return args
    left = list(existing[row % len(existing)]) if existing else [None] * len(table.columns)
    for b in bindings:
        if b.param in args and b.column in kin.at:
            left[kin.at[b.column]] = args[b.param]
    for b in bindings:
        if b.role == "value" and b.param in args and b.param not in kept and kin.at.get(b.column) in kin.selves:
            rows = [r for r in existing if r[0] != left[0] and kin.same(r, left)]
            if rows or not b.required:  # none there: a top-level task
                args[b.param] = as_argument(rng.choice(rows)[0], b.json_type) if rows else None
    return {k: v for k, v in args.items() if v is not None}
