"""Read or write? Each tool's kind, decided once from its name, then its description.

The first verb found in the name decides (in ToolBench's ``<api>_for_<provider>`` names, only in
the API part: ``year_month_json_for_ny_times_archive`` archives nothing); when the name has none,
the first verb of the description does; when neither has one, the tool is a read (most APIs in
the corpora are lookups, and a read cannot corrupt state). Ambiguous verbs, decided here once:
``cancel``/``unsubscribe``/``revoke`` delete the record (the reservation stops existing);
``set``/``toggle``/``assign``/``mark`` update; ``send``/``post``/``book``/``upload``/``save`` create
a record; ``generate``/``convert``/``translate``/``check``/``verify`` compute or look up, so read.
"""

from __future__ import annotations

from agentscaler.envs.naming import singular, tokens
from agentscaler.envs.spec import Kind

VERBS: dict[str, Kind] = {
    **dict.fromkeys(
        "get gets list search find fetch check calculate compute retrieve lookup look query show view read "
        "count browse recommend suggest validate verify generate convert translate estimate predict "
        "analyze analyse detect extract compare download describe".split(), "read"),
    **dict.fromkeys(
        "create add book register post submit insert make send upload save store schedule reserve "
        "subscribe follow like enroll signup purchase buy open invite pay".split(), "create"),
    **dict.fromkeys(
        "update edit modify set change rename patch put replace upsert toggle enable disable activate "
        "deactivate assign move transfer mark reset adjust upgrade approve reject".split(), "update"),
    **dict.fromkeys(
        "delete remove cancel unsubscribe unfollow unlike revoke clear purge drop erase destroy "
        "archive withdraw".split(), "delete"),
}


def first_verb(words: list[str]) -> str | None:
    return next((w for w in words if w in VERBS), None)


def classify(name: str, description: str = "") -> Kind:
    """The tool's kind; see the module docstring for the ambiguous verbs."""
    opening = [singular(w) for w in tokens(description.split(".")[0])[:8]]  # "Updates" → update
    words = tokens(name)
    action = words[: words.index("for")] if "for" in words else words  # ToolBench: "<api>_for_<provider>"
    verb = first_verb(action) or first_verb(opening)
    return VERBS[verb] if verb else "read"
