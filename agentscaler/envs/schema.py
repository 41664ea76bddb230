"""Schema inference: which entities a domain's tools talk about, and how each parameter maps onto them.

The rules, in order of strength:
- a tool's *subject* is the last noun of its name once verbs and filler words are dropped
  (``list_user_orders`` → order, ``get_details_of_order`` → order); it names the table the tool
  reads or writes; a lower-case glued name is read as words (``getcustomer`` → customer, not a
  ``getcustomers`` table no other tool's keys can reach; ToolBench's ``tournamentdetails`` → tournament,
  so a tournament's details, events and image are rows of tables its key links);
- a parameter ``<x>_id`` names an entity ``x`` with key column ``<x>_id``: the primary key of x's
  table, and a foreign key everywhere else (``orders.user_id`` → ``users.user_id``); a bare ``id`` is
  the subject's own key, or, in a name ``<owner> ... <subject>`` with no path, the owner's where the domain
  knows the owner (ToolBench's ``teamnextevents(id)``: a team's id);
- a glued ``<x>id`` (ToolBench's ``customerid``, ``userid``), and an ``<x>_key``, ``<x>_slug`` or
  ``<x>_uuid`` (``projectKey``, ``chain_slug``), is the same key ``<x>_id`` where the domain
  talks about ``x`` (a tool's name says it, or two tools pass the parameter): left as a plain column,
  each table holding it got unrelated made-up values, so an order's ``customerid`` matched no customer
  and no other table's ``customerid``, and a task could not go on from one row to a related one. As a
  key it is a foreign key to ``x``'s table (made when no table owns it), so synthesized rows share
  their parents' keys and a plan walks from a row to its parent, its children and its siblings;
- a key named for another row of its own table (``parent_id``; Google Tasks' ``parent`` and ``previous``,
  described as a task's identifier) refers to that table (NULL for a top-level row), and a key named for the
  part an entity plays (``home_team_id``, ``source_snapshot_id``) to that entity's table;
- a path parameter right after a plural collection segment is that collection's key
  (``/lists/{tasklist}/tasks/{task}``: ``list_id`` and ``task_id``), and an update never moves a row its URL
  names; a create's optional bare ``id`` is the server's to assign;
- a table other rows refer to with nothing a person names a row by gets a ``name`` column;
- other parameters are columns of the subject's table (shared names across tools share the column);
  ``q``/``query``/``keyword`` search the table's ``name``; ``min_x``/``max_x`` bound column ``x``;
  ``limit``/``offset``/``page`` paginate; ``new_x`` writes column ``x``;
- properties of a known return schema are columns of the subject's table too.
Column types come from JSON Schema types; where tools disagree the column widens to REAL or TEXT.
A key is INTEGER when any tool passes it as a number (SQLite compares ``"3"`` with an INTEGER column
as 3, so string-typed tools still match), TEXT only when every tool passes a string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

from agentscaler.envs import semantics
from agentscaler.envs.compute import computes
from agentscaler.envs.keys import key_shape
from agentscaler.envs.kinds import VERBS, decide
from agentscaler.envs.naming import action_words, names_a_row, plural, singular, snake, tokens, unglue
from agentscaler.envs.patch import field_bindings, is_json_patch, relaxed
from agentscaler.envs.plumbing import ODATA_PAGING, is_plumbing, optional, switches
from agentscaler.envs.spec import (Assignment, Binding, Column, ForeignKey, JsonType, Kind, SqlType, Table, ValueHints,
                                   sql_type)
from agentscaler.ingest import MODEL
from agentscaler.toolspec import ToolSpec, declared_bounds

PAGINATION = {name.replace("_", ""): role for names, role in (
    # a bare ``max`` bounds no column; AWS's MaxItems is a page's size
    (("limit", "page_size", "per_page", "max_results", "num_results", "results_per_page", "max", "ws_size",
      "max_items", "max_records", "max_keys"), "limit"),
    (("offset", "skip", "start_index", "ws_start"), "offset"),  # AWeber's ws.start
    (("page", "page_number", "page_no", "page_num"), "page")) for name in names}
"""Paging parameters by their name written as one word, as ToolBench's lowercase copies of APIs glue ``maxResults``
and ``pageNumber`` (``maxresults``, ``pagenumber``)."""
SEARCH = {"q", "query", "search", "keyword", "keywords", "search_term", "search_query", "term"}
LOOKUPS = {**dict.fromkeys(("icontains", "contains", "like"), "like"), **dict.fromkeys(("gte", "gt"), "ge"),
           **dict.fromkeys(("lte", "lt"), "le"), **dict.fromkeys(("exact", "iexact"), "eq")}
"""A filter's lookup after its field, Django REST's way (``city__icontains``, ``created_at__gt``, ``price[lte]``) or
json-server's (``name_like``): a strict bound is taken as inclusive, as the ``min_``/``max_`` bounds are."""
DISPLAY_COLUMN = "name"
_FILLER = {"details", "detail", "info", "information", "data", "list", "all", "api", "endpoint", "the", "a",
           "an", "my", "current", "latest", "specific", "single", "multiple", "result", "results", "request",
           "response", "v1", "v2", "v3", "id", "ids", "by", "new", "top", "get", "json", "full", "base",
           "basic", "simple", "advanced", "and", "or", "random", "test", "one", "many", "each", "some"}
_PREPOSITIONS = {"by", "for", "from", "with", "of", "in", "on", "to", "at", "into", "per", "via", "using",
                 "about", "near", "between"}
