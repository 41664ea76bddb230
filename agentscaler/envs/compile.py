"""Tools compiled to SQL operations on the inferred schema; SQL built as sqlglot ASTs.

Argument values never become SQL text: each parameter is a named placeholder ``:p<i>`` (``i`` its
position in the operation's bindings). A read renders one statement per *set of provided
arguments*, so an optional filter that is absent is absent from the SQL (``(:p IS NULL OR c = :p)``
would defeat the index); the simulator caches the rendered text per set.

Writes return what they changed. ``RETURNING rowid`` names the rows; their values are read back with a
plain SELECT because SQLite 3.40's RETURNING can report pre-affinity values (``1.0`` for an integer).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlglot import exp

from agentscaler.envs.compute import compile_compute
from agentscaler.envs.keys import key_sql, person_columns
from agentscaler.envs.schema import Draft
from agentscaler.envs.spec import Assignment, CompiledTool, Kind, Operation, Table
from agentscaler.failures import Failure

IN_ITEMS = 16
"""An ``in`` filter's list binds to this many placeholders ``:p<i>_<k>``, padded with NULL (``x IN (a, NULL)`` holds
only where x = a). Not ``json_each(:p)``: SQLite 3.40 crashes re-running a cached statement that reads it after
``deserialize``."""

_FILTERS = {
    "eq": lambda c, i: c.eq(_ph(i)),
    "ge": lambda c, i: c >= _ph(i),
    "le": lambda c, i: c <= _ph(i),
    "like": lambda c, i: c.like(exp.DPipe(this=exp.DPipe(this=exp.Literal.string("%"), expression=_ph(i)),
                                          expression=exp.Literal.string("%"))),
    "in": lambda c, i: c.isin(*(_ph(f"{i}_{k}") for k in range(IN_ITEMS))),
}


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _table(name: str) -> exp.Table:
    return exp.Table(this=_ident(name))


def _col(name: str) -> exp.Column:
    return exp.column(_ident(name))


def _ph(i: int | str) -> exp.Placeholder:
    return exp.Placeholder(this=f"p{i}")


def _where(op: Operation, provided: Collection[str]) -> exp.Expression | None:
    conditions = [_FILTERS[b.role](_col(b.column), i) for i, b in enumerate(op.bindings)
                  if b.param in provided and b.role in _FILTERS]
    return exp.and_(*conditions) if conditions else None


def _rowid_returning(statement: exp.Expression) -> exp.Expression:
    statement.set("returning", exp.Returning(expressions=[_col("rowid")]))
    return statement


def render(kind: Kind, op: Operation, table: Table, provided: Collection[str]) -> tuple[str, str | None]:
    """(statement, select of the rows it will touch) for the given argument names, as SQLite SQL.

    The second statement reads update/delete targets *before* the write, for the change report
    and the incremental state hash; it is None for reads and creates.
    """
    where = _where(op, provided)
    given = [(i, b) for i, b in enumerate(op.bindings) if b.param in provided]
    before = None
    if kind == "read":
        statement = exp.select(exp.Star()).from_(_table(table.name), copy=False).order_by(
            _col(table.primary_key), copy=False)
        if where is not None:
            statement = statement.where(where, copy=False)
        limit = next((_ph(i) for i, b in given if b.role == "limit"), exp.Literal.number(op.max_rows))
        offset = next((_ph(i) for i, b in given if b.role in ("offset", "page")), None)
        statement = statement.limit(limit, copy=False)
        if offset is not None:
            statement = statement.offset(offset, copy=False)
    elif kind == "create":
        columns = [b.column for _, b in given]
        values: list[exp.Expression] = [_ph(i) for i, _ in given]
        if op.generated_key and table.key_shape is not None:
            columns.append(table.primary_key)
            values.append(next_key(table, {b.column: _ph(i) for i, b in given}))
        statement = _rowid_returning(
            exp.insert(exp.values([tuple(values)]), _table(table.name), columns=[_ident(c) for c in columns])
            if values else exp.Insert(this=_table(table.name), default=True))
    else:  # no filter only on a singleton (settings) table: the build compiles nothing else without one
        rows = exp.select(exp.Star()).from_(_table(table.name), copy=False)
        before = (rows.where(where, copy=False) if where is not None else rows).sql(dialect="sqlite", copy=False)
        filtered = {"where": exp.Where(this=where)} if where is not None else {}
        if kind == "update":
            assignments = [exp.EQ(this=_col(b.column), expression=_ph(i)) for i, b in given if b.role == "value"]
            assigned = {b.column for _, b in given if b.role == "value"}
            assignments += [exp.EQ(this=_col(a.column), expression=_constant(a)) for a in op.assign
                            if a.column not in assigned]
            statement = exp.Update(this=_table(table.name), expressions=assignments, **filtered)
        else:
            statement = exp.Delete(this=_table(table.name), **filtered)
        statement = _rowid_returning(statement)
    return statement.sql(dialect="sqlite", copy=False), before


def _constant(a: Assignment) -> exp.Expression:
    """The value an assignment sets, as SQL: a literal (compiled in, never an argument) or the flag flipped."""
    if a.toggle:
        return exp.Sub(this=exp.Literal.number(1), expression=exp.func("COALESCE", _col(a.column),
                                                                        exp.Literal.number(0)))
    if isinstance(a.value, (bool, int, float)):
        return exp.Literal.number(int(a.value) if isinstance(a.value, bool) else a.value)
    return exp.Literal.string(str(a.value))


def next_key(table: Table, given: dict[str, exp.Expression]) -> exp.Expression:
    """A fresh TEXT key in the table's shape for row ``max(rowid) + 1`` (``envs.keys``), computed in SQL so replays
    stay deterministic; ``given``: column -> the placeholder of the value the create sets (a handle takes the new
    person's name)."""
    number = exp.Add(this=exp.func("COALESCE", exp.func("MAX", _col("rowid")), exp.Literal.number(0)),
                     expression=exp.Literal.number(1))
    names = person_columns(table)
    key = key_sql(table.key_shape, table.entity, number, [given[c] for c in names] if set(names) <= set(given) else [])
    return exp.select(key).from_(_table(table.name), copy=False).subquery(copy=False)


def select_all(table: Table) -> str:
    statement = exp.select(exp.Star()).from_(_table(table.name), copy=False)
    return statement.order_by(_col(table.primary_key), copy=False).sql(dialect="sqlite", copy=False)


def select_by_rowid(table: Table) -> str:
    statement = exp.select(exp.Star()).from_(_table(table.name), copy=False)
    return statement.where(_col("rowid").eq(_ph(0)), copy=False).sql(dialect="sqlite", copy=False)


def insert_row(table: Table) -> str:
    """The statement that loads synthesized rows, columns in table order."""
    values = exp.values([tuple(_ph(i) for i in range(len(table.columns)))])
    statement = exp.insert(values, _table(table.name), columns=[_ident(c.name) for c in table.columns])
    return statement.sql(dialect="sqlite", copy=False)


def compile_tool(draft: Draft, tables: dict[str, Table]) -> CompiledTool:
    """The tool's operation, or the reason it cannot be one (executable=False)."""
    table = next(t for t in tables.values() if t.entity == draft.entity)
    key = table.primary_key
    bindings = draft.bindings
    reason = None
    # a computing read answers from its arguments (``envs.compute``): its bindings only validate them
    compute = compile_compute(draft.tool, [b.param for b in bindings]) if draft.computing else None
    if draft.kind == "update" and not table.singleton and not any(b.role == "eq" for b in bindings):
        reason = f"no parameter identifies the {draft.entity} to update"
    elif draft.kind == "update" and not draft.assign and not any(b.role == "value" for b in bindings):
        reason = f"update has nothing to set on {table.name}"
    elif draft.kind == "delete" and not bindings:
        reason = f"delete without a filter would empty {table.name}"
    elif compute is None and (unknown := [b.column for b in bindings
                                          if b.column and b.column not in {c.name for c in table.columns}]):
        reason = f"columns {unknown} exceed the {table.name} table's column budget"
    op = Operation(
        table=table.name, bindings=bindings, assign=draft.assign if draft.kind == "update" else [], sql="",
        generated_key=draft.kind == "create" and not any(b.column == key for b in bindings),
        single_row=draft.kind == "read" and any(b.column == key and b.role == "eq" and b.required for b in bindings),
    )
    if reason is None:
        op.sql = render(draft.kind, op, table, [b.param for b in bindings])[0]
    return CompiledTool(tool_id=draft.tool.tool_id, name=draft.tool.name, kind=draft.kind, table=table.name,
                        operation=op if reason is None else None, openai_schema=draft.tool.openai_schema(),
                        executable=reason is None, reason=reason and str(Failure("not_compilable", reason)),
                        compute=compute)
