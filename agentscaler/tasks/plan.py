"""Gold plans: one user's goal of one to four sub-goals, sampled as a walk on the domain's data flow.

A sub-goal acts on one row: reads, creates, changes or removes it. Before its call come the calls a
careful agent makes first: *lookups* that find the keys the user cannot know (a read called with what
the user does know, returning the row that holds the key; a lookup's own key comes from another
lookup when needed, up to two deep) and, before a row is changed or removed, a *check* that reads it.
Where the domain's policy asks for it, a lookup identifies the owner of the rows a write touches first.
The next sub-goal acts on a row related to the last one (the same row, one of its children, a new
child, its parent, a row of another table with the same parent, a row sharing a telling value with it)
or, after a computation, computes on from its result; so its calls take the keys and values earlier
calls returned, as a real agent's calls do, and the user never has to say them.

Every call is executed as it is sampled: a sub-goal whose call fails, changes nothing or finds nothing
is undone (state and steps) and another is drawn; a first sub-goal that cannot be built raises
``PlanError`` and the task is drawn again. ``sample_refusal`` draws instead a sub-goal whose action a
rule of the policy refuses (the simulator answers ``{"error": ..., "rule": id}``): its lookups and
check are kept, the action is not a gold call.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

from agentscaler.envs import (FILTER_ROLES, CompiledTool, DomainSimulator, EnvSpec, Table, among_kin, as_argument,
                              compute_arguments, names_a_row, packed, sample_arguments, tokens)
from agentscaler.toolspec import integral

PAGING_ROLES = ("limit", "offset", "page")
LOOKUP_DEPTH = 2  # a lookup may need one more lookup for its own key (email -> user id -> order id)
MAX_REPEATS = 2  # the same call at most twice in a plan (a read, then the check before a write): the filters
# reject a trajectory that makes one call more often as a loop (``FilterConfig.max_call_repeats``)
IDENTIFIERS = {"id", "ids", "uuid", "guid", "slug", "key", "code", "sku", "handle", "hash", "token"}
"""Last words of a column that holds an identifier a system made up: a user names the row otherwise."""
QUALIFIERS = {"initial", "final", "start", "end", "total", "new", "old", "value", "result", "number", "num", "of", "in"}
"""Words that qualify a quantity rather than name it (an initial velocity and a final one are both velocities)."""
SYNONYMS = {"speed": "velocity"}
GENERIC = {"number", "num", "n", "x", "value", "input"}
"""Words of a parameter that takes any number: the factorial of the gcd just found."""
@dataclass
class Step:
    """One gold call, why it is made, and where its values come from."""

    tool: CompiledTool
    arguments: dict[str, Any]
    purpose: str = "goal"  # "lookup" (finds a key), "check" (reads a row before a write), "goal", "attempt"
    goal: int = 0  # the sub-goal it serves
    found: dict[str, int] = field(default_factory=dict)  # param -> the earlier step whose observation returned it
    singles_out: dict[str, Any] = field(default_factory=dict)  # lookup: column -> value telling its row apart
    observation: str = ""

    @property
    def call(self) -> dict[str, Any]:
        """The call as the tool takes it (a JSON Patch update's fields packed into its operations)."""
        return {"name": self.tool.name, "arguments": packed(self.tool, self.arguments)}


@dataclass
class Goal:
    """A sub-goal: what the user asks for, and how it relates to the sub-goal before it."""

    table: Table
    step: int  # the index of its action
    relation: str  # "first", "same", "child", "new child", "parent", "shared", "result" (takes a computed number)
    row: dict[str, Any] | None = None  # the row it acted on (as the action's observation shows it; a computation's
    # answer)


@dataclass
class Plan:
    steps: list[Step]
    goals: list[Goal]
    refused: Step | None = None  # refuse: the action a rule refuses (not a gold call; its goal's step is -1)
    rule: str | None = None  # refuse: the id of that rule

    @property
    def writes(self) -> bool:
        return any(s.tool.kind != "read" and s.purpose != "attempt" for s in self.steps)

    def action(self, goal: Goal) -> Step:
        """The call that does what the sub-goal asks (a refused one is no gold call)."""
        return self.refused if goal.step < 0 else self.steps[goal.step]


class PlanError(ValueError):
    """This draw cannot become a task; the sampler draws again."""


class Refused(PlanError):
    """A call a rule of the domain's policy refused."""

    def __init__(self, message: str, rule: str):
        super().__init__(message)
        self.rule = rule


_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,17})")