_JSON_TYPES: dict[str, JsonType] = {
    "string": "string", "str": "string", "integer": "integer", "int": "integer", "number": "number",
    "float": "number", "double": "number", "boolean": "boolean", "bool": "boolean", "array": "array",
    "list": "array", "tuple": "array", "object": "object", "dict": "object",
}
MAX_COLUMNS = 64  # per table; arguments take it first, result properties get what is left
_ACTIONS = {"login", "logout", "signin", "signout", "auth", "me", "self", "batch", "bulk", "count", "exists"}


def json_type(prop: dict[str, Any]) -> JsonType:
    """The JSON type of a property, across the corpora's dialects (``STRING``, ``dict``, ``float``, lists)."""
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return _JSON_TYPES.get(str(kind).lower(), "any") if kind else "any"


_GLUED_VERBS = ("get", "list", "create", "update", "delete", "search", "fetch", "find", "remove")


def unglued(word: str) -> list[str]:
    """A lower-case glued name as words: ``getcustomer`` → get customer, ``orderid`` → order id."""
    verb = next((v for v in _GLUED_VERBS if word.startswith(v) and len(word) - len(v) >= 4), None)
    if verb and word[len(verb):].isalpha() and not word.endswith("ings"):
        return [verb, *unglued(word[len(verb):])]
    if word.endswith("byid") and len(word) > 7:
        return [*unglued(word[:-4]), "by", "id"]
    stem = glued_key(word)
    return [stem, "id"] if stem and len(stem) >= 4 else [word]


def content_words(name: str) -> list[list[str]]:
    """The name's candidate nouns, in segments split at prepositions: verbs and filler dropped. A status verb
    after the first verb is a noun (``create_refund``, ``get_return_status``)."""
    segments: list[list[str]] = [[]]
    verb_seen = False
    words = tokens(name)
    if len(action_words(name)) == 1:  # one glued run (ToolBench's ``tournamentdetails_for_mmaapi``): its words
        words[:1] = unglue(words[0])
    for word in [w for token in words for w in unglued(token)]:
        if word in _PREPOSITIONS:
            segments.append([])
        elif word in VERBS and not (verb_seen and word in semantics.STATUS_VERBS):
            verb_seen = True
        elif word not in _FILLER and word.isalpha() and len(word) > 1:
            segments[-1].append(word)
    return segments


def subject(name: str, fallback: str = "") -> str:
    """The entity a tool's name is about: last noun of the first meaningful name segment."""
    noun = next((seg[-1] for seg in content_words(name) if seg), None)
    if noun is None:
        return subject(fallback) if fallback else "record"
    return singular(noun)


_VERSION = re.compile(r"v\d+(\.\d+)*|\d+(\.\d+)*|api|rest|json|xml")


def path_subject(path: str | None) -> str | None:
    """The entity an HTTP path addresses: its last collection segment, read backwards past parameters and
    actions (``/pets/{petId}`` → pet, ``/pet/findByStatus`` → pet, ``/orders/{id}/receipt`` → receipt);
    None for RPC-style paths (``/#DeleteTags``) and paths made only of parameters and versions."""
    for segment in reversed([s for s in (path or "").split("/") if s]):
        words = tokens(segment.split(":")[0])
        if segment.startswith(("{", "#")) or not words or _VERSION.fullmatch(segment.lower()):
            continue
        if any(w in VERBS or w in _ACTIONS for w in words):
            continue
        noun = next((w for w in reversed(words) if w not in _FILLER and w.isalpha() and len(w) > 1), None)
        if noun:
            return singular(noun)
    return None


def nouns(name: str) -> list[str]:
    """The name's nouns in order, singular."""
    return [singular(w) for segment in content_words(name) for w in segment]


_NOT_KEYS = {"valid", "invalid", "android", "pyramid", "hybrid", "liquid", "fluid", "solid", "stupid", "covid",
             "humid", "vivid", "squid", "druid", "avoid", "rapid", "placid", "timid", "lucid", "lipid", "orchid",
             "acid", "paid", "unpaid", "prepaid", "postpaid", "void", "grid", "braid", "mermaid", "rigid", "candid",
             "splendid", "morbid", "horrid", "cupid", "tepid", "arachnid", "steroid", "asteroid", "thyroid",
             "humanoid", "tabloid", "celluloid", "opioid", "overpaid"}
"""Words ending in ``id`` that are no glued key."""
IDENTIFIER_WORDS = {"key", "slug", "uuid", "guid"}
"""Last words of an identifier that, like ``_id``, names one row of the entity before it (``project_key``)."""


def glued_key(column: str) -> str | None:
    """``customerid`` → ``customer``, ``project_key``/``chain_slug``/``creds_uuid`` → ``project``/``chain``/
    ``creds``: the entity a glued key or another identifier names, None for other columns (``valid``)."""
    stem, sep, word = column.rpartition("_")
    if sep and word in IDENTIFIER_WORDS and len(stem) >= 3 and stem.isalpha():
        return stem
    stem = column[:-2]
    if column.endswith("id") and len(stem) >= 3 and stem.isalpha() and column not in _NOT_KEYS:
        return stem
    return None


def _link_glued_keys(tools: list[ToolSpec], params: list[list[Param]]) -> None:
    """Rename glued keys to ``<x>_id`` where the domain talks about ``x`` (see the module docstring)."""
    names = [t.name.lower() for t in tools]
    passed: dict[str, int] = {}
    for ps in params:
        for p in ps:
            passed[p.column] = passed.get(p.column, 0) + 1
    for ps in params:
        for p in ps:
            stem = glued_key(p.column)
            taken = {q.column for q in ps}
            if stem and f"{stem}_id" not in taken and (
                    passed[p.column] > 1 or any(stem in n or plural(stem) in n for n in names)):
                p.column = f"{stem}_id"


