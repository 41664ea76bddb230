"""A domain simulator: one in-memory SQLite database per episode plus the domain's compiled tools.

Speed comes from doing everything once: argument validators are closures built per tool, SQL text
is rendered once per (tool, set of provided arguments), forks and resets are
``Connection.deserialize`` of a serialized image, and the state hash is maintained incrementally.

The state hash is an order-independent multiset hash: the sum, modulo 2**128, of a BLAKE2b digest of
each row's canonical encoding (table name + stored values). Equal contents give equal hashes however
they were reached; rowids and page layout never enter it. A write adjusts the sum by the rows it
removed and added, which tests prove equal to recomputing from scratch.

A bad call is rejected before any SQL runs, and a write runs in its own transaction, committed only
once its observation is built: a call that fails (constraint, bad key) changes nothing. A write the
domain's policy forbids (``envs.policy``) is refused in that transaction before it writes, and its
error observation names the rule: ``{"error": ..., "rule": "R2"}``.

Any value JSON can carry is either stored as given or refused with an error observation, never an
exception out of ``step``: a rollout actor must not lose its batch to one careless call. What
SQLite cannot hold faithfully is refused by name: integers past 64 bits, NaN and infinities (SQLite
stores NaN as NULL; JSON has neither), strings with lone surrogates (not UTF-8), arrays and objects
nested past the encoder's depth. Counts (limit, offset, page) are clamped to 0..2**63-1 instead.
"""

from __future__ import annotations

import json
import math
import reprlib
import sqlite3
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any, Callable, Sequence

from agentscaler.envs.compile import IN_ITEMS, insert_row, render, select_all, select_by_rowid
from agentscaler.envs.compute import ComputeError, answer
from agentscaler.envs.patch import REMOVE, PatchError, unpacked
from agentscaler.envs.policy import guards
from agentscaler.envs.spec import FILTER_ROLES, Binding, CompiledTool, EnvSpec, Table
from agentscaler.failures import Failure

_MASK = (1 << 128) - 1
_MISSING = object()
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

_SHOW = reprlib.Repr()  # values quoted in error messages: short, whatever their size or depth
_SHOW.maxstring = _SHOW.maxother = 60
_SHOW.maxlong, _SHOW.maxlevel = 40, 3


@dataclass(frozen=True, slots=True)
class Observation:
    observation: str  # JSON text: the result, or {"error": message}
    error: bool


@dataclass(frozen=True)
class Replay:
    """Calls re-executed from a state: what every judge of a trajectory, a task or a tool looks at.

    ``failures`` are typed (``failures.CODES``): ``initial_state_mismatch`` when the start differs from
    the hash expected (or the state does not exist: then no call ran), ``call_failed`` for each call
    that got an error observation, ``state_mismatch`` when the end differs from the hash expected.
    """

    initial_hash: str | None
    observations: list[Observation]
    final_hash: str | None
    failures: list[Failure]

    @property
    def errors(self) -> list[bool]:
        return [obs.error for obs in self.observations]

    def first(self, *codes: str) -> Failure | None:
        """The first failure of one of ``codes`` (of any code when none are named)."""
        return next((f for f in self.failures if not codes or f.code in codes), None)


class CallError(ValueError):
    """A tool call the simulator refuses; its message is the error observation."""


def row_digest(table: str, row: tuple) -> int:
    return int.from_bytes(blake2b(repr((table, row)).encode(), digest_size=16).digest(), "big")


def _show(v: Any) -> str:
    return _SHOW.repr(v)


_IS_TYPE: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int or (type(v) is float and v.is_integer()),
    "number": lambda v: type(v) in (int, float),
    "boolean": lambda v: type(v) is bool,
    "array": lambda v: type(v) is list,
    "object": lambda v: type(v) is dict,
}


def _flaw(v: Any) -> str | None:
    """Why a value cannot be stored as given, as the end of an error message (None: it can).

    Arrays and objects are checked as they are encoded (``_json_text``).
    """
    t = type(v)
    if t is str:
        if v.isascii():
            return None
        try:
            v.encode()
            return None
        except UnicodeEncodeError as e:
            return f"is not valid text: a lone surrogate at position {e.start} has no UTF-8 encoding"
    if t is int:
        return None if _INT64_MIN <= v <= _INT64_MAX else f"must fit in 64 bits (-2**63..2**63-1), got {_show(v)}"
    if t is float:
        return None if math.isfinite(v) else f"must be a finite number (JSON has no NaN or Infinity), got {v!r}"
    if t in (bool, list, dict) or v is None:
        return None
    return f"must be a JSON value, got a Python {t.__name__}"


