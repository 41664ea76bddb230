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
Role = Literal["eq", "like", "ge", "le", "value", "limit", "offset", "page"]


class Column(BaseModel):
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
    key_prefix: str | None = Field(
        default=None, description="TEXT keys are '<prefix><n>'; None for INTEGER keys, which SQLite assigns."
    )
    foreign_keys: list[ForeignKey] = []
    singleton: bool = Field(default=False, description="Holds one row (settings): setters need no identifier.")
    indexes: list[str] = Field(default=[], description="Columns with a secondary index (keys and filters).")

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


class Binding(BaseModel):
    """How one tool parameter maps onto the table: the parameter→column mapping."""

    param: str
    column: str | None = Field(description="Target column; None for pagination parameters.")
    role: Role = Field(description="eq/like/ge/le filter, value to write, or limit/offset/page.")
    json_type: JsonType
    required: bool = False
    enum: list[Any] | None = None


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


class CompiledTool(BaseModel):
    tool_id: str
    name: str
    kind: Kind = Field(description="read, create, update or delete: declared here and nowhere else.")
    table: str | None
    operation: Operation | None
    openai_schema: dict[str, Any]
    executable: bool
    reason: str | None = None


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

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    def tool(self, name: str) -> CompiledTool:
        return next(t for t in self.tools if t.name == name)

    def save(self, path: str | Path) -> None:
        write_json(self.model_dump(mode="json"), Path(path))

    @classmethod
    def load(cls, path: str | Path) -> "EnvSpec":
        return cls.model_validate_json(Path(path).read_text())