QUALIFIED_IDS = {"unique", "external", "internal", "global", "local", "public", "private", "primary", "secondary",
                 "remote", "native", "original", "custom", "alternate", "alternative", "universal", "correlation",
                 "idempotency", "trace", "tracking", "serial", "reference", "ref"}
"""First words of an ``<x>_id`` that say what kind of identifier it is, not which entity it points at
(traccar's ``uniqueId`` is a device's IMEI: as a reference to a table of "uniques" it repeated across devices)."""


SELF_REFERENCES = {"parent", "previous", "prev", "next", "predecessor", "successor", "reply_to", "in_reply_to",
                   "duplicate_of", "replaced_by", "superseded_by", "forked_from", "merged_into"}
"""An ``<x>_id`` with one of these ``x`` that no tool is about is another row of its own table: a task's parent
task, a comment's reply-to comment (as a table of "parents" it held keys no row of the table itself had)."""
ROLES = SELF_REFERENCES | {"source", "target", "destination", "origin", "home", "away", "base", "head", "linked",
                           "related", "from", "to", "transfer_from", "transfer_to"}
"""First words of an ``<x>_<e>_id`` that say which part an ``e`` plays (``source_snapshot_id``, ``home_team_id``,
``parent_folder_id``): a key of ``e``'s table where the domain knows ``e``, not a table of its own."""
_SAYS_KEY = re.compile(r"\b(id|identifier)\b", re.I)


def _own_bare_ids(drafts: list[Draft], entity_of) -> None:
    """A bare ``id`` of a tool named ``<owner> ... <subject>`` without a path is the owner's key where the domain
    knows the owner as an entity: ToolBench's ``teamnextevents(id)`` takes a team's id, ``eventstatistics(id)``
    an event's, ``categorytournaments(id)`` a category's (REST's ``/teams/{id}/events``), not the events' own."""
    known = {d.entity for d in drafts} | {key_entity(p.column) for d in drafts for p in d.params}
    for d in drafts:
        bare = next((p for p in d.params if p.column == "id"), None)
        if bare is None or d.tool.http_path:
            continue
        words = nouns("_".join(action_words(d.tool.name)))
        owner = next((w for w in words[:-1] if w != d.entity and entity_of(w) in known), None)
        if owner and f"{entity_of(owner)}_id" not in {p.column for p in d.params}:
            bare.column = f"{entity_of(owner)}_id"


def key_entity(column: str) -> str | None:
    """``user_id`` → ``user``: the entity a key-like column refers to."""
    if column.endswith("_id") and len(column) > 3 and column[:-3].replace("_", "").isalpha() and (
            column[:-3] not in QUALIFIED_IDS):
        return singular(column[:-3])
    return None


@dataclass
class Param:
    name: str
    column: str
    json_type: JsonType
    required: bool
    enum: list[Any] | None
    default: Any
    hints: dict[str, Any] = field(default_factory=dict)  # format, pattern, examples: what values look like


_NO_VALUE = {"null", "none", "nil", "undefined", ""}
_TYPE_NAMES = {"string", "integer", "number", "boolean", "str", "int", "float", "bool"}


def hints(prop: dict[str, Any]) -> dict[str, Any]:
    """What a property's spec says its values look like (``spec.ValueHints``): ``format``, ``pattern``,
    ``examples`` (from ``example``, ``examples`` as a list or OpenAPI's named map, ``x-example``), a number's
    ``minimum`` and ``maximum``, and a container's ``shape``."""
    examples = prop.get("examples")
    if isinstance(examples, dict):
        examples = [e["value"] for e in examples.values() if isinstance(e, dict) and "value" in e]
    examples = [e for e in [*(examples if isinstance(examples, list) else []),
                            *(prop[k] for k in ("example", "x-example") if prop.get(k) is not None)]
                if not (isinstance(e, str) and e in _TYPE_NAMES)]  # Swagger's placeholder "string" shows no value
    found = {"format": prop.get("format"), "pattern": prop.get("pattern"), "examples": examples[:5] or None}
    hinted = {k: v for k, v in found.items() if v is not None and (k == "examples" or isinstance(v, str))}
    structure = shape(prop) if json_type(prop) in ("array", "object") else None
    return {**hinted, **bounds(prop), **({"shape": structure} if structure else {})}


def default(prop: dict[str, Any]) -> Any:
    """A property's default where it is a value: a default of "null" or "" says there is none (BFCL's
    ``replacement_image_path``, whose rows held the text "null")."""
    found = prop.get("default")
    return None if isinstance(found, str) and found.strip().lower() in _NO_VALUE else found


def bounds(prop: dict[str, Any]) -> dict[str, float]:
    """A number's ``minimum`` and ``maximum`` as the spec declares them; an exclusive bound as the next value
    (the next integer, or a cent further)."""
    if json_type(prop) not in ("integer", "number"):
        return {}
    step = 1 if json_type(prop) == "integer" else 0.01
    low, high, low_strict, high_strict = declared_bounds(prop)
    found = {"minimum": low if low is None or not low_strict else low + step,
             "maximum": high if high is None or not high_strict else high - step}
    return {k: v for k, v in found.items() if v is not None}


SHAPE_DEPTH, SHAPE_WIDTH = 3, 12