def _json_text(v: list | dict, param: str) -> str:
    """An array or object as stored: canonical JSON text; CallError if it is not JSON or too deep to encode."""
    try:
        return json.dumps(v, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError) as e:  # NaN/Infinity inside, keys of mixed types, non-JSON leaves
        raise CallError(f"argument {param!r} is not a JSON value: {e}") from None
    except RecursionError:
        raise CallError(f"argument {param!r} is nested too deeply to store") from None


def _checker(b: Binding) -> Callable[[Any], str | None]:
    """What is wrong with a value for this parameter, as the end of an error message (None: nothing)."""
    is_type = _IS_TYPE.get(b.json_type, lambda v: True)
    expected = f"one of {b.enum}" if b.enum else "a JSON value" if b.json_type == "any" else f"a {b.json_type}"
    allowed = {_json_text(e, b.param) if type(e) in (list, dict) else json.dumps(e) for e in b.enum or ()}

    def check(v: Any) -> str | None:
        if not is_type(v):
            return f"must be {expected}, got {_show(v)}"
        flaw = _flaw(v)
        if flaw is not None:
            return flaw
        if allowed and (_json_text(v, b.param) if type(v) in (list, dict) else json.dumps(v)) not in allowed:
            return f"must be {expected}, got {_show(v)}"
        return None

    return check


def _store(v: Any, param: str) -> Any:
    if type(v) is bool:
        return int(v)
    if type(v) in (list, dict):
        return _json_text(v, param)
    return v


def _items(v: list, ph: str, param: str) -> dict[str, Any]:
    """An ``in`` filter's list as its ``IN_ITEMS`` placeholders, padded with NULL."""
    if len(v) > IN_ITEMS:
        raise CallError(f"argument {param!r} may list at most {IN_ITEMS} values, got {len(v)}")
    for x in v:
        flaw = f"must list plain values, got {_show(x)}" if type(x) in (list, dict) else _flaw(x)
        if flaw is not None:
            raise CallError(f"argument {param!r} {flaw}")
    return {f"{ph}_{k}": _store(v[k], param) if k < len(v) else None for k in range(IN_ITEMS)}


def _stored_json(v: Any) -> Any:
    """An array or object column's stored text as its value (a state's text that is not JSON stays text)."""
    try:
        return json.loads(v) if isinstance(v, str) else v
    except ValueError:
        return v


_DECODE: dict[str, Callable[[Any], Any]] = {"boolean": bool, "array": _stored_json, "object": _stored_json}


def _count(v: Any, param: str) -> int:
    """A limit, offset or page as SQLite takes it: a whole number, clamped to 0..2**63-1 (huge means "all")."""
    try:
        return min(max(int(v), 0), _INT64_MAX)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise CallError(f"argument {param!r} must be a whole number, got {_show(v)}") from None


