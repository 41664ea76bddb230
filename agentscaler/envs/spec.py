"""An environment as inspectable data: tables, DDL, compiled tools and synthesized states.

Everything a simulator needs is in one ``EnvSpec`` JSON file per domain, so loading an environment
recomputes nothing; the only thing derived at run time is the SQL text for a given set of provided
arguments, which is rendered from the ``Operation`` below and cached (see ``envs.compile``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentscaler.artifacts import write_json

Kind = Literal["read", "create", "update", "delete"]
SqlType = Literal["TEXT", "INTEGER", "REAL"]
JsonType = Literal["string", "integer", "number", "boolean", "array", "object", "any"]
Role = Literal["eq", "like", "ge", "le", "in", "value", "limit", "offset", "page"]
FILTER_ROLES = ("eq", "like", "ge", "le", "in")
"""Roles that narrow the rows a call reaches; ``in``: the column's value is one of the argument's items."""
_SQL_TYPES: dict[str, SqlType] = {"integer": "INTEGER", "boolean": "INTEGER", "number": "REAL"}


def sql_type(kind: JsonType) -> SqlType:
    return _SQL_TYPES.get(kind, "TEXT")


class ValueHints(BaseModel):
    """What a spec says a column's or a parameter's values look like (``schema.hints``)."""

    format: str | None = Field(None, description="The spec's format (date, date-time, email, uuid, uri...).")
    pattern: str | None = Field(None, description="The spec's pattern: synthesized values match it.")
    examples: list[Any] | None = Field(None, description="The spec's example values: used and imitated.")
    shape: dict[str, Any] | None = Field(
        None, description="An array's items or an object's properties as the spec gives them (``schema.shape``): "
                          "synthesized values follow it.")
    minimum: float | None = Field(None, description="The spec's lower bound (exclusiveMinimum as the next value).")
    maximum: float | None = Field(None, description="The spec's upper bound: synthesized numbers fall inside.")


class Column(ValueHints):
    name: str
    type: SqlType
    json_type: JsonType = Field(description="How values look to an agent; drives synthesis and rendering.")
    enum: list[Any] | None = None
    default: Any = None
    required: bool = Field(False, description="NOT NULL: the data model requires it and every create sets it.")


class ForeignKey(BaseModel):
    column: str
    table: str
    ref_column: str
    on_delete: Literal["SET NULL"] | None = Field(
        None, description="SET NULL for a data model's reference (a pet outlives its category); else restrict.")


class Table(BaseModel):
    name: str
    entity: str = Field(description="Singular entity the table stores (user for users).")
    columns: list[Column]
    primary_key: str
    key_shape: str | None = Field(
        default=None, description="TEXT keys in this shape (envs.keys: handle, number, code, uuid); None for INTEGER "
                                  "keys, which SQLite assigns.")
    foreign_keys: list[ForeignKey] = []
    singleton: bool = Field(default=False, description="Holds one row (settings): setters need no identifier.")
    indexes: list[str] = Field(default=[], description="Columns with a secondary index (keys and filters).")

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


class Binding(ValueHints):
    """How one tool parameter maps onto the table: the parameter→column mapping."""

    param: str
    column: str | None = Field(description="Target column; None for pagination parameters.")
    role: Role = Field(description="eq/like/ge/le/in filter, value to write, or limit/offset/page.")
    json_type: JsonType
    required: bool = False
    enum: list[Any] | None = None
    patch: str | None = Field(None, description="The JSON Patch parameter whose operations carry this field "
                                                 "(``envs.patch``; ``param`` is then the field's path); None: a "
                                                 "parameter of its own.")


class Assignment(BaseModel):
    """A column a write sets by itself, whatever the arguments: a status transition or a flag."""

    column: str
    value: Any = Field(default=None, description="The constant it sets (cancelled, true...).")
    toggle: bool = Field(default=False, description="Flip a boolean flag instead of setting a value.")


class Operation(BaseModel):
    """A tool compiled against the schema; SQL is rendered from it (and the tool's kind) per argument set."""

    table: str
    bindings: list[Binding]
    assign: list[Assignment] = Field(default=[], description="update: constant assignments, e.g. status.")
    generated_key: bool = Field(default=False, description="create: the key is not an argument, it is generated.")
    single_row: bool = Field(default=False, description="read by primary key: no match is an error.")
    max_rows: int = Field(default=50, description="Cap on rows a read returns.")
    sql: str = Field(description="The statement with every argument provided, for inspection.")


class ComputeOutput(BaseModel):
    """One property of a computing tool's answer."""

    name: str
    kind: str = Field(description="What the value is (money, minutes, probability, count, boolean...): the range "
                                  "a value derived from the arguments' hash is drawn from (``envs.compute``); "
                                  "``unit``: the unit of the output before it.")
    of: str | None = Field(default=None, description="The formula's output it reports (kind ``argument``: the "
                                                     "parameter it reports as given); None: drawn from the hash.")


class ComputeSpec(BaseModel):
    """A tool whose answer is a function of its arguments: a formula, else a deterministic pseudo-result."""

    formula: str | None = Field(description="A formula of ``envs.formulas``; None: every output from the hash.")
    inputs: dict[str, str | list[str]] = Field(
        default={}, description="Formula input -> the parameter that gives it (several for a list of numbers).")
    constants: dict[str, Any] = Field(default={}, description="Formula inputs the tool's name fixes (km_to_miles).")
    params: list[str] = Field(description="The parameters the answer depends on (the hash covers these).")
    defaults: dict[str, Any] = Field(default={}, description="What an omitted parameter stands for.")
    outputs: list[ComputeOutput]


class CompiledTool(BaseModel):
    tool_id: str
    name: str
    kind: Kind = Field(description="read, create, update or delete: declared here and nowhere else.")
    table: str | None
    operation: Operation | None
    openai_schema: dict[str, Any]
    executable: bool
    reason: str | None = None
    compute: ComputeSpec | None = Field(
        default=None, description="Set on a computing read: it answers from its arguments, never the database.")


RuleKind = Literal["identity", "confirmation", "transition", "unique", "ownership", "limit"]
STATE_RULES = ("transition", "unique", "ownership", "limit")
"""Kinds the simulator enforces on each write; the others are process rules, judged from a conversation."""


class Rule(BaseModel):
    """One rule of a domain's policy: a sentence for the agent, and the fields that make it checkable.

    - transition: a write of ``tools`` on a row of ``table`` whose ``column`` (a status) is one of
      ``refused_from`` is refused; ``value`` is the status those tools set (None: they change other columns);
      without a ``column``, an update of ``tools`` that would leave its row as it is is refused;
    - unique: a write of ``tools`` cannot give a row of ``table`` the ``column`` value another row holds;
    - ownership: ``tools`` name a row of ``table`` and, in ``column``, its ``owner``: they must name the owner
      the row holds;
    - limit: the ``column`` a write of ``tools`` sets stays within ``minimum``..``maximum`` (above, not at,
      ``minimum`` when ``exclusive_minimum``; below ``maximum`` when ``exclusive_maximum``); with ``owner`` set,
      ``maximum`` counts instead the rows of ``table`` whose ``column`` names one ``owner`` row, and a create
      past it is refused; without a ``column``, it counts every row of ``table``;
    - identity: before a write of ``tools`` on an ``owner`` row's rows, that row must have been identified by
      a successful read in ``lookups``; ``targets`` names, per tool, the column of the written rows that holds
      the owner's key ``owner_key``; ``lookups`` names, per read, the parameter that takes that key (None:
      the read identifies the owner by answering exactly one of its rows);
    - confirmation: before a successful call of ``tools`` (destructive writes) the agent asked to confirm and
      the user said yes (``envs.policy.asks_confirmation`` / ``says_yes``).
    """

    id: str = Field(description="R1, R2...: the numbering of the policy's text, and what refusals name.")
    kind: RuleKind
    text: str = Field(description="The rule as one sentence an agent reads.")
    table: str | None = None
    tools: list[str] = Field(default=[], description="The write tools the rule governs.")
    column: str | None = None
    value: Any = None
    refused_from: list[Any] = []
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    owner: str | None = None
    owner_key: str | None = None
    targets: dict[str, str] = {}
    lookups: dict[str, str | None] = {}


class Policy(BaseModel):
    """A domain's rules, derived from its environment (``envs.policy.derive_policy``)."""

    rules: list[Rule]

    def text(self) -> str:
        """The rules as numbered sentences (``R1. ...``, one per line), for the agent's system prompt."""
        return "\n".join(f"{r.id}. {r.text}" for r in self.rules)

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def tools_of(self, kind: RuleKind) -> set[str]:
        """The tools the rules of one kind govern (the confirmation rule's: the destructive writes)."""
        return {t for r in self.rules if r.kind == kind for t in r.tools}


class EnvSpec(BaseModel):
    """One domain's environment; ``states[i]`` maps table name to rows (lists in column order)."""

    domain_id: int
    fingerprint: str = Field(description="Hash of the domain's tool ids and build options: reruns reuse the file.")
    tables: list[Table]
    ddl: list[str]
    tools: list[CompiledTool]
    states: list[dict[str, list[list[Any]]]] = []
    state_hashes: list[str] = Field(default=[], description="Canonical hash of each synthesized state.")
    seed: int = 0
    policy: Policy | None = Field(default=None, description="The domain's rules; None: it has no write.")

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    def tool(self, name: str) -> CompiledTool:
        return next(t for t in self.tools if t.name == name)

    def save(self, path: str | Path) -> None:
        write_json(self.model_dump(mode="json"), Path(path))

    @classmethod
    def load(cls, path: str | Path) -> "EnvSpec":
        return cls.model_validate_json(Path(path).read_text())