def shape(prop: dict[str, Any], depth: int = SHAPE_DEPTH) -> dict[str, Any] | None:
    """A property's structure in this project's types, without its prose: an object's ``properties`` and
    ``required`` (or a map's ``values``), an array's ``items``, a scalar's enum, default, format, pattern and
    examples; ``allOf`` parts merged. None where the spec says nothing a value could follow."""
    parts = [p for p in prop.get("allOf") or [] if isinstance(p, dict)]
    if parts:
        merged = {k: v for p in parts for k, v in p.items()}
        merged["properties"] = {k: v for p in parts for k, v in (p.get("properties") or {}).items()}
        merged["required"] = [r for p in parts for r in p.get("required") or []]
        prop = {**merged, **{k: v for k, v in prop.items() if k != "allOf"}}
    kind = json_type(prop) if prop.get("type") or not prop.get("properties") else "object"
    if kind == "array" and depth:
        items = prop.get("items")
        items = shape(items[0] if isinstance(items, list) and items else items or {}, depth - 1) \
            if isinstance(items, (dict, list)) else None
        return {"type": "array", "items": items} if items else None
    if kind == "object" and depth:
        fields = {k: _field(p, depth - 1) for k, p in list((prop.get("properties") or {}).items())[:SHAPE_WIDTH]
                  if isinstance(p, dict)}
        if fields:
            required = [r for r in prop.get("required") or [] if r in fields] if isinstance(
                prop.get("required"), list) else []
            return {"type": "object", "properties": fields, "required": required}
        extra = prop.get("additionalProperties")
        values = shape(extra, depth - 1) if isinstance(extra, dict) else None
        return {"type": "object", "values": values} if values else None
    if kind in ("any", "array", "object"):
        return None
    said = {"enum": prop.get("enum") if isinstance(prop.get("enum"), list) else None, "default": default(prop)}
    return {"type": kind, **{k: v for k, v in said.items() if v is not None}, **hints(prop)}


def _field(prop: dict[str, Any], depth: int) -> dict[str, Any]:
    """An object's property as its shape, or as bare as the spec leaves it (an untyped value, an empty ``{}``),
    so a required property is never left out."""
    kind = json_type(prop)
    return shape(prop, depth) or {"type": kind if kind in ("array", "object") else "string"}


@dataclass
class Draft:
    """A tool before compilation: its kind, subject and parameters in column terms."""

    tool: ToolSpec
    kind: Kind
    entity: str
    params: list[Param]
    verb: str | None = None
    computing: bool = False  # answers from its arguments (``envs.compute``): a read whose lists are its input
    bindings: list[Binding] = field(default_factory=list)
    assign: list[Assignment] = field(default_factory=list)
    patch: str | None = None  # the parameter that carries a JSON Patch list (``envs.patch``)


def path_keys(path: str | None) -> dict[str, str]:
    """Path parameters that name a row of the collection before them, as that entity's key column:
    ``/lists/{tasklist}/tasks/{task}`` → tasklist: ``list_id``, task: ``task_id`` (Google's and GCE's style,
    where a bare ``{task}`` is the task's identifier, not a text column the user makes up)."""
    segments = [s for s in (path or "").split("/") if s]
    keys = {}
    for before, segment in zip(segments, segments[1:]):
        name = segment[1:-1] if segment.startswith("{") and segment.endswith("}") else None
        last = (tokens(before) or [""])[-1]
        plural_noun = not before.startswith("{") and singular(last) != last
        collection = path_subject(before) if plural_noun else None  # not ``/route_type/{route_type}``
        words = [w for t in tokens(name or "") for w in unglue(t)]
        if collection and words and (words[-1] not in IDENTIFIER_WORDS | {"id", "ids", "name"} and (
                singular(words[-1]) == collection) or "".join(words) == collection.replace("_", "")):
            keys[name] = f"{collection}_id"  # (AWS's ``/apikeys/{api_Key}``: the whole name is the entity's)
    return keys


PAYLOADS = {"body", "request_body", "payload", "json"}
"""A request body the spec leaves opaque (no object of fields): a write stores it, a read's is its query, which
no row holds, so a read never filters on it ("look up users by body")."""


def _params(tool: ToolSpec, searches: bool) -> tuple[list[Param], set[str]]:
    """The tool's parameters that become columns, and those besides its plumbing that bind nothing: a read's
    switches (``envs.plumbing``) and, where the tool ``searches``, its opaque body (``PAYLOADS``)."""
    props = tool.parameters.get("properties") or {}
    required = set(tool.parameters.get("required") or [])
    params, seen, unbound, keys = [], set(), switches(tool, reads=searches), path_keys(tool.http_path)
    for name, prop in props.items():
        prop = prop if isinstance(prop, dict) else {}
        if is_plumbing(name, prop, set(props)) and name not in keys or name in unbound or is_json_patch(prop):
            continue  # (a row's key in the URL is no API key; a JSON Patch list binds its fields: ``envs.patch``)
        column = keys.get(name) or snake(name)
        column = "id" if column == "is_id" else column  # ToolBench renames `id` to `is_id`
        if column in SELF_REFERENCES and _SAYS_KEY.search(str(prop.get("description") or "")):
            column += "_id"  # Google Tasks' ``parent``: "Parent task identifier."
        while column in seen:
            column += "_"
        seen.add(column)
        if searches and column in PAYLOADS:  # a search's opaque body is its query, no row's field
            unbound.add(name)
            continue
        enum = prop.get("enum") if isinstance(prop.get("enum"), list) and prop.get("enum") else None
        params.append(Param(name, column, json_type(prop), name in required, enum, default(prop), hints(prop)))
    return params, unbound