class _Tool:
    """One compiled tool, ready to validate, bind and run calls."""

    __slots__ = ("spec", "kind", "op", "table", "columns", "decoders", "slots", "names", "patches", "ignored", "sql",
                 "where_mask", "set_mask")

    def __init__(self, spec: CompiledTool, table: Table | None):
        self.spec, self.kind, self.op, self.table = spec, spec.kind, spec.operation, table
        self.columns = [c.name for c in table.columns] if table else []
        self.decoders = [(c.name, _DECODE[c.json_type]) for c in (table.columns if table else [])
                         if c.json_type in _DECODE]
        bindings = self.op.bindings if self.op else []
        self.slots = [(b.param, f"p{i}", _checker(b), b.required, b.role) for i, b in enumerate(bindings)]
        self.names = {b.param for b in bindings}
        self.patches = {b.patch for b in bindings if b.patch}  # JSON Patch lists, unpacked into their fields
        declared = spec.openai_schema.get("function", {}).get("parameters", {}).get("properties") or {}
        self.ignored = set(declared) - self.names - self.patches  # API plumbing (envs.plumbing): never bound
        self.sql: dict[int, tuple[str, str | None]] = {}
        if self.op and self.kind in ("read", "create"):  # the build rendered the all-arguments statement
            self.sql[(1 << len(bindings)) - 1] = (self.op.sql, None)
        self.where_mask = sum(1 << i for i, b in enumerate(bindings) if b.role in FILTER_ROLES)
        self.set_mask = sum(1 << i for i, b in enumerate(bindings) if b.role == "value")

    def bind(self, args: dict) -> tuple[int, dict[str, Any]]:
        """Validate the arguments and name them for the SQL; raise CallError on any defect."""
        try:
            args = unpacked(self.op.bindings, args) if self.patches else args
        except PatchError as e:
            raise CallError(str(e)) from None
        params: dict[str, Any] = {}
        mask = found = 0
        page = None
        for i, (param, ph, check, required, role) in enumerate(self.slots):
            v = args.get(param, _MISSING)
            if v is not _MISSING:
                found += 1
            if v is REMOVE:  # a JSON Patch ``remove``: the field is cleared
                mask |= 1 << i
                params[ph] = None
                continue
            if v is _MISSING or v is None:
                if required:
                    raise CallError(f"missing required argument {param!r}")
                continue
            flaw = check(v)
            if flaw is not None:
                raise CallError(f"argument {param!r} {flaw}")
            mask |= 1 << i
            if role == "limit":
                params[ph] = min(_count(v, param), self.op.max_rows)
            elif role == "offset":
                params[ph] = _count(v, param)
            elif role == "page":
                page = (ph, max(_count(v, param), 1))
            elif role == "in":
                params.update(_items(v, ph, param))
            else:
                params[ph] = _store(v, param)
        if found + len(self.ignored.intersection(args)) != len(args):
            extra = sorted(str(k) for k in args if k not in self.names)
            takes = sorted({b.patch or b.param for b in self.op.bindings})
            raise CallError(f"unexpected argument(s) {_show(extra)}; {self.spec.name} takes {takes}")
        if page is not None:
            limit = next((params[ph] for _, ph, _, _, role in self.slots if role == "limit" and ph in params),
                         self.op.max_rows)
            params[page[0]] = min((page[1] - 1) * limit, _INT64_MAX)
        return mask, params

    def shown(self, row: tuple) -> dict[str, Any]:
        """A stored row as the API shows it: a boolean as true/false and an array or object as itself, where
        SQLite keeps 0/1 and JSON text."""
        out = dict(zip(self.columns, row))
        for name, decode in self.decoders:
            if out[name] is not None:
                out[name] = decode(out[name])
        return out

    def statements(self, mask: int) -> tuple[str, str | None]:
        sql = self.sql.get(mask)
        if sql is None:
            provided = [b.param for i, b in enumerate(self.op.bindings) if mask >> i & 1]
            sql = self.sql[mask] = render(self.kind, self.op, self.table, provided)
        return sql


