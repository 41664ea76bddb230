"""API plumbing: parameters that steer the transport of a request, not the request a user makes.

A key or token authenticates the caller, a quota id attributes usage, a format switch picks the response's
encoding, a field mask trims it, a paging cursor continues a listing. No user states any of them and no
database row holds them, so the schema binds none of them: they are never columns, filters or arguments a
task asks for. The tool still declares them, as optional, and the simulator accepts and ignores them, as a
real API does with a client's key.

Decided from a parameter's name, and where the name is also an ordinary word (``key``, ``token``,
``fields``, ``alt``, ``format``, ``callback``) from its description, enum or default too; a string whose
description calls it a page token, a pagination cursor or an idempotency token is one, whatever its name
(AWS's ``Marker``), and so is a field mask (YouTube's ``part``, Google's ``updateMask``). The names are those
of Google's discovery documents (``key``, ``oauth_token``, ``access_token``, ``quotaUser``, ``userIp``, ``alt``,
``prettyPrint``, ``fields``, ``callback``, ``upload_protocol``, ``uploadType``, ``$.xgafv``), request signing
(OAuth 1's ``oauth_*``, AWS's ``SignatureMethod``/``SignatureVersion``, a ``nonce``, catalogapi's ``creds_*``),
RapidAPI's headers (``X-RapidAPI-Key``, ``X-RapidAPI-Host``), HTTP's (``Accept``, ``Accept-Language``,
``If-Match``), API-key conventions (``api_key``, ``apikey``, ``x-api-key``), paging cursors (``pageToken``,
``NextToken``, ``cursor``), the client's own headers (EVE's ``user_agent``, AWS's ``ClientToken``), OData's
query options (``$expand``, ``$select``, ``$filter``) and the AWS query protocol's ``Action``/``Version`` pair
(constants of the operation, never described).
"""

from __future__ import annotations

import re
from typing import Any

from agentscaler.envs.naming import snake
from agentscaler.toolspec import ToolSpec

NAMES = {"oauth_token", "access_token", "auth_token", "api_token", "apitoken", "bearer_token", "api_key", "apikey",
         "x_api_key", "x_rapidapi_key", "x_rapidapi_host", "rapidapi_key", "api_secret", "client_secret",
         "authorization", "auth", "quota_user", "user_ip", "pretty_print", "upload_protocol", "upload_type",
         "xgafv", "page_token", "next_page_token", "continuation_token", "next_token", "cursor", "jsonp",
         "user_agent", "x_user_agent", "client_token", "idempotency_key", "signature_method", "signature_version",
         "nonce", "accept_language", "accept_encoding", "accept_charset", "if_match", "if_none_match",
         "if_modified_since", "if_unmodified_since"}
"""Names that are plumbing whatever their description says (the HTTP headers among them: content negotiation and
ETag preconditions; a text ``Accept`` header is one too, see ``is_plumbing``)."""
_GLUED = {n.replace("_", "") for n in NAMES}
"""The same names written as one word, as ToolBench's lowercase copies of APIs give them (``pagetoken``, ``userip``)."""
ODATA = {"$expand", "$select", "$inlinecount", "$count", "$format", "$skiptoken", "$filter", "$search", "$apply"}
"""OData's system query options that shape an answer or narrow it in OData's own expression language (Azure's
``$filter=name eq 'x'``, ``$expand``): no row holds them and no user states them. ``$top`` and ``$skip`` page
(``ODATA_PAGING``), ``$orderby`` orders (``switches``)."""
ODATA_PAGING = {"$top": "limit", "$skip": "offset"}
RESPONSE_FORMATS = {"json", "xml", "jsonp", "yaml", "proto", "protobuf", "media", "rss", "atom"}
_EVIDENCE = {
    "key": r"api[ -]?key|identif\w* your (project|application)|developer key|access key|subscription key",
    "token": r"\b(oauth|access|auth\w*|bearer|api)\b",
    "fields": r"partial response|field mask|selector specifying|fields (that should be |to be )?(returned|to return"
              r"|to include)|restrict\w* which fields|returned fields",
    "callback": r"jsonp|callback function",
    "pp": r"pretty",
}
"""Ordinary words that are plumbing when the description says so."""
_PAGE_TOKEN = re.compile(r"(page|pagination|paging|continuation) (token|cursor)|\bcursor\b.*\bnext page"
                         r"|token (specifying|for) the (result|next) page|token indicating the (start|end) of the page"
                         r"|returned from the previous .{0,40}\bnext set of|\bidempoten", re.I)
"""A paging cursor, whatever its name (``Marker``, ``next``, ``starting_after``), or a token that makes a retried
request safe (AWS's ``ClientToken``): no user states either."""
_FIELD_MASK = re.compile(r"\b(field|update) mask\b|\bmask (that|which) (identifies|specifies) which fields"
                         r"|properties that the api response will include", re.I)
"""A mask of the fields a call returns or updates, whatever its name (Google's ``updateMask``, YouTube's ``part``)."""
_FORMAT_SWITCH = re.compile(r"(data|response|output|result) format|format (of|for) the (response|output|result)"
                            r"|only json", re.I)