def _role(kind: Kind, entity: str, p: Param, lists: bool = True) -> tuple[str, str | None]:
    """(role, column) of one parameter in a tool of this kind about this entity; ``lists``: a read's array of plain
    values finds the rows whose value is one of them (not a computation's, whose list is its input)."""
    column = p.column
    if column == "id":
        return "eq" if kind != "create" else "value", f"{entity}_id"
    if kind in ("create", "update"):
        if column.startswith("new_") and len(column) > 4:
            column = column[4:]
        return "value", column
    if kind == "read":
        paging = PAGINATION.get(column.replace("_", "")) or ODATA_PAGING.get(p.name.lower())
        if paging and p.json_type in ("integer", "number", "string"):
            return paging, None
        if lists and _element(p.hints.get("shape")) is not None:  # ids, statuses: rows whose value is one of them
            return "in", _member(column, entity)
        if column == "start" and str(p.default) == "0":  # where a list starts, not when something does
            return "offset", None
        if column in SEARCH and p.json_type == "string":
            return "like", DISPLAY_COLUMN
        stem, _, lookup = column.rpartition("_")
        if stem and lookup in LOOKUPS:
            return LOOKUPS[lookup], stem
        for bound, role in (("min", "ge"), ("max", "le")):
            if column.startswith(bound + "_") and len(column) > 4:
                return role, column[4:]
            if column.endswith("_" + bound) and len(column) > 4:
                return role, column[:-4]
    return "eq", column


def _element(structure: dict[str, Any] | None) -> dict[str, Any] | None:
    """The shape of an array's items where they are plain values (a list of ids or statuses), else None."""
    structure = structure or {}
    items = structure.get("items") or {}
    return items if structure.get("type") == "array" and items.get("type") in ("string", "integer", "number") else None


def _member(column: str, entity: str) -> str:
    """The column an array filter's items are values of: ``statuses`` → status, ``certificate_statuses`` in
    certificates → status, ``ids`` → the entity's key, ``group_id`` (AWS's list of groups) → group_id."""
    words = column.split("_")
    words = [*words[:-1], singular(words[-1])]
    if words[:-1] == entity.split("_"):
        words = words[-1:]
    return f"{entity}_id" if words == ["id"] else "_".join(words)


def _bind(draft: Draft) -> None:
    """Map each parameter to (role, column); for update/delete pick which ones identify the row."""
    key = f"{draft.entity}_id"
    if draft.kind == "create":  # an optional bare ``id`` of a create is the server's to assign (Google's insert)
        draft.params = [p for p in draft.params if p.column != "id" or p.required]
    draft.bindings = []
    for p in draft.params:
        role, column = _role(draft.kind, draft.entity, p, lists=not draft.computing)
        draft.bindings.append(Binding(param=p.name, column=column, role=role, json_type=p.json_type,
                                      required=p.required, enum=p.enum, **p.hints))
    if draft.kind in ("update", "delete"):
        current = [b for b in draft.bindings if not snake(b.param).startswith("new_")]
        ids = ([b for b in current if b.column == key] or [b for b in current if b.column and key_entity(b.column)]
               or [b for b in current if b.column and semantics.is_natural_key(b.column)][:1])
        if draft.assign:  # a status or flag change sets nothing else: keys its name does not mention scope the row
            named = set(nouns(draft.tool.name))
            ids += [b for b in current if b not in ids and b.column and key_entity(b.column)
                    and not set(tokens(key_entity(b.column))) <= named]
        # the URL names the row: a patch never moves it, a delete removes the flag its URL names (a delete's
        # parent in the URL stays a value, so the policy's ownership rule can refuse it under another parent)
        ids += [b for b in current if b not in ids and "{%s}" % b.param in (draft.tool.http_path or "") and (
            draft.kind == "update" or key_entity(b.column or "") in (None, draft.entity))]
        where = ids or ([] if draft.kind == "update" else draft.bindings)
        for b in draft.bindings:
            b.role = "eq" if b in where else "value"


def _names_its_row(path: str | None) -> bool:
    """Whether an HTTP path ends in a parameter: the row it addresses (``/stages/{stage_name}``)."""
    last = (path or "").rstrip("/").rpartition("/")[2]
    return last.startswith("{") and last.endswith("}")


def _apply_semantics(drafts: list[Draft], entity_of) -> None:
    """Retarget drafts as ``envs.semantics`` says: link tables, owners, natural keys, settings, status, flags."""
    links: dict[tuple[str, str], str] = {}
    for d in drafts:
        found = semantics.link(action_words(d.tool.name, d.tool.http_method), [p.column for p in d.params])
        if found and found[2] == d.kind:
            d.entity = links[found[:2]] = entity_of(f"{found[0]}_{found[1]}")
    for d in drafts:
        columns = [p.column for p in d.params if not p.column.startswith("new_")]
        words = nouns(d.tool.name)
        if d.kind == "read":
            d.entity = next((e for (c, m), e in links.items() if f"{c}_id" in columns and m in words
                             and set(c.split("_")) <= set(words)), d.entity)
        if d.kind != "update" or d.entity in links.values() or f"{d.entity}_id" in columns or "id" in columns or (
                _names_its_row(d.tool.http_path) and path_subject(d.tool.http_path) == d.entity):
            continue  # (the URL names the row: ``PATCH /flags/{projectKey}/{featureFlagKey}`` changes a flag)
        keys = [c for c in columns if key_entity(c)]
        if keys:
            d.entity = entity_of(key_entity(semantics.owner(tokens(d.tool.name), keys, key_entity)))
        elif any(semantics.is_natural_key(c) for c in columns):
            if d.entity in columns and d.entity in words[1:]:
                d.entity = entity_of(words[words.index(d.entity) - 1])  # update_user_email(username, email)
        else:
            d.entity = entity_of(semantics.SETTINGS_ENTITY)
    settings = set()
    for d in drafts:
        if d.kind != "update":
            continue
        attribute = list(dict.fromkeys(w for w in nouns(d.tool.name) if w not in tokens(d.entity)
                                       and w not in semantics.SETTINGS_WORDS))  # ClientAddress_set_address: one
        a = semantics.assignment(d.verb, attribute)
        flag_param = next((p for p in d.params if p.json_type == "boolean"), None)
        if a is not None and a.column != semantics.STATUS_COLUMN and flag_param is not None:
            flag_param.column = a.column  # toggle_wifi(device_id, on): the argument sets the flag
        elif a is not None:
            d.assign = [a]
        if plural(d.entity) == plural(semantics.SETTINGS_ENTITY):
            if len(d.params) == 1 and attribute and not d.assign:
                d.params[0].column = snake("_".join(attribute))  # set_volume(level) sets settings.volume
            settings |= {p.column for p in d.params} | {a.column for a in d.assign}
    for d in drafts:
        words = nouns(d.tool.name)
        if d.kind == "read" and not d.params and settings and (
                "_".join(words) in settings or not semantics.SETTINGS_WORDS.isdisjoint(words)):
            d.entity = entity_of(semantics.SETTINGS_ENTITY)  # get_volume() reads the settings row