class DomainSimulator:
    """``reset(state) → step(call) → Observation``, with ``snapshot``/``restore``/``fork`` and a state hash."""

    def __init__(self, spec: EnvSpec):
        self.spec = spec
        self._tables = {t.name: t for t in spec.tables}
        self._tools = {t.name: _Tool(t, self._tables.get(t.table)) for t in spec.tools}
        self._by_rowid = {t.name: select_by_rowid(t) for t in spec.tables}
        self._scan = {t.name: select_all(t) for t in spec.tables}
        self._insert = {t.name: insert_row(t) for t in spec.tables}
        self._guards = guards(spec)  # the state rules of the policy, per write tool
        self._db = self._connect()
        for statement in spec.ddl:
            self._db.execute(statement)
        self._empty = self._db.serialize()
        self._states: dict[int, tuple[int, bytes]] = {}
        self._hash = 0
        if spec.states:
            self.reset(0)

    @staticmethod
    def _connect() -> sqlite3.Connection:
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA foreign_keys = ON")
        return db

    # --- state ---------------------------------------------------------------------------------
    def _state(self, index: int) -> tuple[int, bytes]:
        """The synthesized state's (hash, image), loaded on first use."""
        if index not in self._states:
            self._db.deserialize(self._empty)
            for table, rows in self.spec.states[index].items():
                self._db.executemany(self._insert[table], [
                    {f"p{i}": v for i, v in enumerate(row)} for row in rows])
            digest = self.spec.state_hashes[index] if index < len(self.spec.state_hashes) else None
            self._states[index] = (int(digest, 16) if digest else self._recompute(), self._db.serialize())
        return self._states[index]

    def reset(self, state: int | bytes = 0) -> str:
        """Start an episode from synthesized state ``state`` (an index) or from a snapshot; returns the hash."""
        if isinstance(state, (bytes, bytearray, memoryview)):
            self.restore(bytes(state))
        else:
            if not 0 <= state < len(self.spec.states):
                raise IndexError(f"state {state} does not exist: domain {self.spec.domain_id} has "
                                 f"{len(self.spec.states)}")
            self._hash, image = self._state(state)
            self._db.deserialize(image)
        return self.state_hash()

    def snapshot(self) -> bytes:
        """The whole state as bytes: 16 bytes of hash, then the SQLite image."""
        return self._hash.to_bytes(16, "big") + self._db.serialize()

    def restore(self, snapshot: bytes) -> None:
        self._hash = int.from_bytes(snapshot[:16], "big")
        self._db.deserialize(memoryview(snapshot)[16:])  # a view: no copy of the image

    def fork(self) -> "DomainSimulator":
        """An independent simulator at the current state, sharing the compiled tools and SQL cache."""
        twin = object.__new__(DomainSimulator)
        twin.__dict__.update(self.__dict__)
        twin._db = self._connect()
        twin.restore(self.snapshot())
        return twin

    def state_hash(self) -> str:
        return f"{self._hash:032x}"

    def _recompute(self) -> int:
        total = 0
        for name, scan in self._scan.items():
            for row in self._db.execute(scan):
                total += row_digest(name, row)
        return total & _MASK

    def recompute_hash(self) -> str:
        """The hash from a full scan; equals ``state_hash()`` (the incremental one) by construction."""
        return f"{self._recompute():032x}"

    def rows(self, table: str) -> list[dict[str, Any]]:
        columns = [c.name for c in self._tables[table].columns]
        return [dict(zip(columns, r)) for r in self._db.execute(self._scan[table])]

    # --- calls ---------------------------------------------------------------------------------
    def replay(self, state: int | bytes, calls: Sequence[dict | str | bytes], *, initial_hash: str | None = None,
               final_hash: str | None = None) -> Replay:
        """Reset to ``state``, run ``calls`` in order and say what happened (see ``Replay``); the simulator
        is left in the final state. ``initial_hash`` / ``final_hash``: the hashes the start and the end
        must have, each checked when given."""
        try:
            start = self.reset(state)
        except IndexError as e:
            return Replay(None, [], None, [Failure("initial_state_mismatch", str(e))])
        failures = []
        if initial_hash is not None and start != initial_hash:
            where = f"state {state} of domain {self.spec.domain_id}" if isinstance(state, int) else "the snapshot"
            failures.append(Failure("initial_state_mismatch", f"{where} hashes to {start}, expected {initial_hash}"))
        observations = [self.step(call) for call in calls]
        for i, (call, obs) in enumerate(zip(calls, observations)):
            if obs.error:
                failures.append(Failure("call_failed", f"call {i} ({_call_name(call)}) fails: "
                                                       f"{json.loads(obs.observation)['error']}"))
        end = self.state_hash()
        if final_hash is not None and end != final_hash:
            failures.append(Failure("state_mismatch", f"replayed state {end} != expected {final_hash}"))
        return Replay(start, observations, end, failures)

    def step(self, call: dict | str | bytes) -> Observation:
        """Run one tool call; any defect gives an error observation and leaves the state as it was."""
        name = None
        try:
            name, args = _parse(call)
            tool = self._tools.get(name)
            if tool is None:
                raise CallError(f"unknown tool {_show(name)}")
            if not tool.spec.executable:
                raise CallError(f"tool {name!r} is not available in this environment: {tool.spec.reason}")
            mask, params = tool.bind(args)
            if tool.spec.compute is not None:  # answers from its arguments; the database is not touched
                return Observation(json.dumps(answer(tool.spec, args)), False)
            return self._run(tool, mask, params)
        except (CallError, ComputeError) as e:
            return _error(str(e))
        except sqlite3.Error as e:
            return _error(f"{name} failed: {e}")
        except Exception as e:  # noqa: BLE001 -- last resort, after the validation above: a gap in it is a
            # bug to fix, but must not kill the actor that hosts this simulator. Nothing was changed: reads
            # write nothing, and a write's transaction was rolled back before the exception got here.
            return _error(f"internal simulator error, please report it as a bug: {type(e).__name__} in "
                          f"{_show(name)}: {_show(str(e))}")

    def _run(self, tool: _Tool, mask: int, params: dict) -> Observation:
        op, kind, db = tool.op, tool.kind, self._db
        sql, before_sql = tool.statements(mask)
        if kind == "read":
            rows = db.execute(sql, params).fetchall()
            if op.single_row:
                if not rows:
                    raise CallError(f"no {tool.table.entity} matches {_shown(tool, params)}")
                return Observation(json.dumps(tool.shown(rows[0])), False)
            return Observation(json.dumps([tool.shown(r) for r in rows]), False)
        table = tool.table.name
        if kind == "update" and not mask & tool.set_mask and not op.assign:
            raise CallError(f"{tool.spec.name} needs a value to change, one of {_names(tool, tool.set_mask)}")
        if kind != "create" and tool.where_mask and not mask & tool.where_mask:  # none: a settings row
            raise CallError(f"{tool.spec.name} needs one of {_names(tool, tool.where_mask)} to find the "
                            f"{tool.table.entity}")
        guard = self._guards.get(tool.spec.name)
        db.execute("BEGIN")
        try:
            before = db.execute(before_sql, params).fetchall() if before_sql else []
            if kind != "create" and not before:
                raise CallError(f"no {tool.table.entity} matches {_shown(tool, params)}")
            refusal = guard and guard.check(db, params, before)
            if refusal:  # the policy forbids it: nothing was written yet
                db.execute("ROLLBACK")
                rule, message = refusal
                return Observation(json.dumps({"error": message, "rule": rule}), True)
            rowids = db.execute(sql, params).fetchall()
            after = [] if kind == "delete" else [
                db.execute(self._by_rowid[table], {"p0": r[0]}).fetchone() for r in rowids]
            h = self._hash
            for row in before:
                h -= row_digest(table, row)
            for row in after:
                h += row_digest(table, row)
            label = {"create": "created", "update": "updated", "delete": "deleted"}[kind]
            observation = json.dumps({label: [tool.shown(r) for r in (after or before)]})
        except BaseException:
            if db.in_transaction:  # SQLite rolls back by itself after some errors
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._hash = h & _MASK
        return Observation(observation, False)

    # --- gym-style surface ---------------------------------------------------------------------
    def init(self, state: int | bytes = 0) -> tuple[list[dict], dict]:
        """SkyRL-style start: (tools in OpenAI form, info)."""
        return [t.openai_schema for t in self.spec.tools if t.executable], {"state_hash": self.reset(state)}

    def step_gym(self, action: dict | str) -> dict[str, Any]:
        """SkyRL-style step: the reward is left to the task's verifier, so it is 0 here."""
        obs = self.step(action)
        return {"observations": [{"role": "tool", "content": obs.observation}], "reward": 0.0, "done": False,
                "metadata": {"error": obs.error, "state_hash": self.state_hash()}}


