"""Domain rules: derived from an environment, enforced by the simulator, judged from a conversation.

Every domain with an executable write gets a ``Policy`` (``spec.Rule`` documents each kind's fields),
derived from its schema, compiled tools and synthesized states, never drawn at random:

- *identity*: writes on the rows of a person or account (a table whose entity is a user, customer,
  account...: its own rows, or rows holding its key) need that owner identified first by a lookup the
  domain offers (a read of the owner's table, or a read filtered by the owner's key);
- *confirmation*: deletes, status changes to a final status (cancelled, closed, refunded...) and writes
  whose name says they cannot be taken back (``IRREVERSIBLE``: reset, revoke, send, pay...) or commit the
  user (``COMMITMENTS``: book, reserve, rent...) need the user's explicit yes;
- *transition*: a status verb (``envs.semantics.STATUS_VERBS``) cannot set a row to the status it has
  already, nor move it out of a final status (except the verbs that exist for that: reopen, return,
  refund, archive...); ``cancel`` also not once the row has shipped; other updates leave rows at a final
  status alone; and an update that would leave its row exactly as it is is refused (tau2's "the new
  item must differ from the old one");
- *unique*: a create or update cannot give a row the natural key another row holds (a SKU, a slug: what
  ``envs.synth.unique`` keeps apart; a username or an email only on a person's or account's rows) nor,
  for a table nothing else owns and that is not about people, the name another has (a second project
  called "Atlas"); only where every state's rows already differ in it;
- *ownership*: an update or delete that names a row by its key and its parent (an order and its
  user) must name the parent the row holds;
- *limit*: written quantities (1..N), money (more than 0, at most a cap), percentages, ratings and the
  bounds a tool's JSON Schema declares; and, on create, at most K rows of a child per parent (its
  person or account, else the parent the create names), or of the account's own rows where it names none.
  N and the cap are ten times the largest value the states hold, K one more than the most children any
  parent holds (one more than twice the most rows of a state, for the account's own), each rounded up
  to 1, 2 or 5 times a power of ten: far enough out that synthesized values pass, near enough to be a
  real rule.

The state rules (transition, unique, ownership, limit) are enforced by the simulator (``guards``: one
``Guard`` per tool with rules, so domains and tools without pay nothing). The process rules are judged from a
conversation by ``process_violations``, with these definitions (simple, deterministic):

- a lookup *identifies* an owner when it succeeds and either it reads the owner's table and answers
  exactly one row, that owner's, or it takes the owner's key as an argument and answers something;
- an assistant message *asks to confirm* when it holds a question mark and one of ``CONFIRM_CUES``;
- a user message *says yes* when it starts with one of ``AFFIRMATIVE``;
- a destructive write is *confirmed* when the last user message before it says yes and the last
  assistant text before that user message asks to confirm (one yes covers the writes up to the
  user's next message).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence

from agentscaler.envs.kinds import VERBS
from agentscaler.envs.naming import action_words, tokens
from agentscaler.envs.semantics import STATUS_COLUMN
from agentscaler.envs.spec import STATE_RULES, CompiledTool, EnvSpec, Policy, Rule, Table
from agentscaler.envs.synth import unique
from agentscaler.envs.values import meaning
from agentscaler.failures import Failure
from agentscaler.toolspec import declared_bounds, integral

OWNER_WORDS = {
    "user", "customer", "account", "member", "client", "patient", "passenger", "guest", "employee", "student",
    "subscriber", "buyer", "seller", "person", "profile", "traveler", "traveller", "tenant", "merchant",
    "owner", "rider", "shopper", "consumer", "donor", "candidate", "applicant", "learner",
    "organization", "company", "team", "workspace", "household",
}  # fmt: skip
"""The last word of an entity whose rows (and whose children's rows) belong to someone to identify."""
ORGANIZATIONS = {"account", "organization", "company", "team", "workspace", "household", "merchant"}
"""Owners that are not people: their names are unique, a person's are not."""
FINAL = {
    "cancelled", "canceled", "closed", "completed", "complete", "refunded", "returned", "delivered", "fulfilled",
    "rejected", "declined", "voided", "expired", "terminated", "retired", "deleted", "dismissed", "resolved",
    "redeemed", "banned", "finished", "done",
}  # fmt: skip
"""Statuses that end a row's life: a status change to one is destructive, and rows at one stay there."""
REVIVES = {
    "open": {"closed", "resolved", "completed", "done", "finished"},
    "returned": {"delivered", "completed", "fulfilled"},
    "refunded": {"delivered", "completed", "fulfilled", "returned"},
    "archived": FINAL, "closed": {"resolved", "completed"}, "active": {"expired", "banned"},
}  # fmt: skip
"""Final statuses a status change to the key starts from (reopen a closed ticket, return a delivered order)."""
IRREVERSIBLE = {
    "delete", "remove", "reset", "clear", "purge", "revoke", "detach", "disassociate", "dissociate", "deprecate",
    "wipe", "truncate", "erase", "destroy", "discard", "drop", "abort", "uninstall", "unsubscribe", "unlink",
    "unassign", "unregister", "deregister", "overwrite", "replace", "send", "transfer", "pay", "charge",
    "purchase", "buy", "withdraw", "refund", "publish",
}  # fmt: skip
"""Words in a write's name that say it cannot be taken back (it loses data or access, or money or messages leave)."""
COMMITMENTS = {"book", "reserve", "rent", "checkout", "donate", "hire", "enroll", "register"}
"""First words of a write that commits the user (a booking charges them, tau2's "obtain explicit confirmation before
booking"); only as the verb: ``create_book`` adds a book to a catalogue."""
NOT_AFTER = {"cancelled": {"shipped", "in_transit", "dispatched", "delivered"}}
"""Statuses past which a change is too late (an order cannot be cancelled once shipped)."""
QUANTITY_WORDS = {"quantity", "qty", "count", "seats", "guests", "passengers", "adults", "nights", "tickets",
                  "units", "copies", "rooms", "people", "persons", "pieces"}
MONEY_WORDS = {"amount", "price", "cost", "total", "fee", "fare", "payment", "budget", "salary", "deposit",
               "withdrawal", "charge", "tip", "subtotal"}
PERCENT_WORDS = {"percent", "percentage", "pct"}
RATING_WORDS = {"rating", "stars"}
CONFIRM_CUES = re.compile(r"\b(confirm|go ahead|proceed|shall i|should i|do you want me|would you like me|"
                          r"are you sure)\b", re.IGNORECASE)
AFFIRMATIVE = re.compile(r"^\W*(yes|yeah|yep|yup|sure|ok|okay|please do|please go ahead|go ahead|confirm(ed)?|"
                         r"correct|do it|absolutely|of course)\b", re.IGNORECASE)
_WRITTEN = ("created", "updated", "deleted")


# --- derivation ------------------------------------------------------------------------------------

def derive_policy(spec: EnvSpec) -> Policy | None:
    """The domain's rules, numbered R1.. in a fixed order (kinds, then tables, then columns); None for a
    domain without an executable write or with nothing to rule."""
    writes = [t for t in spec.tools if t.kind != "read" and t.executable and t.operation]
    if not writes:
        return None
    tables = {t.name: t for t in spec.tables}
    values = _state_values(spec)
    rules = [*_identity(spec, writes, tables), *_confirmation(writes), *_transitions(writes, tables, values),
             *_unchanged(writes, tables), *_unique(spec, writes, tables), *_ownership(writes, tables),
             *_limits(writes, tables, values),
             *_quotas(spec, writes, tables)]
    for n, rule in enumerate(rules, 1):
        rule.id = f"R{n}"
    return Policy(rules=rules) if rules else None


def _state_values(spec: EnvSpec) -> dict[tuple[str, str], list[Any]]:
    """(table, column) -> every non-null value the synthesized states hold."""
    out: dict[tuple[str, str], list[Any]] = {}
    for state in spec.states:
        for name, rows in state.items():
            columns = [c.name for c in spec.table(name).columns]
            for row in rows:
                for column, v in zip(columns, row):
                    if v is not None:
                        out.setdefault((name, column), []).append(v)
    return out


def _entity(table: Table) -> str:
    return table.entity.replace("_", " ")


def _one(table: Table) -> str:
    """How a rule names any row of the table: "an order", or "the settings" for a table of one row."""
    return f"the {_entity(table)}" if table.singleton else _a(_entity(table))


def _a(words: str) -> str:
    """``words`` with its indefinite article (an order, a user, an update)."""
    w = words.lower()
    vowel = w[:1] in ("a", "e", "i", "o") or (w[:1] == "u" and not w.startswith(("us", "uni", "ut", "ur")))
    return f"{'an' if vowel else 'a'} {words}"


def _possessive(text: str) -> str:
    return text + ("'" if text.endswith("s") else "'s")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _either(items: list[str], last: str = "or") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _nice(x: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that is at least ``x`` (at least 1)."""
    if x <= 1:
        return 1
    power = 10 ** math.floor(math.log10(x))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= x)


def _is_person(table: Table) -> bool:
    words = tokens(table.entity)
    return bool(words) and words[-1] in OWNER_WORDS - ORGANIZATIONS


def _is_owner(table: Table) -> bool:
    words = tokens(table.entity)
    return bool(words) and words[-1] in OWNER_WORDS and not table.singleton


def _identity(spec: EnvSpec, writes: list[CompiledTool], tables: dict[str, Table]) -> list[Rule]:
    reads = [t for t in spec.tools if t.kind == "read" and t.executable and t.operation and t.compute is None]
    rules = []
    for owner in (t for t in spec.tables if _is_owner(t)):
        targets = {}
        for tool in writes:
            written = tables[tool.table]
            fk = next((fk for fk in written.foreign_keys if fk.table == owner.name), None)
            if written.name == owner.name and tool.kind != "create":
                targets[tool.name] = owner.primary_key
            elif fk is not None:
                targets[tool.name] = fk.column
        lookups: dict[str, str | None] = {}
        for tool in reads:
            if tool.table == owner.name:
                lookups[tool.name] = None
            else:
                fk = next((fk for fk in tables[tool.table].foreign_keys if fk.table == owner.name), None)
                param = fk and next((b.param for b in tool.operation.bindings
                                     if b.role == "eq" and b.column == fk.column), None)
                if param:
                    lookups[tool.name] = param
        if targets and lookups:
            who = _entity(owner)
            rules.append(Rule(
                id="", kind="identity", table=owner.name, tools=list(targets), owner=owner.name,
                owner_key=owner.primary_key, targets=targets, lookups=lookups,
                text=f"Before creating, changing or removing anything that belongs to {_a(who)} "
                     f"({_either(list(targets))}), identify the {who} with a lookup ({_either(list(lookups))}) "
                     f"and act only for that {who}."))
    return rules


def _status_change(tool: CompiledTool) -> Any:
    """The status a status verb sets (``cancel`` -> cancelled), or None."""
    return next((a.value for a in tool.operation.assign if a.column == STATUS_COLUMN and isinstance(a.value, str)),
                None)


def _verb_of(tool: CompiledTool) -> str | None:
    """The first word of what a write's name says it does (``Hotels_4_ReserveHotel``: reserve; ToolBench's
    provider suffix and an API's category prefix left out)."""
    words = [w for w in action_words(tool.name) if w.isalpha()]
    return next((w for w in words if w in VERBS or w in COMMITMENTS), None)


def _confirmation(writes: list[CompiledTool]) -> list[Rule]:
    destructive = [t for t in writes if t.kind == "delete" or str(_status_change(t)).lower() in FINAL
                   or not IRREVERSIBLE.isdisjoint(tokens(t.name)) or _verb_of(t) in COMMITMENTS]
    if not destructive:
        return []
    return [Rule(id="", kind="confirmation", tools=[t.name for t in destructive],
                 text=f"Before {_either([t.name for t in destructive])}, tell the user exactly what the call will "
                      f"do and make it only once they explicitly say yes.")]


def _status_values(table: Table, column: str, writes: list[CompiledTool], values) -> list[Any]:
    """Every status value the domain knows for a column: its enum, default, the states' values and what tools set."""
    c = table.column(column)
    known = [*(c.enum or []), c.default, *values.get((table.name, column), []),
             *(a.value for t in writes if t.table == table.name for a in t.operation.assign if a.column == column)]
    return sorted({v for v in known if isinstance(v, str)}, key=str.lower)


def _transitions(writes: list[CompiledTool], tables: dict[str, Table], values) -> list[Rule]:
    rules = []
    for table in tables.values():
        column = next((c.name for c in table.columns if c.type == "TEXT" and c.name != table.primary_key and (
            c.name == STATUS_COLUMN or c.name.endswith("_status"))), None)
        updates = [t for t in writes if t.table == table.name and t.kind == "update"]
        if column is None or not updates:
            continue
        known = _status_values(table, column, writes, values)
        by_target: dict[str, list[str]] = {}
        for tool in updates:
            target = _status_change(tool) if column == STATUS_COLUMN else None
            by_target.setdefault(target, []).append(tool.name)
        for target, names in sorted(by_target.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
            if target is None and table.singleton:
                continue  # the one row of settings never ends its life
            if target is None:
                refused = [v for v in known if v.lower() in FINAL]
                change = "can no longer be changed"
            else:
                revived, too_late = REVIVES.get(target.lower(), set()), NOT_AFTER.get(target.lower(), set())
                refused = [v for v in known if v.lower() == target.lower() or v.lower() in too_late
                           or (v.lower() in FINAL and v.lower() not in revived)]
                change = f"cannot be set to {target}"
            if refused:
                rules.append(Rule(id="", kind="transition", table=table.name, tools=names, column=column,
                                  value=target, refused_from=refused,
                                  text=f"{_cap(_one(table))} whose {column} is {_either(refused)} {change} "
                                       f"({_either(names)})."))
    return rules


def _unchanged(writes: list[CompiledTool], tables: dict[str, Table]) -> list[Rule]:
    """Updates that set values or turn a flag on or off (not a status: its own rules say when that changes): one
    that would leave its row exactly as it is changes nothing the user wants (enabling what is enabled), so it
    is refused and the agent says so."""
    tools = [t.name for t in writes if t.kind == "update" and (_sets_flags(t) if t.operation.assign else any(
        b.role == "value" and b.column != tables[t.table].primary_key for b in t.operation.bindings))]
    if not tools:
        return []
    return [Rule(id="", kind="transition", tools=tools,
                 text=f"A change that would leave a record exactly as it is (every value it sets is already the "
                      f"stored one) is refused: tell the user it is already so ({_either(tools)}).")]


def _sets_flags(tool: CompiledTool) -> bool:
    """Whether every column the write sets by itself is a flag it sets to a constant (``enable_autopay``)."""
    return all(a.column != STATUS_COLUMN and not a.toggle and isinstance(a.value, bool) for a in tool.operation.assign)


def _unique(spec: EnvSpec, writes: list[CompiledTool], tables: dict[str, Table]) -> list[Rule]:
    """Columns no two rows may share, one rule each, for the creates and updates that set them."""
    found: dict[tuple[str, str], list[str]] = {}
    for tool in (t for t in writes if t.kind != "delete"):
        for b in tool.operation.bindings:
            if b.role == "value" and b.column != tables[tool.table].primary_key:
                found.setdefault((tool.table, b.column), []).append(tool.name)
    rules = []
    for (name, column), tools in sorted(found.items()):
        if not _is_unique(spec, tables[name], column):
            continue
        plural, words = name.replace("_", " "), column.replace("_", " ")
        rules.append(Rule(id="", kind="unique", table=name, tools=tools, column=column,
                          text=f"No two {plural} may share {_a(words)}: a change that gives one the {words} another "
                               f"already has is refused ({_either(tools)})."))
    return rules


def _is_unique(spec: EnvSpec, table: Table, column: str) -> bool:
    """A natural key, or the name of a table nothing owns and that is not about people, in which the rows of
    every state differ (case aside: a state where two rows share it says the API allows that)."""
    c = table.column(column)
    named = column == "name" and not table.foreign_keys and not table.singleton and not _is_person(table)
    if not (named or unique(c, meaning(c, table.entity, frozenset(x.name for x in table.columns)))):
        return False
    if tokens(column)[-1:] in (["email"], ["username"], ["login"], ["handle"], ["address"]) and not _is_owner(table):
        return False  # a server's login or a company's contact email names no one
    at = [x.name for x in table.columns].index(column)
    held = [[str(r[at]).lower() for r in state.get(table.name) or [] if r[at] is not None] for state in spec.states]
    return sum(map(len, held)) >= 2 and all(len(h) == len(set(h)) for h in held)


def _ownership(writes: list[CompiledTool], tables: dict[str, Table]) -> list[Rule]:
    """Updates that name a row and its person/account, deletes that name a row and any parent: the parent
    must be the row's own (else the update would move the row, and the delete ignore the parent)."""
    found: dict[tuple[str, str], list[str]] = {}
    for tool in writes:
        if tool.kind == "create":
            continue
        table = tables[tool.table]
        if not any(b.role == "eq" and b.column == table.primary_key for b in tool.operation.bindings):
            continue
        for fk in table.foreign_keys:
            named = any(b.role == "value" and b.column == fk.column for b in tool.operation.bindings)
            if named and fk.table in tables and fk.table != table.name and (
                    tool.kind == "delete" or _is_owner(tables[fk.table])):  # (a parent task is no owner)
                found.setdefault((table.name, fk.column), []).append(tool.name)
    rules = []
    for (name, column), tools in sorted(found.items()):
        table = tables[name]
        parent = next(fk.table for fk in table.foreign_keys if fk.column == column)
        entity, owner = _entity(table), _entity(tables[parent])
        rules.append(Rule(id="", kind="ownership", table=name, tools=tools, column=column, owner=parent,
                          text=f"When {_either(tools)} names both {_a(entity)} and its {owner}, the {owner} must be "
                               f"the one the {entity} belongs to."))
    return rules


def _limits(writes: list[CompiledTool], tables: dict[str, Table], values) -> list[Rule]:
    """Bounds on written numbers, one rule per column: those a tool's schema declares, else those its meaning gives."""
    declared: dict[tuple[str, str], Bounds] = {}
    meant: dict[tuple[str, str], Bounds] = {}
    governed: dict[tuple[str, str], list[str]] = {}
    for tool in writes:
        if tool.kind == "delete":
            continue
        table = tables[tool.table]
        function = tool.openai_schema.get("function") or tool.openai_schema
        schema = (function.get("parameters") or {}).get("properties") or {}
        for b in tool.operation.bindings:
            if b.role != "value" or b.json_type not in ("integer", "number") or b.column == table.primary_key:
                continue
            key = (table.name, b.column)
            found, into = _declared(schema.get(b.param)), declared
            if found is None:
                found, into = _by_meaning(b.column, b.json_type, values.get(key, [])), meant
            if found is not None:
                into.setdefault(key, found)
                governed.setdefault(key, []).append(tool.name)
    bounds = {**meant, **declared}
    rules = []
    for (name, column), found in sorted(bounds.items()):
        whose, words = _one(tables[name]), column.replace("_", " ")
        tools = governed[(name, column)]
        rules.append(Rule(id="", kind="limit", table=name, tools=tools, column=column, minimum=found.low,
                          maximum=found.high, exclusive_minimum=found.low_strict,
                          exclusive_maximum=found.high_strict,
                          text=f"{_cap(_possessive(whose))} {words} must be {_range(found)} ({_either(tools)})."))
    return rules


class Bounds(NamedTuple):
    low: float | None
    high: float | None
    low_strict: bool
    high_strict: bool
    whole: bool


def _declared(prop: Any) -> Bounds | None:
    """Bounds a parameter's JSON Schema declares."""
    if not isinstance(prop, dict):
        return None
    low, high, low_strict, high_strict = declared_bounds(prop)
    if low is None and high is None:
        return None
    return Bounds(low, high, low_strict, high_strict, prop.get("type") == "integer")


def _by_meaning(column: str, json_type: str, seen: list[Any]) -> Bounds | None:
    """Bounds a column's meaning gives, with caps from the values the states hold."""
    words = tokens(column)
    last = words[-1] if words else ""
    numbers = [v for v in seen if isinstance(v, (int, float)) and not isinstance(v, bool)]
    cap = _nice(10 * max(numbers)) if numbers and max(numbers) > 0 else None
    whole = json_type == "integer"
    if whole and (last in QUANTITY_WORDS or words[:1] in (["num"], ["number"])):
        return Bounds(1, cap, False, False, whole)
    if last in MONEY_WORDS:
        return Bounds(0, cap, True, False, whole)
    if last in PERCENT_WORDS:
        return Bounds(0, 100, False, False, whole)
    if last in RATING_WORDS:
        return Bounds(1, 5 if not numbers or max(numbers) <= 5 else 10, False, False, whole)
    return None


def _range(b: Bounds) -> str:
    show = lambda v: f"{v:g}" if isinstance(v, float) else str(v)
    kind = "a whole number" if b.whole else "a number"
    if b.low is not None and b.high is not None and not b.low_strict and not b.high_strict:
        return f"{kind} from {show(b.low)} to {show(b.high)}"
    parts = [f"{'more than' if b.low_strict else 'at least'} {show(b.low)}"] if b.low is not None else []
    parts += [f"{'less than' if b.high_strict else 'at most'} {show(b.high)}"] if b.high is not None else []
    return f"{kind} {' and '.join(parts)}"


def _quotas(spec: EnvSpec, writes: list[CompiledTool], tables: dict[str, Table]) -> list[Rule]:
    """At most K rows of a child per parent (its person or account, else the first parent it names), for the
    creates that name the parent; K clears every parent of the states by at least one row. A create that
    names no parent adds to the account's own rows: at most K of them (a plan's limit on projects), K at
    least twice the most any state holds."""
    found: dict[tuple[str, str | None], list[str]] = {}
    for tool in writes:
        table = tables[tool.table]
        named = {b.column for b in tool.operation.bindings if b.role == "value"}
        parents = [fk for fk in table.foreign_keys
                   if fk.column in named and fk.table in tables and fk.table != table.name]
        fk = next((fk for fk in parents if _is_owner(tables[fk.table])), parents[0] if parents else None)
        if tool.kind == "create" and not table.singleton:
            found.setdefault((table.name, fk and fk.column), []).append(tool.name)
    rules = []
    for (name, column), tools in sorted(found.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        table = tables[name]
        if column is None:
            k = _nice(2 * max((len(state.get(name) or []) for state in spec.states), default=0) + 1)
            rules.append(Rule(id="", kind="limit", table=name, tools=tools, maximum=k,
                              text=f"There can be at most {k:g} {name.replace('_', ' ')} ({_either(tools)})."))
            continue
        at = [c.name for c in table.columns].index(column)
        parent = next(fk.table for fk in table.foreign_keys if fk.column == column)
        busiest = max((_busiest(state.get(name) or [], at) for state in spec.states), default=0)
        k = _nice(busiest + 1)
        rules.append(Rule(id="", kind="limit", table=name, tools=tools, column=column, owner=parent, maximum=k,
                          text=f"{_cap(_a(_entity(tables[parent])))} can have at most {k:g} "
                               f"{name.replace('_', ' ')} ({_either(tools)})."))
    return rules


def _busiest(rows: list[list[Any]], at: int) -> int:
    """The most rows that share one (non-null) value in position ``at``."""
    return max(Counter(row[at] for row in rows if row[at] is not None).values(), default=0)


# --- enforcement by the simulator ------------------------------------------------------------------

@dataclass(slots=True)
class Guard:
    """The state rules of one write tool, compiled against its bindings (``p<i>``) and its table's rows."""

    tool: str
    entity: str
    key: int  # the primary key's position in a row
    values: list[tuple[str, str, Rule]] = field(default_factory=list)  # (placeholder, param, limit)
    owners: list[tuple[int, str, Rule]] = field(default_factory=list)  # (row position, placeholder, ownership)
    statuses: list[tuple[int, frozenset[str], Rule]] = field(default_factory=list)  # (position, refused, transition)
    quotas: list[tuple[str, str, Rule]] = field(default_factory=list)  # (placeholder, COUNT statement, limit)
    uniques: list[tuple[str, str, Rule]] = field(default_factory=list)  # (placeholder, SELECT of holders, unique)
    capacity: tuple[str, Rule] | None = None  # (COUNT statement, limit) of the rows a create adds to
    unchanged: list[tuple[int, str]] = field(default_factory=list)  # (row position, placeholder) of set values
    flags: list[tuple[int, Any]] = field(default_factory=list)  # (row position, constant) of flags it sets
    unchanged_rule: Rule | None = None

    def check(self, db, params: dict[str, Any], before: list[tuple]) -> tuple[str, str] | None:
        """(rule id, error message) of the first rule the write breaks, or None. ``before``: the rows an update
        or delete will touch, read in its transaction; ``db`` answers the per-owner counts."""
        for ph, param, rule in self.values:
            v = params.get(ph)
            why = _out_of_bounds(v, rule) if type(v) in (int, float) else None
            if why:
                return self._refuse(rule, f"{param} {_short(v)} {why}")
        for row in before:
            for at, ph, rule in self.owners:
                given = params.get(ph)
                if given is not None and not _same(row[at], given):
                    return self._refuse(rule, f"{self.entity} {_short(row[self.key])} belongs to "
                                              f"{rule.column} {_short(row[at])}, not {_short(given)}")
            for at, refused, rule in self.statuses:
                if str(row[at]).lower() in refused:
                    return self._refuse(rule, f"{self.entity} {_short(row[self.key])} has {rule.column} "
                                              f"{_short(row[at])}")
        mine = {row[self.key] for row in before} if self.uniques else set()  # an update may keep its own value
        for ph, holders, rule in self.uniques:
            if params.get(ph) is not None:
                other = next((k for (k,) in db.execute(holders, (str(params[ph]),)) if k not in mine), None)
                if other is not None:
                    return self._refuse(rule, f"{rule.column} {_short(params[ph])} is already that of "
                                              f"{self.entity} {_short(other)}")
        given = [(at, params[ph]) for at, ph in self.unchanged if ph in params] + self.flags
        if given and before and all(_same(row[at], v) for row in before for at, v in given):
            return self._refuse(self.unchanged_rule, f"{self.entity} {_short(before[0][self.key])} already holds "
                                                     f"every value given")
        for ph, count, rule in self.quotas:
            if ph in params and db.execute(count, (params[ph],)).fetchone()[0] >= rule.maximum:
                return self._refuse(rule, f"{rule.column} {_short(params[ph])} already has {rule.maximum:g} "
                                          f"{rule.table.replace('_', ' ')}")
        if self.capacity and db.execute(self.capacity[0]).fetchone()[0] >= self.capacity[1].maximum:
            rule = self.capacity[1]
            return self._refuse(rule, f"there are {rule.maximum:g} {rule.table.replace('_', ' ')} already")
        return None

    def _refuse(self, rule: Rule, why: str) -> tuple[str, str]:
        return rule.id, f"{self.tool} is refused by rule {rule.id}: {why}. {rule.id}: {rule.text}"


def guards(spec: EnvSpec) -> dict[str, Guard]:
    """Tool name -> the Guard of each write some state rule governs; empty for a domain without one."""
    rules = [r for r in spec.policy.rules if r.kind in STATE_RULES] if spec.policy else []
    out = {}
    for tool in spec.tools:
        mine = [r for r in rules if tool.name in r.tools]
        if not mine or tool.operation is None or tool.kind == "read":
            continue
        table = spec.table(tool.table)
        columns = [c.name for c in table.columns]
        guard = Guard(tool.name, _entity(table), columns.index(table.primary_key))
        for rule in mine:
            slots = [(f"p{i}", b.param) for i, b in enumerate(tool.operation.bindings)
                     if b.role == "value" and b.column == rule.column]
            if rule.kind == "transition" and rule.column is None:
                guard.unchanged_rule = rule
                guard.unchanged = [(columns.index(b.column), f"p{i}") for i, b in enumerate(tool.operation.bindings)
                                   if b.role == "value" and b.column != table.primary_key]
                guard.flags = [(columns.index(a.column), a.value) for a in tool.operation.assign]
            elif rule.kind == "transition":
                guard.statuses.append((columns.index(rule.column), frozenset(v.lower() for v in rule.refused_from),
                                       rule))
            elif rule.kind == "ownership":
                guard.owners += [(columns.index(rule.column), ph, rule) for ph, _ in slots]
            elif rule.kind == "unique":
                holders = (f'SELECT "{table.primary_key}" FROM "{table.name}" '
                           f'WHERE lower(CAST("{rule.column}" AS TEXT)) = lower(?)')
                guard.uniques += [(ph, holders, rule) for ph, _ in slots]
            elif rule.column is None:
                guard.capacity = (f'SELECT COUNT(*) FROM "{table.name}"', rule)
            elif rule.owner is None:
                guard.values += [(ph, param, rule) for ph, param in slots]
            else:
                count = f'SELECT COUNT(*) FROM "{table.name}" WHERE "{rule.column}" = ?'
                guard.quotas += [(ph, count, rule) for ph, _ in slots]
        out[tool.name] = guard
    return out


def _out_of_bounds(v: float, rule: Rule) -> str | None:
    low, high = rule.minimum, rule.maximum
    if low is not None and (v <= low if rule.exclusive_minimum else v < low):
        return f"must be {'more than' if rule.exclusive_minimum else 'at least'} {low:g}"
    if high is not None and (v >= high if rule.exclusive_maximum else v > high):
        return f"must be {'less than' if rule.exclusive_maximum else 'at most'} {high:g}"
    return None


def _same(stored: Any, given: Any) -> bool:
    return stored == given or (stored is not None and key_text(stored) == key_text(given))


def key_text(v: Any) -> str:
    """A key as text, whichever JSON type carried it (``3``, ``3.0`` and ``"3"`` alike)."""
    return str(integral(v))


def _short(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False) if isinstance(v, str) else str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def refused_rule(observation: str) -> str | None:
    """The rule a refusal observation names (``{"error": ..., "rule": "R2"}``), or None."""
    try:
        obs = json.loads(observation)
    except (TypeError, ValueError):
        return None
    return obs.get("rule") if isinstance(obs, dict) and "error" in obs else None


# --- process rules, judged from a conversation -----------------------------------------------------

def asks_confirmation(text: str) -> bool:
    """Whether an assistant message asks the user to confirm (a question with one of ``CONFIRM_CUES``)."""
    return "?" in text and CONFIRM_CUES.search(text) is not None


def says_yes(text: str) -> bool:
    """Whether a user message says yes (it starts with one of ``AFFIRMATIVE``)."""
    return AFFIRMATIVE.match(text) is not None


def process_violations(policy: Policy | EnvSpec | None, messages: list[dict],
                       observations: Sequence[str] | None = None) -> list[Failure]:
    """The identity and confirmation rules a conversation breaks (see the module docstring), in call order:
    ``unidentified_write`` and ``unconfirmed_destructive_write``. Only successful writes count. A call's
    observation is ``observations[n]`` for the n-th call when given (a replay's), else its tool message."""
    policy = policy.policy if isinstance(policy, EnvSpec) else policy
    identity = [r for r in policy.rules if r.kind == "identity"] if policy else []
    destructive = {t: r for r in policy.rules if r.kind == "confirmation" for t in r.tools} if policy else {}
    if not identity and not destructive:
        return []
    tool_messages = [m for m in messages if m.get("role") == "tool"]
    by_id = {m.get("tool_call_id"): m.get("content") for m in tool_messages if m.get("tool_call_id")}
    identified: dict[str, set[str]] = {r.id: set() for r in identity}
    failures = []
    asked = confirmed = False
    n = 0
    for m in messages:
        role = m.get("role")
        if role == "user":
            confirmed, asked = asked and says_yes(_text(m)), False
        elif role != "assistant":
            continue
        for call in m.get("tool_calls") or []:
            name, args = _call(call)
            observation = observations[n] if observations is not None and n < len(observations) else by_id.get(
                call.get("id") if isinstance(call, dict) else None,
                tool_messages[n].get("content") if n < len(tool_messages) else None)
            result = _success(observation)
            if result is not None:
                for rule in identity:
                    if name in rule.lookups:
                        identified[rule.id] |= _identifies(rule, name, args, result)
                    for owner in _owners(rule, name, result) - identified[rule.id]:
                        failures.append(Failure("unidentified_write", f"call {n} ({name}) writes for {rule.owner} "
                                                f"{owner} before a lookup identified it ({rule.id})"))
                if name in destructive and not confirmed:
                    failures.append(Failure("unconfirmed_destructive_write", f"call {n} ({name}) was not preceded "
                                            f"by a confirmation question and the user's yes ({destructive[name].id})"))
            n += 1
        if role == "assistant" and _text(m):
            asked = asks_confirmation(_text(m))
    return failures


def _text(m: dict) -> str:
    content = m.get("content")
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return content if isinstance(content, str) else ""


def _call(call: Any) -> tuple[Any, dict]:
    fn = call.get("function") if isinstance(call, dict) else None
    fn = fn if isinstance(fn, dict) else {}
    args = fn.get("arguments")
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except ValueError:
            args = {}
    return fn.get("name"), args if isinstance(args, dict) else {}


def _success(observation: Any) -> Any:
    """The observation (JSON text, or already parsed) of a call that succeeded, or None."""
    try:
        obs = json.loads(observation) if isinstance(observation, (str, bytes)) else observation
    except ValueError:
        return None
    return None if isinstance(obs, dict) and "error" in obs else obs


def _identifies(rule: Rule, tool: str, args: dict, result: Any) -> set[str]:
    """The owner keys a successful lookup identifies (see the module docstring)."""
    param = rule.lookups[tool]
    if param is None:
        rows = result if isinstance(result, list) else [result]
        row = rows[0] if len(rows) == 1 else None
        found = isinstance(row, dict) and row.get(rule.owner_key) is not None
        return {key_text(row[rule.owner_key])} if found else set()
    return {key_text(args[param])} if args.get(param) is not None and result else set()


def _owners(rule: Rule, tool: str, result: Any) -> set[str]:
    """The owner keys of the rows a successful write of ``tool`` created, changed or removed."""
    column = rule.targets.get(tool)
    if column is None or not isinstance(result, dict):
        return set()
    rows = next((result[k] for k in _WRITTEN if isinstance(result.get(k), list)), [])
    return {key_text(r[column]) for r in rows if isinstance(r, dict) and r.get(column) is not None}