def _merge(column: Column | None, name: str, kind: JsonType, enum: list | None, default: Any,
           hint: dict[str, Any] | None = None) -> Column:
    """A column as one more tool shows it: types widen, an enum tools disagree on goes; ``hint``: its
    ``hints``, the first tool's kept, examples pooled."""
    hint = hint or {}
    if column is None:
        return Column(name=name, type=sql_type(kind), json_type=kind, enum=enum, default=default, **hint)
    for hinted in ValueHints.model_fields.keys() - {"examples"}:
        if getattr(column, hinted) is None:
            setattr(column, hinted, hint.get(hinted))
    known = column.examples or []
    column.examples = [*known, *(e for e in hint.get("examples") or [] if e not in known)][:5] or None
    if column.json_type != kind:
        wide = {column.type, sql_type(kind)}
        column.type = "REAL" if wide == {"INTEGER", "REAL"} else "TEXT" if len(wide) > 1 else column.type
        widened = {"REAL": "number", "TEXT": "string"}
        column.json_type = widened.get(column.type, column.json_type)
    if column.enum != enum:
        column.enum = None
    return column


LISTING_FIELDS = {"kind", "etag", "self_link", "next_page_token", "page_token", "next_token", "continuation_token",
                  "marker", "next_marker", "cursor", "next_cursor", "next", "previous", "prev", "next_link",
                  "odata_next_link", "odata_count", "total", "total_count", "total_items", "total_results", "count",
                  "page", "pages", "total_pages", "page_size", "per_page", "offset", "limit", "has_more",
                  "is_truncated", "pagination", "links", "meta", "metadata", "result_size_estimate"}
"""What a listing says about itself beside its rows (Google's ``{kind, etag, items, nextPageToken}``, AWS's
``{Images, NextToken}``): none of it is a field of a row."""