def scalars(value: Any) -> set[str]:
    """Every scalar inside a JSON value, as canonical JSON text: 9.0, 9 and "9" alike, the same number (a tool
    that takes a key as a string names the row an integer key holds: SQLite compares "9" with 9 as 9)."""
    if isinstance(value, dict):
        return set().union(*map(scalars, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(scalars, value)) if value else set()
    value = integral(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        value = int(value)
    return {json.dumps(value)}


def _cells(value: Any, column: str | None = None) -> set[tuple[str, str | None]]:
    """(scalar as canonical JSON, the name of the field that holds it) for every scalar inside a JSON value."""
    if isinstance(value, dict):
        return set().union(*(_cells(v, k) for k, v in value.items())) if value else set()
    if isinstance(value, list):
        return set().union(*(_cells(v, column) for v in value)) if value else set()
    return {(s, column) for s in scalars(value)}


def is_compute(tool: CompiledTool) -> bool:
    """A tool that answers from its arguments (math, conversions): it acts on no row."""
    return tool.compute is not None


def key_columns(table: Table) -> dict[str, tuple[str, str]]:
    """Columns of ``table`` that hold a key the user would not know (its own key, references, and identifiers
    such as ``chain_slug`` or ``project_key``): column -> (table, column) it keys."""
    keys = {c.name: (table.name, c.name) for c in table.columns if (tokens(c.name) or [""])[-1] in IDENTIFIERS}
    keys[table.primary_key] = (table.name, table.primary_key)
    keys.update({fk.column: (fk.table, fk.ref_column) for fk in table.foreign_keys})
    return keys


def _stored(v: Any) -> Any:
    """An argument as the database holds it (booleans as 0/1), to find the row it names."""
    return int(v) if isinstance(v, bool) else v


class Walk:
    """A plan being sampled: the simulator in the state the steps so far left, and what they returned."""

    def __init__(self, sim: DomainSimulator, state: int, rng: random.Random, read_before_write: float):
        self.sim, self.spec, self.rng = sim, sim.spec, rng
        self.read_before_write = read_before_write
        self.reads = [t for t in self.spec.tools if t.executable and t.kind == "read" and t.table and t.operation
                      and not is_compute(t)]
        self.steps: list[Step] = []
        self.goals: list[Goal] = []
        self.returned: dict[tuple[str, str | None], int] = {}  # (scalar, column) -> the first step returning it
        self.refused: Step | None = None
        self.rule: str | None = None
        self.created: set[tuple[str, Any]] = set()  # (table, key) of the rows the plan's creates made
        sim.reset(state)

    @property
    def plan(self) -> Plan:
        return Plan(self.steps, self.goals, self.refused, self.rule)

    # --- what the steps returned ----------------------------------------------------------------------
    def source(self, v: Any, columns: set[str] | None = None) -> int | None:
        """The step whose observation returned ``v`` (every scalar of it), in one of ``columns`` (None: in any),
        or None. A key is only taken from a column that holds that kind of key: order 3 is not user 3."""
        found = [min((i for (scalar, column), i in self.returned.items()
                      if scalar == s and (columns is None or column in columns)), default=None) for s in scalars(v)]
        return None if None in found or not found else max(found)

    def _record(self, step: Step) -> None:
        self.steps.append(step)
        for pair in _cells(json.loads(step.observation)):
            self.returned.setdefault(pair, len(self.steps) - 1)

    def _truncate(self, n: int) -> None:
        del self.steps[n:]
        self.returned = {pair: i for pair, i in self.returned.items() if i < n}

    def columns(self, table: Table, column: str) -> set[str]:
        """The columns an observation may show a value of ``table.column`` in: its own, the key it references,
        and the references to it."""
        return {column} | {fk.ref_column for fk in table.foreign_keys if fk.column == column} | {
            fk.column for t in self.spec.tables for fk in t.foreign_keys if fk.table == table.name
            and fk.ref_column == column}

    def repeats(self, step: Step) -> bool:
        """Whether the plan already makes this very call as often as it may."""
        return sum(s.call == step.call for s in self.steps) >= MAX_REPEATS

    def run(self, step: Step) -> None:
        """Execute the step and keep it; PlanError (Refused for a rule) when it fails."""
        if self.repeats(step):
            raise PlanError(f"{step.tool.name} would be called with these arguments a third time")
        obs = self.sim.step(step.call)
        if obs.error:
            answer = json.loads(obs.observation)
            message = f"{step.tool.name} failed: {answer['error']}"
            raise Refused(message, answer["rule"]) if answer.get("rule") else PlanError(message)
        step.observation = obs.observation
        self._record(step)

    # --- sub-goals ----------------------------------------------------------------------------------
    def act(self, tool: CompiledTool, row: dict[str, Any] | None, relation: str,
            fixed: dict[str, Any] | None = None, refuse: bool = False, values: dict[str, Any] | None = None) -> None:
        """One sub-goal: ``tool`` on ``row`` (None: any row), its lookups and check first; on failure the
        state and steps are as before (but with ``refuse``, a refusal keeps the steps before the action).
        ``fixed``: column -> value its arguments must hold (the key that relates it to the last sub-goal);
        ``values``: column -> the value it must write there."""
        snapshot, mark = self.sim.snapshot(), len(self.steps)
        table = self.spec.table(tool.table)
        if is_compute(tool):
            self._compute(tool, table, relation, fixed or {})
            return
        try:
            args, row = self._arguments(tool, table, row, fixed or {}, values or {})
            if tool.kind == "delete" and row and (table.name, row.get(table.primary_key)) in self.created:
                raise PlanError("removing what the plan just made leaves nothing done")
            step = Step(tool, args, "goal", len(self.goals), self._sources(tool, table, args, fixed or {}))
            if tool.kind == "read" and any(s.call == step.call for s in self.steps):
                raise PlanError(f"{tool.name} was called so already")
            for rule, key in owners(self.spec, step, row):
                self._identify(rule, key)
            if tool.kind in ("update", "delete") and self.rng.random() < self.read_before_write:
                self._check(step, table)
            before = self.sim.state_hash()
            self.run(step)
            if tool.kind != "read" and self.sim.state_hash() == before:
                raise PlanError(f"{tool.name} changes nothing here")
            if any(not any(identifies(s, rule, r.get(rule.targets[tool.name])) for s in self.steps)
                   for rule in rules_of(self.spec, "identity", tool) for r in observed_rows(step.observation)
                   if r.get(rule.targets[tool.name]) is not None):
                raise PlanError(f"{tool.name} touched a row of an owner no lookup identified")  # its filters matched
                # another row than the one sampled
            if tool.kind == "read" and json.loads(step.observation) in ([], {}):
                raise PlanError(f"{tool.name} finds nothing here")
        except Refused as refusal:
            if not refuse:
                self.sim.restore(snapshot)
                self._truncate(mark)
                raise
            self.refused, self.rule = step, refusal.rule
            self.goals.append(Goal(table, -1, relation, row))
            return
        except PlanError:
            self.sim.restore(snapshot)
            self._truncate(mark)
            raise
        if refuse:
            self.sim.restore(snapshot)
            self._truncate(mark)
            raise PlanError(f"{tool.name} breaks no rule here")
        focus = self._focus(step, table, row)
        if tool.kind == "create" and focus:
            self.created.add((table.name, focus.get(table.primary_key)))
        self.goals.append(Goal(table, len(self.steps) - 1, relation, focus))

    def _compute(self, tool: CompiledTool, table: Table, relation: str, fixed: dict[str, Any]) -> None:
        """A computing sub-goal: plausible arguments (``fixed``: parameter -> a result an earlier call returned)."""
        args = {**compute_arguments(tool, self.rng), **fixed}
        found = {p: i for p, v in fixed.items() if (i := self.source(v)) is not None}
        step = Step(tool, args, "goal", len(self.goals), found)
        self.run(step)
        self.goals.append(Goal(table, len(self.steps) - 1, relation, json.loads(step.observation)))

    def _arguments(self, tool: CompiledTool, table: Table, row: dict[str, Any] | None, fixed: dict[str, Any],
                   values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Filters from ``row`` (None: a random row) and fresh values to write: the required parameters, the
        ``fixed`` columns and a random half of the optional ones; and the row. A write keeps a filter and a
        value, so it touches a row and changes it."""
        state = {name: [list(r.values()) for r in self.sim.rows(name)]
                 for name in {table.name, *(fk.table for fk in table.foreign_keys)}}
        rows = state[table.name]
        columns = [c.name for c in table.columns]
        index = next((i for i, r in enumerate(rows) if row and r[columns.index(table.primary_key)]
                      == row.get(table.primary_key)), self.rng.randrange(max(len(rows), 1)))
        args = sample_arguments(tool.operation.bindings, table, state, index, self.rng)
        bindings = {b.param: b for b in tool.operation.bindings}
        pinned = {p: fixed[b.column] for p, b in bindings.items() if b.column in fixed and (b.role == "eq" or (
            b.role == "value" and tool.kind == "create"))}
        pinned.update({p: values[b.column] for p, b in bindings.items() if b.column in values and b.role == "value"})
        args.update({p: as_argument(v, bindings[p].json_type) for p, v in pinned.items()})
        args = among_kin(tool.operation.bindings, table, state, index, args, self.rng, frozenset(pinned))
        kept = {p: v for p, v in args.items() if v is not None and (
            bindings[p].required or p in pinned or (bindings[p].role not in PAGING_ROLES and self.rng.random() < 0.5))}
        for role_set in ((FILTER_ROLES,) if tool.kind in ("update", "delete") else ()) + (
                (("value",),) if tool.kind == "update" and not tool.operation.assign else ()):
            if not any(bindings[p].role in role_set for p in kept):
                options = [p for p in args if bindings[p].role in role_set and args[p] is not None]
                if options:
                    chosen = self.rng.choice(options)
                    kept[chosen] = args[chosen]
        return kept, dict(zip(columns, rows[index])) if rows else None

    def _sources(self, tool: CompiledTool, table: Table, args: dict[str, Any], fixed: dict[str, Any]) -> dict[str, int]:
        """Where the keys and filters of ``args`` come from: an earlier observation, or a lookup made now. A new
        value to write is the user's, even when an earlier call happened to return it too."""
        keys = key_columns(table)
        found = {}
        for b in tool.operation.bindings:
            if b.param not in args or b.role not in ("eq", "value"):
                continue
            if b.role == "value" and b.column not in keys and b.column not in fixed:
                continue
            index = self.source(args[b.param], self.columns(table, b.column))
            if index is None and b.column in keys and not (b.role == "value" and b.column == table.primary_key):
                index = self.lookup(*keys[b.column], _stored(args[b.param]), LOOKUP_DEPTH)
                if index is None and keys[b.column][0] != table.name:  # a reference, shown by a list of this table
                    index = self.lookup(table.name, b.column, _stored(args[b.param]), LOOKUP_DEPTH)
            if index is not None:
                found[b.param] = index
        return found

    def _identify(self, rule, key: Any) -> None:
        """Make sure a lookup of the rule's has identified the owner ``key`` before a write on its rows (the
        policy's identity rule): a lookup that finds the owner's row, then, if that answered other rows too,
        a read that takes the owner's key. PlanError when the domain offers no way."""
        if any(identifies(s, rule, key) for s in self.steps):
            return
        owner_columns = self.columns(self.spec.table(rule.owner), rule.owner_key)
        if self.source(key, owner_columns) is None:
            index = self.lookup(rule.owner, rule.owner_key, key, LOOKUP_DEPTH)
            if index is not None and identifies(self.steps[index], rule, key):
                return
        for name, param in self.rng.sample(sorted(rule.lookups.items(), key=str), len(rule.lookups)):
            tool = self.spec.tool(name)
            if param is None and tool.table == rule.owner:
                param = _param(tool, rule.owner_key, "eq")
            binding = next((b for b in tool.operation.bindings if b.param == param), None)
            if binding is None or any(b.required and b.param != param for b in tool.operation.bindings):
                continue
            arg = as_argument(key, binding.json_type)
            index = self.source(arg, owner_columns)
            step = Step(tool, {param: arg}, "lookup", len(self.goals), {param: index} if index is not None else {})
            if self.repeats(step):
                continue
            obs = self.sim.step(step.call)
            if not obs.error:
                step.observation = obs.observation
                if identifies(step, rule, key):
                    self._record(step)
                    return
        raise PlanError(f"no lookup identifies the {rule.owner} {key!r} before {rule.tools}")

    def _check(self, write: Step, table: Table) -> None:
        """A read of the row ``write`` is about to change, called with the write's own filters."""
        filters = {b.column: (b.param, write.arguments[b.param]) for b in write.tool.operation.bindings
                   if b.param in write.arguments and b.role == "eq"}
        options = [t for t in self.reads if t.table == table.name]
        self.rng.shuffle(options)
        for read in options:
            bindings = read.operation.bindings
            if any(b.required and b.column not in filters for b in bindings):
                continue
            args = {b.param: as_argument(filters[b.column][1], b.json_type) for b in bindings
                    if b.role == "eq" and b.column in filters}
            if not args or None in args.values():
                continue
            found = {b.param: write.found[filters[b.column][0]] for b in bindings
                     if b.param in args and filters[b.column][0] in write.found}
            step = Step(read, args, "check", len(self.goals), found)
            if self.repeats(step):
                continue
            obs = self.sim.step(step.call)
            if not obs.error and json.loads(obs.observation) not in ([], {}):
                step.observation = obs.observation
                self._record(step)
                return

    def lookup(self, owner: str, column: str, value: Any, depth: int, sought: frozenset[str] = frozenset()
               ) -> int | None:
        """A read that returns the row of ``owner`` holding ``column == value``, called with what else the
        row holds (the user says it, or an earlier observation returned it, or a deeper lookup finds it,
        never with a value an outer lookup is after: ``sought``); the index of its step, or None when no
        read can find the row."""
        source = next((r for r in self.sim.rows(owner) if r.get(column) == value), None)
        if source is None:
            return None
        keys = key_columns(self.spec.table(owner))
        candidates = [t for t in self.reads if t.table == owner]
        self.rng.shuffle(candidates)
        for tool in candidates:
            mark = len(self.steps)
            step = self._lookup_step(tool, source, column, keys, depth, sought | scalars(value))
            if step is not None and not self.repeats(step):
                obs = self.sim.step(step.call)
                found = [] if obs.error else json.loads(obs.observation)
                rows = [r for r in (found if isinstance(found, list) else [found]) if isinstance(r, dict)]
                if any(r.get(column) == value for r in rows):
                    singles_out = _singles_out(self.spec.table(owner), keys, rows, column, value, tool, step.arguments)
                    if singles_out is not None:
                        step.observation, step.singles_out = obs.observation, singles_out
                        self._record(step)
                        return len(self.steps) - 1
            self._truncate(mark)  # the deeper lookups this candidate made
        return None

    def _lookup_step(self, tool: CompiledTool, source: dict[str, Any], column: str,
                     keys: dict[str, tuple[str, str]], depth: int, sought: frozenset[str]) -> Step | None:
        """The call of ``tool`` that finds ``source`` by what it holds, or None when the tool cannot."""
        args, found = {}, {}
        for b in tool.operation.bindings:
            usable = (b.role in ("eq", "like") and b.column != column and source.get(b.column) is not None
                      and not scalars(source[b.column]) <= sought)
            if not usable:
                if b.required:
                    return None  # it takes the very key sought, or something the row cannot give
                continue
            if not (b.required or self.rng.random() < 0.5):
                continue
            arg = as_argument(source[b.column], b.json_type)
            if arg is None or (b.enum and arg not in b.enum) or (b.role == "like" and not isinstance(arg, str)):
                if b.required:
                    return None
                continue
            index = self.source(arg, self.columns(self.spec.table(tool.table), b.column))
            if index is None and depth > 0 and b.column in keys:
                index = self.lookup(*keys[b.column], source[b.column], depth - 1, sought)
            args[b.param] = arg
            if index is not None:
                found[b.param] = index
        return Step(tool, args, "lookup", len(self.goals), found)

    # --- the walk -----------------------------------------------------------------------------------
    def _focus(self, step: Step, table: Table, row: dict[str, Any] | None) -> dict[str, Any] | None:
        """The row the sub-goal acted on, as its observation shows it."""
        rows = [r for r in observed_rows(step.observation) if table.primary_key in r]
        pk = table.primary_key
        return next((r for r in rows if row and r.get(pk) == row.get(pk)), rows[0] if rows else None)

    def options(self, tools: list[CompiledTool]) -> list[tuple[CompiledTool, dict | None, str, dict]]:
        """``(tool, row, relation, fixed)`` for each sub-goal that can follow the last one (see ``act``): first
        those on the same row, its children and its parent (shuffled), then those sharing a value with it. A
        tool already used for a sub-goal is not used again; a plan shares a value once."""
        goal = self.goals[-1]
        focus, table, last = goal.row, goal.table, self.steps[goal.step].tool
        used = {self.steps[g.step].tool.name for g in self.goals}
        tools = [t for t in tools if t.name not in used]
        if is_compute(last):
            return self._results(tools, focus)
        if focus is None:
            return []
        removed = last.kind == "delete"
        out = []

        def on(target: Table, row: dict | None, relation: str, fixed: dict, kinds=("read", "update", "delete")):
            """Tools of ``kinds`` on ``target`` whose call takes the value relating it (a child's: its lookup's)."""
            for t in tools:
                if is_compute(t) or t.table != target.name or t.kind not in kinds:
                    continue
                takes = any(b.column in fixed and (b.role == "eq" or (b.role == "value" and t.kind == "create"))
                            for b in t.operation.bindings)
                if takes or relation == "child":
                    out.append((t, row, relation, fixed))

        if not removed and not table.singleton:  # (the one row of settings: its setters share no value)
            names = self._names(table, focus)
            # read by its name, then change it; listed, then see it or change it; made, then see or change it (not
            # remove it again); changed, then see, change or remove it
            every = ("read", "update", "delete")
            kinds = {"read": ("update", "delete") if any(_takes(last, c) for c in names) else every,
                     "create": ("read", "update")}.get(last.kind, every)
            on(table, focus, "same", names, kinds)
        for child in self.spec.tables:
            for fk in child.foreign_keys:
                if fk.table != table.name or removed or focus.get(fk.ref_column) is None:
                    continue
                under = {fk.column: focus[fk.ref_column]}
                if child.name == table.name:  # a subtask goes into its parent's own list
                    under.update({o.column: focus[o.column] for o in child.foreign_keys
                                  if o.table != child.name and focus.get(o.column) is not None})
                on(child, None, "new child", under, ("create",))
                rows = [r for r in self.sim.rows(child.name) if r.get(fk.column) == focus[fk.ref_column]]
                if rows:
                    on(child, self.rng.choice(rows), "child", {fk.column: focus[fk.ref_column]})
        related = {fk.table for fk in table.foreign_keys} | {t.name for t in self.spec.tables
                                                           if any(fk.table == table.name for fk in t.foreign_keys)}
        for fk in table.foreign_keys:
            parent = next((r for r in self.sim.rows(fk.table) if r.get(fk.ref_column) == focus.get(fk.column)), None)
            if parent is not None:
                on(self.spec.table(fk.table), parent, "parent", self._names(self.spec.table(fk.table), parent))
        self.rng.shuffle(out)
        if any(g.relation == "shared" for g in self.goals):
            return out
        shared = []
        for fk in table.foreign_keys:  # a sibling: another table's row with the same parent (the customer's)
            v = focus.get(fk.column)
            for other in self.spec.tables if v is not None else []:
                for theirs in other.foreign_keys if other.name != table.name else []:
                    rows = [r for r in self.sim.rows(other.name) if theirs.table == fk.table
                            and r.get(theirs.column) == v]
                    if rows:
                        shared.append((other, self.rng.choice(rows), {theirs.column: v}))
        mine = set(key_columns(table))
        for other in self.spec.tables:
            if other.name == table.name or other.name in related:
                continue
            theirs = set(key_columns(other))
            every = self.sim.rows(other.name)
            for c in other.columns:
                v = focus.get(c.name)
                if c.name in mine or c.name in theirs or c.enum or not _telling(v):
                    continue
                rows = [r for r in every if r.get(c.name) == v]
                if rows and len(rows) <= len(every) / 3:  # a value that tells rows apart, not a common one ("en")
                    shared.append((other, self.rng.choice(rows), {c.name: v}))
        self.rng.shuffle(shared)
        for other, row, fixed in shared:
            on(other, row, "shared", fixed)
        return out

    def _names(self, table: Table, row: dict[str, Any]) -> dict[str, Any]:
        """The values that name ``row``: its key, its identifiers, and a name no other row of the table has."""
        keys = key_columns(table)
        rows = self.sim.rows(table.name)
        return {c.name: row[c.name] for c in table.columns if row.get(c.name) is not None and (
            c.name in keys and c.name not in {fk.column for fk in table.foreign_keys}
            or (names_a_row(c.name) and sum(r.get(c.name) == row[c.name] for r in rows) == 1))}

    def _results(self, tools: list[CompiledTool], result: Any) -> list[tuple[CompiledTool, None, str, dict]]:
        """Computations with a parameter of the same quantity as a number the last one returned (a final velocity
        as the next one's initial velocity), ``fixed`` to it: parameter -> that number."""
        numbers = [(_quantity(name), v) for name, v in (result.items() if isinstance(result, dict) else [])
                   if _number(v)]
        out = []
        for t in tools:
            for b in t.operation.bindings if is_compute(t) else []:
                wanted = _quantity(b.param)
                fits = [v for quantity, v in numbers if (quantity & wanted or not wanted and _generic(b.param)) and (
                    b.json_type == "number" or (b.json_type == "integer" and float(v).is_integer()))]
                if b.param in t.compute.params and fits and not b.enum:
                    v = self.rng.choice(fits)
                    out.append((t, None, "result", {b.param: int(v) if b.json_type == "integer" else v}))
        self.rng.shuffle(out)
        return out


def observed_rows(observation: str) -> list[dict[str, Any]]:
    """The rows an observation shows: a write's (``{"created" | "updated" | "deleted": [...]}``) or a read's."""
    answer = json.loads(observation)
    if isinstance(answer, dict) and len(answer) == 1 and isinstance(next(iter(answer.values())), list):
        answer = next(iter(answer.values()))
    return [r for r in (answer if isinstance(answer, list) else [answer]) if isinstance(r, dict)]


def _words(name: str) -> set[str]:
    """A name's words, a trailing digit dropped (``number1``), a synonym said one way (speed: velocity)."""
    return {SYNONYMS.get(w, w) for w in (t.rstrip("0123456789") or t for t in tokens(name))}


def _quantity(name: str) -> set[str]:
    """What quantity a parameter or a result field names: its words less the qualifiers."""
    return _words(name) - QUALIFIERS


def _generic(param: str) -> bool:
    """A parameter that takes any number (``number``, ``x``): a computation can go on from any result."""
    return bool(_words(param) & GENERIC)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def rules_of(spec: EnvSpec, kind: str, tool: CompiledTool) -> list:
    """The rules of one kind of the domain's policy that govern ``tool``."""
    return [r for r in spec.policy.rules if r.kind == kind and tool.name in r.tools] if spec.policy else []


def identifies(step: Step, rule, key: Any) -> bool:
    """Whether the step (a successful call) identifies owner ``key`` as the identity rule says: a lookup the
    rule names that takes the owner's key, or that answers the owner's row alone."""
    if step.tool.name not in rule.lookups or step.purpose == "attempt":
        return False
    answer = json.loads(step.observation)
    param = rule.lookups[step.tool.name]
    if param is not None:
        return param in step.arguments and scalars(step.arguments[param]) == scalars(key) and bool(answer)
    rows = answer if isinstance(answer, list) else [answer]
    return len(rows) == 1 and isinstance(rows[0], dict) and scalars(rows[0].get(rule.owner_key)) == scalars(key)


def owners(spec: EnvSpec, step: Step, row: dict[str, Any] | None) -> list[tuple[Any, Any]]:
    """(identity rule, owner key) for each owner a write must identify first; ``row``: the row it writes
    (a create's is its arguments)."""
    out = []
    for rule in rules_of(spec, "identity", step.tool):
        column = rule.targets[step.tool.name]
        key = _stored(step.arguments.get(_param(step.tool, column))) if step.tool.kind == "create" else (
            (row or {}).get(column))
        if key is not None:
            out.append((rule, key))
    return out


def _takes(tool: CompiledTool, column: str, role: str = "eq") -> bool:
    return any(b.column == column and b.role == role for b in tool.operation.bindings)


def _param(tool: CompiledTool, column: str, role: str = "value") -> str | None:
    """The parameter of ``tool`` that binds ``column`` in ``role``."""
    return next((b.param for b in tool.operation.bindings if b.column == column and b.role == role), None)


def _telling(v: Any) -> bool:
    """A value that relates two rows when they share it (not a flag, an empty text or a small count)."""
    if isinstance(v, str):
        return len(v.strip()) >= 2 and v not in ("[]", "{}")
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not (float(v).is_integer() and 0 <= v <= 9)


def _singles_out(table: Table, keys: dict, rows: list[dict], column: str, value: Any, lookup: CompiledTool,
                 args: dict[str, Any]) -> dict[str, Any] | None:
    """A column of the wanted row that no other returned row shares, so the user can say which one it is
    ({} when it is the only row); None when nothing tells it apart (the user could not say which)."""
    mine = next(r for r in rows if r.get(column) == value)
    others = [r for r in rows if r is not mine]
    if not others:
        return {}
    named = {b.column for b in lookup.operation.bindings if b.param in args}
    for c in table.columns:
        v = mine.get(c.name)
        if c.name in named or c.name in keys or v in (None, "", "[]", "{}"):
            continue
        if all(o.get(c.name) != v for o in others):
            return {c.name: v}
    return None


def sample_plan(sim: DomainSimulator, state: int, first: CompiledTool, rng: random.Random, *, goals: int = 1,
                tools: list[CompiledTool] | None = None, read_before_write: float = 0.7) -> Plan:
    """A plan of up to ``goals`` sub-goals, the first one ``first`` on a random row, the next ones drawn from
    ``tools`` on related rows (fewer when nothing related can be done); raises PlanError when the first
    cannot be built."""
    walk = Walk(sim, state, rng, read_before_write)
    walk.act(first, None, "first")
    while len(walk.goals) < goals:
        options = walk.options(tools or [first])
        for tool, row, relation, fixed in options[:8]:
            try:
                walk.act(tool, row, relation, fixed)
                break
            except PlanError:
                continue
        else:
            break
    return walk.plan


def refusal_rules(spec: EnvSpec, tools: list[CompiledTool]) -> list:
    """The policy's state rules a request for one of ``tools`` can break: status transitions, a value another
    row already holds, a row named with an owner it does not have, and limits on a value (not the per-owner
    quotas, which take many creates)."""
    names = {t.name for t in tools}
    return [r for r in (spec.policy.rules if spec.policy else []) if set(r.tools) & names and (r.kind in (
            "transition", "unique", "ownership") or (r.kind == "limit" and r.column and not r.owner
            and (r.maximum is not None or r.minimum is not None)))]


def sample_refusal(sim: DomainSimulator, state: int, rng: random.Random, tools: list[CompiledTool]) -> Plan:
    """A single sub-goal a state rule of the domain's policy refuses: a status change the row's status forbids
    (a transition rule), a value another row holds, or a value past a limit; its lookups and the read of the
    row come first (they are the gold calls: the read shows why the request breaks the rule). PlanError when
    none can be drawn."""
    rules = refusal_rules(sim.spec, tools)
    if not rules:
        raise PlanError("no state rule of the policy governs a write here")
    rule = rng.choice(rules)
    tool = sim.spec.tool(rng.choice(sorted(set(rule.tools) & {t.name for t in tools})))
    table = sim.spec.table(tool.table)
    walk = Walk(sim, state, rng, read_before_write=1.0)
    if rule.kind == "transition":
        rows = [r for r in sim.rows(table.name) if r.get(rule.column) in rule.refused_from]
        if not rows:
            raise PlanError(f"no {table.entity} is in a status that {rule.id} refuses")
        row = rng.choice(rows)
        walk.act(tool, row, "first", {table.primary_key: row[table.primary_key]}, refuse=True)
    elif rule.kind == "unique":  # the user asks for a value another row holds (a taken username)
        rows = [r for r in sim.rows(table.name) if r.get(rule.column) is not None]
        if len(rows) < 2:
            raise PlanError(f"no {table.entity} holds a {rule.column} to take")
        row, other = rng.sample(rows, 2)
        fixed = {table.primary_key: row[table.primary_key]} if tool.kind == "update" else None
        walk.act(tool, row if fixed else None, "first", fixed, refuse=True, values={rule.column: other[rule.column]})
    elif rule.kind == "ownership":  # the user names a row, and an owner that is not its own
        row = rng.choice(sim.rows(table.name) or [{}])
        others = [r[ref] for r in sim.rows(rule.owner) for ref in (_referenced(table, rule.column),)
                  if r.get(ref) not in (None, row.get(rule.column))]
        if not others:
            raise PlanError(f"no other {rule.owner} to name")
        walk.act(tool, row, "first", {table.primary_key: row[table.primary_key]}, refuse=True,
                 values={rule.column: rng.choice(others)})
    else:
        walk.act(tool, None, "first", refuse=True, values={rule.column: _past(rule, rng)})
    return walk.plan


def _referenced(table: Table, column: str) -> str:
    """The column of the parent table that ``column`` of ``table`` references."""
    return next(fk.ref_column for fk in table.foreign_keys if fk.column == column)


def _past(rule, rng: random.Random) -> float:
    """A value the limit rule refuses: a few times its maximum (above a maximum of 0 or less), else at (or below)
    its minimum."""
    if rule.maximum is not None:
        return rule.maximum * rng.choice((2, 3, 5)) if rule.maximum > 0 else rule.maximum + rng.choice((1, 2, 5))
    return rule.minimum if rule.exclusive_minimum else rule.minimum - 1