def is_plumbing(name: str, prop: Any, siblings: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether parameter ``name`` (schema ``prop``) of a tool whose parameters are ``siblings`` is plumbing."""
    prop = prop if isinstance(prop, dict) else {}
    column = snake(name)
    text = " ".join(str(prop.get(k)) for k in ("description", "default") if isinstance(prop.get(k), str))
    header = name.lower().startswith("x-") and re.search(r"key|token|host|auth", name, re.I)
    if column.replace("_", "") in _GLUED or header or column.startswith(("oauth_", "creds_")) or name.lower() in ODATA:
        return True
    if column in _EVIDENCE and re.search(_EVIDENCE[column], text, re.I):
        return True
    if prop.get("type") == "string" and _PAGE_TOKEN.search(text) or _FIELD_MASK.search(text):
        return True
    if column in ("alt", "format", "output", "response_format", "output_format", "data_format"):
        shown = _shown(prop)
        return bool(shown) and shown <= RESPONSE_FORMATS or bool(_FORMAT_SWITCH.search(text))
    if column == "accept" and prop.get("type", "string") == "string":  # the Accept header (a media type)
        return True
    pair = {"Action", "Version"}
    return name in pair and pair <= siblings and not prop.get("description")  # AWS query protocol constants


def _shown(prop: dict) -> set[str]:
    """The values a parameter's spec shows, its enum and default, lower-cased."""
    return {str(v).lower() for v in [*(prop.get("enum") or []), prop.get("default")] if v is not None}


def plumbing(tool: ToolSpec) -> set[str]:
    """The tool's plumbing parameters."""
    props = tool.parameters.get("properties") or {}
    return {name for name, prop in props.items() if is_plumbing(name, prop, set(props))}


def switches(tool: ToolSpec, reads: bool) -> set[str]:
    """Parameters that change how a tool answers, not which rows match, so like plumbing they bind no column and
    no user is asked for them: what orders the answer (``sort_by``, ``sortdir``, an ``order`` that says
    ascending or descending), a GET's optional booleans that no field of its answer holds (traccar's ``all``
    and ``refresh``, Google's ``showCompleted``; only where the spec shows the answer's fields: without them
    (ToolBench) a boolean may be a filter on a column), and a read's (``reads``) optional switches whose
    description says they add to the answer (``_shapes_answer``; a write's "Adds the user to..." is its effect)."""
    fields = _fields(tool.returns) if (tool.http_method or "").upper() == "GET" else set()
    props = tool.parameters.get("properties") or {}
    required = set(tool.parameters.get("required") or [])
    return {name for name, prop in props.items() if isinstance(prop, dict) and (
        _orders(name, prop) or fields and prop.get("type") == "boolean" and name not in required
        and snake(name) not in fields or reads and name not in required and _shapes_answer(prop))}


_SAYS_SHAPES = re.compile(r"^\W*(include|includes|return|returns|add|adds|show|shows|append|appends)\b(?!.*\bonly\b)",
                          re.I)
_FLAG_VALUES = {"0", "1", "true", "false"}


def _shapes_answer(prop: dict) -> bool:
    """Whether a parameter is an on/off switch for what the answer includes: LocationIQ's ``addressdetails`` (1:
    "Include a breakdown of the address"), ``extratags``, ``namedetails``, ``statecode`` ("Adds state or province
    code..."), given as a boolean, 0/1 or "true"/"false". Not "Return only active users": that narrows the rows."""
    shown = {v.strip('"') for v in _shown(prop)}
    flag = prop.get("type") == "boolean" or prop.get("type") in ("integer", "number", "string") and bool(shown) and (
        shown <= _FLAG_VALUES)
    return flag and bool(_SAYS_SHAPES.search(str(prop.get("description") or "")))


ORDERING = {"sort", "sort_by", "sortby", "sort_order", "sortorder", "sort_dir", "sortdir", "sort_direction",
            "sort_field", "sortfield", "sort_key", "order_by", "orderby", "ordering"}
"""Names of what orders an answer, whatever their description says."""
_DIRECTIONS = {"asc", "desc", "ascending", "descending", "a", "d"}
_SAYS_ORDER = re.compile(r"\bsort|\bascending|\bdescending|order (of|in which) the (results|items|list)", re.I)


def _orders(name: str, prop: dict) -> bool:
    """Whether the parameter orders the answer: an ``ORDERING`` name, or an ``order``/``direction`` that says a
    direction (``calculate_derivative``'s ``order`` is the derivative's, a shop's ``order`` an order's)."""
    column = snake(name)
    if column in ORDERING:
        return True
    if column not in ("order", "direction", "dir"):
        return False
    shown = _shown(prop)
    return bool(shown) and shown <= _DIRECTIONS or bool(_SAYS_ORDER.search(str(prop.get("description") or "")))


def _fields(schema: Any, depth: int = 2) -> set[str]:
    """The snake-case names of the fields an answer's objects hold, through arrays and wrapper objects."""
    if not isinstance(schema, dict) or depth < 0:
        return set()
    if isinstance(schema.get("items"), dict):
        return _fields(schema["items"], depth)
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    return {snake(name) for name in props}.union(*(_fields(p, depth - 1) for p in props.values()))


def optional(tool: ToolSpec, unbound: set[str] | frozenset[str] = frozenset()) -> ToolSpec:
    """The tool with its plumbing parameters (and ``unbound`` ones, which bind nothing either) optional: an agent
    need not send them, and a call without them is valid against the tool's schema."""
    drop = plumbing(tool) | unbound
    required = tool.parameters.get("required") or []
    if not drop & set(required):
        return tool
    parameters = {**tool.parameters, "required": [r for r in required if r not in drop]}
    return tool.model_copy(update={"parameters": parameters})