def _returned_parts(tool: ToolSpec) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The returned object schema (an array's item, a listing's row) and its parts: its ``allOf`` schemas, then
    itself."""
    schema = tool.returns or {}
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        schema = schema["items"]
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    rows = [p for p in props.values() if isinstance(p, dict) and p.get("type") == "array"
            and isinstance(p.get("items"), dict) and p["items"].get("properties")]
    records = [p for p in props.values() if isinstance(p, dict) and json_type(p) == "object" and p.get("properties")]
    for wrapped, row in ((rows, lambda p: p["items"]), (records, lambda p: p)):
        if len(wrapped) == 1 and all(_about_listing(name) for name, p in props.items() if p is not wrapped[0]):
            schema = row(wrapped[0])  # a listing's rows are its array's items; AWS's {User: {...}} is the user
            break
    return schema, [*(p for p in schema.get("allOf") or [] if isinstance(p, dict)), schema]


def _about_listing(name: str) -> bool:
    """A field a listing or a wrapper says about itself: a paging field, or a count (``TotalNumberOfUsers``)."""
    words = snake(name)
    return words in LISTING_FIELDS or words.startswith(("total_", "number_of_")) or words.endswith("_count")


def _return_properties(tool: ToolSpec) -> dict[str, Any]:
    """Properties of the returned object, with those its ``allOf`` parts declare."""
    props: dict[str, Any] = {}
    for part in _returned_parts(tool)[1]:
        props.update(part["properties"] if isinstance(part.get("properties"), dict) else {})
    return props


def _model_references(draft: Draft, entity_of, passed: set[tuple[str, str]]) -> dict[str, tuple[str, dict]]:
    """Return properties that hold another data model (``Pet.category`` is a ``Category``): property ->
    (the model's entity, the model's properties). Such a property is a foreign key, not a JSON column,
    unless some tool passes it whole as an argument (then it stays the JSON the agent sends)."""
    out = {}
    for name, prop in _return_properties(draft.tool).items():
        if (draft.entity, snake(name)) in passed:
            continue
        model = prop.get(MODEL) if isinstance(prop, dict) and json_type(prop) == "object" else None
        entity = singular(snake(model)) if isinstance(model, str) else ""
        if entity.replace("_", "").isalpha():
            out[name] = (entity_of(entity), prop.get("properties") if isinstance(prop.get("properties"), dict) else {})
    return out


def infer_schema(tools: list[ToolSpec]) -> tuple[list[Table], list[Draft]]:
    """Tables (with keys, foreign keys and indexes) and one bound draft per tool."""
    by_plural: dict[str, str] = {}

    def entity_of(word: str | None) -> str | None:
        """One entity per table name: words with the same plural are the same entity."""
        return word and by_plural.setdefault(plural(word), word)

    drafts = []
    for t in tools:
        computing = computes(t)
        kind, verb = ("read", None) if computing else \
            decide(t.name, t.description, t.http_method, t.http_path, source=t.source)
        entity = path_subject(t.http_path) or subject(t.name, t.toolkit or "")  # the path names the resource
        params, unbound = _params(t, searches=kind == "read" and not computing)
        # what binds nothing is optional, as plumbing is: a gold call leaves it out
        patch = next((n for n, p in (t.parameters.get("properties") or {}).items() if is_json_patch(p)), None)
        patch = patch if kind == "update" else None
        tool = optional(relaxed(t, patch) if patch else t, unbound)
        drafts.append(Draft(tool, kind, entity_of(entity), params, verb, computing, patch=patch))
    _link_glued_keys(tools, [d.params for d in drafts])
    _own_bare_ids(drafts, entity_of)
    _apply_semantics(drafts, entity_of)
    for draft in drafts:
        _bind(draft)
    passed = {(d.entity, p.column) for d in drafts for p in d.params}
    references = {id(d): _model_references(d, entity_of, passed) for d in drafts}
    drafted = {d.entity for d in drafts}
    known = drafted | {entity_of(key_entity(b.column)) for d in drafts for b in d.bindings if b.column}

    def referent(column: str, entity: str) -> str | None:
        """The entity whose key ``column`` of ``entity``'s table holds (None: it holds none)."""
        word = key_entity(column)
        if word is None or entity_of(word) in drafted:
            return word and entity_of(word)
        if word in SELF_REFERENCES:
            return entity
        role = next((r for r in sorted(ROLES) if word.startswith(f"{r}_") and entity_of(word[len(r) + 1:]) in known),
                    None)
        return entity_of(word[len(role) + 1:] if role else word)

    entities = list(dict.fromkeys(
        [d.entity for d in drafts]
        + [referent(b.column, d.entity) for d in drafts for b in d.bindings if b.column and key_entity(b.column)]
        + [entity for d in drafts for entity, _ in references[id(d)].values()]))
    names = {e: plural(e) for e in entities}
    key_types: dict[str, set[str]] = {e: set() for e in entities}
    for d in drafts:
        for b in d.bindings:
            if b.column and (e := referent(b.column, d.entity)) in key_types:
                key_types[e].add(sql_type(b.json_type))
        for entity, props in references[id(d)].values():
            if isinstance(props.get("id"), dict):
                key_types[entity].add(sql_type(json_type(props["id"])))

    columns: dict[str, dict[str, Column]] = {}
    nullable_refs: set[tuple[str, str]] = set()  # references known from results only: ON DELETE SET NULL
    for e in entities:
        # numeric if any tool passes the key as a number: SQLite compares "3" to an INTEGER column as 3
        key_type: SqlType = "INTEGER" if not key_types[e] <= {"TEXT"} or not key_types[e] else "TEXT"
        key_json: JsonType = "integer" if key_type == "INTEGER" else "string"
        columns[e] = {f"{e}_id": Column(name=f"{e}_id", type=key_type, json_type=key_json)}
    for d in drafts:
        table = columns[d.entity]
        for b, p in zip(d.bindings, d.params):
            if b.column is None or b.column == f"{d.entity}_id":
                continue
            ref = referent(b.column, d.entity)
            if ref in columns and ref != d.entity:
                table.setdefault(b.column, columns[ref][f"{ref}_id"].model_copy(update={"name": b.column}))
            elif b.role == "like" and b.column == DISPLAY_COLUMN:
                table.setdefault(DISPLAY_COLUMN, Column(name=DISPLAY_COLUMN, type="TEXT", json_type="string"))
            elif b.role == "in" and len(table) < MAX_COLUMNS:  # the column holds one of the items
                item = _element(b.shape)
                table[b.column] = _merge(table.get(b.column), b.column, item["type"], item.get("enum"), None,
                                         {k: v for k, v in item.items() if k in ValueHints.model_fields})
            elif len(table) < MAX_COLUMNS:
                table[b.column] = _merge(table.get(b.column), b.column, b.json_type, b.enum, p.default, p.hints)
        for a in d.assign:  # a status (TEXT) or a flag (boolean)
            kind: JsonType = "string" if isinstance(a.value, str) else "boolean"
            table.setdefault(a.column, Column(name=a.column, type=sql_type(kind), json_type=kind))
    for d in drafts:  # then what results show, in the budget the tools' arguments left
        table = columns[d.entity]
        refs = references[id(d)]
        for name, prop in _return_properties(d.tool).items():
            column = snake(name)
            if column == "id":
                continue  # the entity's own key, already the table's primary key
            if name in refs and refs[name][0] != d.entity:  # the referenced model's key, a foreign key below
                ref, model_props = refs[name]
                table.setdefault(f"{ref}_id", columns[ref][f"{ref}_id"].model_copy(update={"name": f"{ref}_id"}))
                nullable_refs.add((d.entity, f"{ref}_id"))
                _add_properties(columns[ref], model_props)
            elif column not in table and len(table) < MAX_COLUMNS and isinstance(prop, dict):
                table[column] = _merge(None, column, json_type(prop), prop.get("enum"), None, hints(prop))
                if key_entity(column):  # a reference only the data model shows: SET NULL, like the above
                    nullable_refs.add((d.entity, column))

    _name_parents(columns, referent)
    _mark_required(drafts, columns)
    lookups = {(d.entity, b.column) for d in drafts for b in d.bindings  # required equality filters
               if b.role == "eq" and b.required and d.kind != "create" and b.column in columns[d.entity]}
    tables = []
    for e in entities:
        key = f"{e}_id"
        refs = {c: r for c in columns[e] if c != key and (r := referent(c, e)) in columns
                and (r != e or entity_of(key_entity(c)) != e)}  # (``workspaces_id`` in workspaces is its own key)
        # a row's reference to another row of its table is NULL where it has none (a top-level task)
        fks = [ForeignKey(column=c, table=names[r], ref_column=f"{r}_id",
                          on_delete="SET NULL" if (e, c) in nullable_refs or r == e else None)
               for c, r in refs.items()]
        for c, r in refs.items():  # it holds its parent's key as the parent stores it (REAL 2.0 never matches 2)
            columns[e][c] = columns[r][f"{r}_id"].model_copy(update={"name": c})
        indexed = [c for c in columns[e] if c != key and ((e, c) in lookups or any(f.column == c for f in fks))]
        shape = key_shape(e) if columns[e][key].type == "TEXT" else None
        tables.append(Table(name=names[e], entity=e, columns=list(columns[e].values()), primary_key=key,
                            key_shape=shape, foreign_keys=fks, indexes=indexed,
                            singleton=names[e] == plural(semantics.SETTINGS_ENTITY)))
    _bind_patches(drafts, {t.entity: t for t in tables})
    return tables, drafts


