"""Read or write? Each tool's kind, decided once from its name, then its description.

The first verb found in the name decides (in ToolBench's ``<api>_for_<provider>`` names, only in
the API part: ``year_month_json_for_ny_times_archive`` archives nothing); when the name has none,
the first verb of the description does; when neither has one, the tool is a read (most APIs in
the corpora are lookups, and a read cannot corrupt state). Ambiguous verbs, decided here once:
``unsubscribe``/``revoke``/``remove`` delete the record; ``cancel``/``close``/``suspend``/``renew``/
``refund``/``block``... move it to another status, so update (``envs.semantics`` says which status);
``set``/``toggle``/``assign``/``mark`` update; ``send``/``post``/``book``/``upload``/``save`` create
a record; ``generate``/``convert``/``translate``/``check``/``verify``/``test`` and the transforms of a
text (``encrypt``, ``summarize``...) compute or look up, so read; so does ``random`` (``random_quote``:
draw one).
A verb followed by a noun it forms a compound with is no verb (``close_price``, ``open_interest``).

Where the API has no HTTP method, a model learned from the operations that have one decides, with
these rules' answer as one of its features (``envs.kind_model``); the rules alone decide without it.

Where the API says its HTTP method (OpenAPI and Swagger operations), GET/HEAD read, PUT/PATCH update
and DELETE deletes, whatever the name says. POST creates, except that RPC-style APIs POST every
action (AWS's ``POST /#DeleteTags``, Google's ``.../instances/{id}/stop``), so its verbs decide
within it: the first write verb of the name (of the description's opening if the name has none)
gives its kind (``DeleteTags``, ``compute_instanceGroups_setNamedPorts``); a POST with only read
verbs, or whose path ends in a search endpoint (``/orders/search``, ``/documents:runQuery``), is a
search, so a read (``searchUsers``, ``batchGet``, ``DescribeTags``); with no verb at all it creates.
A name made of method + path has no verbs of its own (``post_lists_list_id_recipients`` adds one).
"""

from __future__ import annotations

from agentscaler.envs.kind_model import features, opening, shipped
from agentscaler.envs.naming import action_words, singular, tokens
from agentscaler.envs.semantics import STATUS_VERBS
from agentscaler.envs.spec import Kind

VERBS: dict[str, Kind] = {
    **dict.fromkeys(
        "get gets list search find fetch check calculate compute retrieve lookup look query show view read "
        "count browse recommend suggest validate verify generate convert translate estimate predict "
        "analyze analyse detect extract compare download describe test random randomize scrape parse classify "
        "encrypt decrypt encode decode hash summarize summarise transliterate tokenize diacritize".split(),
        "read"),
    **dict.fromkeys(
        "create add book register post submit insert make send upload save store schedule reserve "
        "subscribe follow like enroll signup purchase buy open invite pay".split(), "create"),
    **dict.fromkeys(
        "update edit modify set change rename patch put replace upsert toggle enable disable assign move "
        "transfer mark reset adjust upgrade downgrade reschedule apply grant mute unmute pin unpin "
        "exchange".split(), "update"),
    **dict.fromkeys(STATUS_VERBS, "update"),
    **dict.fromkeys(
        "delete remove unsubscribe unfollow unlike revoke clear purge drop erase destroy withdraw "
        "unassign detach unlink".split(), "delete"),
}
COMPOUND_NOUNS = frozenset("price prices interest hours time times rate rates value values date now source "
                           "position positions high low point points".split())
"""Nouns that make the verb before them an adjective: ``close_price``, ``open_interest``, ``reset_time``."""


def first_verb(words: list[str]) -> str | None:
    return next((w for w, after in zip(words, [*words[1:], ""]) if w in VERBS and after not in COMPOUND_NOUNS), None)


OPENING_SENSES = {"return": "get"}
"""Verbs whose sense differs at the opening of a description: "Returns the list..." reads (``return_order``
in a name is a status change)."""

METHOD_KINDS: dict[str, Kind] = {
    "GET": "read", "HEAD": "read", "POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete",
}  # fmt: skip
SEARCH_ENDPOINTS = frozenset("search query find lookup filter autocomplete".split())
"""Words that make a path's last segment a search endpoint (``/search``, ``:runQuery``); not ``list``,
which names collections (``POST /mailing_lists`` creates one)."""


def classify(name: str, description: str = "", http_method: str | None = None, http_path: str | None = None,
             *, source: str = "", learned: bool = True) -> Kind:
    """The tool's kind; see the module docstring for the ambiguous verbs and for HTTP methods."""
    return decide(name, description, http_method, http_path, source=source, learned=learned)[0]


def decide(name: str, description: str = "", http_method: str | None = None, http_path: str | None = None,
           *, source: str = "", learned: bool = True) -> tuple[Kind, str | None]:
    """(kind, the verb the rules chose, if any). Without a method, the learned model (``envs.kind_model``)
    decides where it ships and ``learned`` is set (``source``, the tool's corpus, is one of its features); the
    verb rules otherwise."""
    method = (http_method or "").upper()
    summary = [OPENING_SENSES.get(w, w) for w in (singular(w) for w in tokens(opening(description))[:8])]
    action = action_words(name, method)
    if method == "POST":
        verbs = [w for w in action if w in VERBS] or [w for w in summary if w in VERBS]
        writes = [w for w in verbs if VERBS[w] != "read"]
        if writes:
            return VERBS[writes[0]], writes[0]
        return "read" if verbs or _search_endpoint(http_path or "") else "create", None
    verb = first_verb(action) or first_verb(summary)
    if method in METHOD_KINDS:
        return METHOD_KINDS[method], verb
    rule: Kind = VERBS[verb] if verb else "read"
    model = shipped() if learned else None
    return (model.predict(features(name, description, rule, source)) if model else rule), verb


def _search_endpoint(path: str) -> bool:
    segments = [s for s in path.split("/") if s and not s.startswith("{")]
    return bool(segments) and not SEARCH_ENDPOINTS.isdisjoint(tokens(segments[-1]))