def _parse(call: dict | str | bytes) -> tuple[str, dict]:
    """(name, arguments) of an OpenAI-style call; arguments may be JSON text, as OpenAI sends them."""
    if isinstance(call, (str, bytes)):
        call = _loads(call, "tool call is")
    if isinstance(call, dict) and isinstance(call.get("function"), dict):
        call = call["function"]
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        raise CallError('a tool call is an object {"name": ..., "arguments": {...}}')
    args = call.get("arguments")
    if isinstance(args, str):
        args = _loads(args, "arguments are") if args.strip() else {}
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise CallError(f"arguments must be an object, got {type(args).__name__}")
    return call["name"], args


def _call_name(call: dict | str | bytes) -> str:
    try:
        return _parse(call)[0]
    except CallError:
        return "?"


def _loads(text: str | bytes, subject: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:  # bad JSON, bytes that are not UTF-8, nesting past the parser
        raise CallError(f"{subject} not valid JSON: {e}") from None


def _error(message: str) -> Observation:
    return Observation(json.dumps({"error": message}), True)


def _names(tool: _Tool, mask: int) -> list[str]:
    return [b.param for i, b in enumerate(tool.op.bindings) if mask >> i & 1]


def _shown(tool: _Tool, params: dict) -> str:
    return ", ".join(f"{b.param}={_show(params[f'p{i}'])}" for i, b in enumerate(tool.op.bindings)
                     if f"p{i}" in params)