def _bind_patches(drafts: list[Draft], tables: dict[str, Table]) -> None:
    """A JSON Patch update's fields as value bindings (``envs.patch``): those a create of the same table takes,
    else those the update's own response shows (the resource it changes, AWS's ``Stage``) but read-only ones."""
    for d in drafts:
        if d.patch:
            named = {b.column: b.param for c in drafts if c.kind == "create" and c.entity == d.entity
                     for b in c.bindings if b.role == "value" and b.column} or {
                snake(name): name for name, prop in _return_properties(d.tool).items()
                if isinstance(prop, dict) and prop.get("readOnly") is not True}
            d.bindings += field_bindings(d.patch, tables[d.entity], {b.column for b in d.bindings}, named)


def _name_parents(columns: dict[str, dict[str, Column]], referent) -> None:
    """A ``name`` for each table other rows refer to that has nothing a person would call a row by: ToolBench
    gives no response schemas, so its teams and tournaments were bare keys, and a user could only ask for
    "team 3"; with a name they ask for their team by name and the agent finds its key."""
    parents = {referent(c, e) for e, table in columns.items() for c in table if c != f"{e}_id"}
    for e in parents & set(columns):
        table = columns[e]
        if plural(e) != plural(semantics.SETTINGS_ENTITY) and not any(
                names_a_row(c, codes=True) for c in table) and len(table) < MAX_COLUMNS:
            table[DISPLAY_COLUMN] = Column(name=DISPLAY_COLUMN, type="TEXT", json_type="string")


def _model_required(tool: ToolSpec) -> set[str]:
    """Columns the returned data model declares required (its own and its ``allOf`` parts' lists)."""
    schema, parts = _returned_parts(tool)
    if MODEL not in schema:
        return set()
    return {snake(name) for part in parts for name in part.get("required") or [] if isinstance(name, str)}


def _mark_required(drafts: list[Draft], columns: dict[str, dict[str, Column]]) -> None:
    """NOT NULL on a model's required columns, where every create of the table sets them (a create that
    cannot would otherwise never run); the key is left to the primary key."""
    creates: dict[str, list[set[str]]] = {}
    for d in drafts:
        if d.kind == "create":
            creates.setdefault(d.entity, []).append({b.column for b in d.bindings if b.role == "value"})
    for d in drafts:
        table = columns[d.entity]
        for column in _model_required(d.tool) - {f"{d.entity}_id"}:
            if column in table and all(column in bound for bound in creates.get(d.entity, [])):
                table[column] = table[column].model_copy(update={"required": True})


def _add_properties(table: dict[str, Column], props: dict[str, Any]) -> None:
    """A model's own scalar properties as columns of its table (nested objects stay out: JSON elsewhere)."""
    for name, prop in props.items():
        column = snake(name)
        kind = json_type(prop) if isinstance(prop, dict) else "any"
        if column != "id" and column not in table and len(table) < MAX_COLUMNS and kind not in ("object", "array"):
            table[column] = _merge(None, column, kind, prop.get("enum"), None, hints(prop))


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def table_ddl(table: Table) -> list[exp.Expression]:
    """CREATE TABLE and CREATE INDEX statements for one table, as sqlglot ASTs."""
    defs: list[exp.Expression] = []
    for c in table.columns:
        key = c.name == table.primary_key
        constraints = [exp.ColumnConstraint(kind=exp.PrimaryKeyColumnConstraint())] if key else []
        if c.required and not key:
            constraints.append(exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
        defs.append(exp.ColumnDef(this=_ident(c.name), kind=exp.DataType.build(c.type), constraints=constraints))
    for fk in table.foreign_keys:
        ref = exp.Schema(this=exp.Table(this=_ident(fk.table)), expressions=[_ident(fk.ref_column)])
        defs.append(exp.ForeignKey(expressions=[_ident(fk.column)], reference=exp.Reference(this=ref),
                                   delete=fk.on_delete))
    statements: list[exp.Expression] = [
        exp.Create(this=exp.Schema(this=exp.Table(this=_ident(table.name)), expressions=defs), kind="TABLE")]
    for column in table.indexes:
        index = exp.Index(this=_ident(f"ix_{table.name}_{column}"), table=exp.Table(this=_ident(table.name)),
                          params=exp.IndexParameters(columns=[exp.Ordered(this=exp.column(_ident(column)),
                                                                          nulls_first=True)]))
        statements.append(exp.Create(this=index, kind="INDEX"))
    return statements


def render_ddl(tables: list[Table]) -> list[str]:
    """SQLite DDL for the schema; parsed back here (it raises on malformed SQL), executed by the build."""
    ddl = [statement.sql(dialect="sqlite", copy=False) for table in tables for statement in table_ddl(table)]
    for sql in ddl:
        sqlglot.parse_one(sql, read="sqlite")
    return ddl
