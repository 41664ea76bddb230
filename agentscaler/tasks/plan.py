"""Tool sequences with data dependencies: the gold plan of a task, sampled from a domain's tools.

A plan ends in a *target* call (usually a write) and starts with the reads that find what the
target needs: an id the user cannot know is looked up by a read that takes what the user does know
(a name, an email, the owning entity's key) and returns the row that holds the id. A create may be
followed by a write on the row it created, addressed by the key the create returned. So later calls
take values earlier calls returned, as a real agent's calls do, and the intent can leave those
values out.

Every step is executed while the plan is sampled: a plan whose call errors, whose lookup does not
return the value it must provide, or whose target row the user could not single out is discarded
and sampled again.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from agentscaler.envs import CompiledTool, DomainSimulator, EnvSpec, Table, as_argument, sample_arguments

FILTER_ROLES = ("eq", "like", "ge", "le")
PAGING_ROLES = ("limit", "offset", "page")


@dataclass
class Step:
    """One gold call, and where each of its values comes from."""

    tool: CompiledTool
    arguments: dict[str, Any]
    looked_up: dict[str, int] = field(default_factory=dict)  # param -> index of the step whose result holds it
    observation: str = ""
    singles_out: dict[str, Any] = field(default_factory=dict)  # lookup: column -> value telling its row apart
    purpose: str = "target"  # "lookup" (finds a value), "target", or "follow-up" (acts on the target's result)

    @property
    def call(self) -> dict[str, Any]:
        return {"name": self.tool.name, "arguments": self.arguments}


@dataclass
class Plan:
    steps: list[Step]
    table: Table  # the target's table

    @property
    def writes(self) -> bool:
        return any(s.tool.kind != "read" for s in self.steps)


class PlanError(ValueError):
    """This draw cannot become a task; the sampler draws again."""


def _rows(spec: EnvSpec, state: int, table: str) -> list[dict[str, Any]]:
    columns = [c.name for c in spec.table(table).columns]
    return [dict(zip(columns, row)) for row in spec.states[state].get(table, [])]


def _choose_arguments(tool: CompiledTool, table: Table, spec: EnvSpec, state: int, row: int,
                      rng: random.Random) -> dict[str, Any]:
    """Values from an existing row (filters) or fresh ones (values to write); a random subset of optionals.

    Writes keep at least one filter and one value, so they touch a row and change it.
    """
    args = sample_arguments(tool.operation.bindings, table, spec.states[state], row, rng)
    bindings = {b.param: b for b in tool.operation.bindings}
    kept = {}
    for param, v in args.items():
        b = bindings[param]
        if b.required or (b.role not in PAGING_ROLES and rng.random() < 0.5):
            kept[param] = v
    for role_set in ((FILTER_ROLES,) if tool.kind in ("update", "delete") else ()) + (
            (("value",),) if tool.kind == "update" else ()):
        if not any(bindings[p].role in role_set for p in kept):
            options = [p for p in args if bindings[p].role in role_set]
            if options:
                chosen = rng.choice(options)
                kept[chosen] = args[chosen]
    return kept


def _key_columns(spec: EnvSpec, table: Table) -> dict[str, tuple[str, str]]:
    """Columns of ``table`` that hold a key the user would not know: column -> (table, column) it keys."""
    keys = {table.primary_key: (table.name, table.primary_key)}
    keys.update({fk.column: (fk.table, fk.ref_column) for fk in table.foreign_keys})
    return keys


def _lookup(sim: DomainSimulator, spec: EnvSpec, reads: list[CompiledTool], owner: str, column: str,
            value: Any, rng: random.Random) -> tuple[CompiledTool, dict[str, Any], str, dict] | None:
    """A read that returns the row of ``owner`` holding ``column == value``, called with what else that row
    says; ``(tool, arguments, observation)`` or None when no read can find it."""
    source = next((r for r in sim.rows(owner) if r.get(column) == value), None)
    if source is None:
        return None
    candidates = [t for t in reads if t.table == owner]
    rng.shuffle(candidates)
    for tool in candidates:
        args: dict[str, Any] = {}
        usable = True
        for b in tool.operation.bindings:
            if b.role in FILTER_ROLES and b.column == column:
                usable = not b.required  # taking the id as input finds nothing the user did not know
                continue
            if b.role in FILTER_ROLES and b.column in source and source[b.column] is not None and b.role == "eq" \
                    and (b.required or rng.random() < 0.5):
                arg = as_argument(source[b.column], b.json_type)
                if arg is None or (b.enum and arg not in b.enum):
                    usable = not b.required
                    continue
                args[b.param] = arg
            elif b.required:
                usable = False
            if not usable:
                break
        if not usable or not args:  # a lookup with no filter finds a row the user never named
            continue
        obs = sim.step({"name": tool.name, "arguments": args})
        if obs.error:
            continue
        found = json.loads(obs.observation)
        rows = found if isinstance(found, list) else [found]
        if any(isinstance(r, dict) and r.get(column) == value for r in rows):
            return tool, args, obs.observation, _singles_out(spec.table(owner), spec, rows, column, value, tool, args)
    return None


def sample_plan(sim: DomainSimulator, state: int, target: CompiledTool, rng: random.Random,
                follow_up: float = 0.4) -> Plan:
    """A plan ending in ``target`` (plus, sometimes, a write on the row a create made); raises PlanError."""
    spec = sim.spec
    sim.reset(state)
    table = spec.table(target.table)
    rows = _rows(spec, state, table.name)
    row_index = rng.randrange(max(len(rows), 1))
    args = _choose_arguments(target, table, spec, state, row_index, rng)
    bindings = {b.param: b for b in target.operation.bindings}
    reads = [t for t in spec.tools if t.executable and t.kind == "read" and t is not target]
    keys = _key_columns(spec, table)
    steps: list[Step] = []
    looked_up: dict[str, int] = {}
    for param, v in list(args.items()):
        b = bindings[param]
        if b.column not in keys or b.role not in ("eq", "value") or (b.role == "value" and b.column == table.primary_key):
            continue
        owner, ref_column = keys[b.column]
        found = _lookup(sim, spec, reads, owner, ref_column, _stored(v), rng)
        if found is not None:
            tool, lookup_args, obs, singles_out = found
            steps.append(Step(tool, lookup_args, observation=obs, purpose="lookup", singles_out=singles_out))
            looked_up[param] = len(steps) - 1
    target_step = Step(target, args, looked_up)
    steps.append(target_step)
    _execute(sim, target_step)
    if target.kind == "create" and rng.random() < follow_up:
        extra = _follow_up(sim, spec, target, target_step, len(steps) - 1, rng)
        if extra is not None:
            steps.append(extra)
    return Plan(steps, table)


def _stored(v: Any) -> Any:
    """An argument as the database holds it (booleans as 0/1), to find the row it names."""
    return int(v) if isinstance(v, bool) else v


def _execute(sim: DomainSimulator, step: Step) -> None:
    obs = sim.step(step.call)
    if obs.error:
        raise PlanError(f"{step.tool.name} failed: {json.loads(obs.observation)['error']}")
    step.observation = obs.observation


def _follow_up(sim: DomainSimulator, spec: EnvSpec, created_by: CompiledTool, step: Step, index: int,
               rng: random.Random) -> Step | None:
    """An update or delete of the row just created, addressed by the key the create returned."""
    table = spec.table(created_by.table)
    created = json.loads(step.observation).get("created") or []
    if not created:
        return None
    row = created[0]
    writes = [t for t in spec.tools if t.executable and t.kind in ("update", "delete") and t.table == table.name
              and any(b.column == table.primary_key and b.role == "eq" for b in t.operation.bindings)]
    if not writes:
        return None
    tool = rng.choice(writes)
    one_row = {table.name: [[row.get(c.name) for c in table.columns]]}
    args = sample_arguments(tool.operation.bindings, table, one_row, 0, rng)
    bindings = {b.param: b for b in tool.operation.bindings}
    key_param = next(b.param for b in tool.operation.bindings if b.column == table.primary_key and b.role == "eq")
    args = {p: v for p, v in args.items() if p == key_param or bindings[p].required or
            (bindings[p].role == "value" and rng.random() < 0.7)}
    if tool.kind == "update" and not any(bindings[p].role == "value" for p in args) and not tool.operation.assign:
        return None  # nothing to change (a status transition changes its constant column without arguments)
    args[key_param] = as_argument(row[table.primary_key], bindings[key_param].json_type)
    extra = Step(tool, args, {key_param: index}, purpose="follow-up")
    try:
        _execute(sim, extra)
    except PlanError:
        return None
    return extra


def _singles_out(table: Table, spec: EnvSpec, rows: list, column: str, value: Any, lookup: CompiledTool,
                 args: dict[str, Any]) -> dict[str, Any]:
    """A column of the wanted row that no other returned row shares, so the user can say which one.

    The user cannot give the id, so the intent names the row by what it holds; if nothing tells it
    apart from the other rows the lookup returns, the task is ill-posed and is drawn again.
    """
    rows = [r for r in rows if isinstance(r, dict)]
    mine = next(r for r in rows if r.get(column) == value)
    others = [r for r in rows if r is not mine]
    if not others:
        return {}
    named = {b.column for b in lookup.operation.bindings if b.param in args}
    keys = _key_columns(spec, table)
    for c in table.columns:
        v = mine.get(c.name)
        if c.name in named or c.name in keys or v in (None, "", "[]", "{}"):
            continue
        if all(o.get(c.name) != v for o in others):
            return {c.name: v}
    raise PlanError(f"the {table.entity} cannot be told apart from the other rows its lookup returns")
