"""Words from API names: tokens, snake_case identifiers, singular entities and plural table names."""

from __future__ import annotations

import re
from functools import cache

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^a-zA-Z0-9]+")
_INVARIANT = {"news", "series", "species", "data", "analytics", "weather", "sms", "status", "address", "business",
              "class", "process", "access", "physics", "statistics", "lyrics", "metrics", "settings", "info"}


def tokens(text: str) -> list[str]:
    """Lower-case words of an identifier or phrase: ``getUserOrders`` and ``get_user.orders`` alike."""
    return [t.lower() for t in _NON_WORD.split(_CAMEL.sub(" ", text or "")) if t]


NAME_WORDS = frozenset({"name", "title", "label", "email", "username", "login", "symbol", "ticker"})
"""Last words of a column whose value names its row as a person says it (the list "Work", the user jo@x.io)."""
CODE_WORDS = frozenset({"handle", "code", "slug"})
"""Last words of a column whose value picks its row out as a code does: a person may look a row up by it, but
does not call the row by it."""


def names_a_row(column: str, *, codes: bool = False) -> bool:
    """Whether a column's value names its row (its last word one of ``NAME_WORDS``; with ``codes``, or of
    ``CODE_WORDS``)."""
    last = (tokens(column) or [""])[-1]
    return last in NAME_WORDS or codes and last in CODE_WORDS


_SHORT_WORDS = {"id", "by", "of", "to", "in", "on", "at", "up", "my", "ip", "tv", "no"}


@cache
def unglue(token: str) -> list[str]:
    """A lower-case run of words as its words (``tournamentallevents`` → tournament all events), by English word
    frequencies; a word, the plural of one, or a split into fragments (``otts`` → ott s) stays whole."""
    if len(token) < 7 or not token.isalpha():
        return [token]
    import wordninja  # here, not at the top: loading its word list costs every process that imports envs ~1 s

    parts = wordninja.split(token)
    if len(parts) > 1 and len(wordninja.split(singular(token))) == 1:
        return [token]  # the plural of one word (``minutelies``, not minute lies)
    return parts if len(parts) > 1 and all(len(p) >= 3 or p in _SHORT_WORDS for p in parts) else [token]


@cache
def _word_ranks() -> dict[str, int]:
    """English words by frequency rank (0: "the"), from the list wordninja ships (Wikipedia counts)."""
    import gzip
    from pathlib import Path

    import wordninja

    with gzip.open(Path(wordninja.__file__).parent / "wordninja" / "wordninja_words.txt.gz", "rt") as lines:
        return {word.strip(): rank for rank, word in enumerate(lines)}


EVERYDAY_RANK = 35_000  # the rarer words of the list are names, coinages and code words (whois 39,613, json 41,333)
_FUNCTION_WORDS = frozenset(
    "a an the this that these those it its he she his her they them their we our you your my me i of in on at by for "
    "to from with about into than then so if or and but not no all any some each both more most other same own only "
    "just very can will would may is are was were be been has have had do does what which who how where when".split())


def everyday(word: str) -> bool:
    """An everyday English word a person would say (``forecast``, ``billionaires``): among the most frequent of
    the list and not a function word (``that``); not an API coinage (``whois``, ``ovo``) or a glued run
    (``imtired``). A plural counts as its singular."""
    ranks = _word_ranks()
    rank = min(ranks.get(word, EVERYDAY_RANK), ranks.get(singular(word), EVERYDAY_RANK))
    return rank < EVERYDAY_RANK and word not in _FUNCTION_WORDS


def spoken(identifier: str) -> str:
    """An identifier as a person says it: its words, run-together ones split (``normalizecity`` → normalize
    city)."""
    return " ".join(w for t in tokens(identifier) for w in unglue(t)) or identifier


def snake(text: str) -> str:
    """A lower snake_case identifier that SQL and Python both accept (``2fa`` becomes ``c_2fa``)."""
    name = "_".join(tokens(text)) or "value"
    return name if name[0].isalpha() else f"c_{name}"


_IE_NOUNS = {"movies", "cookies", "calories", "rookies", "zombies", "selfies", "hoodies", "pies", "ties", "lies",
             "genies", "brownies", "smoothies", "freebies", "goalies", "aunties"}


def singular(word: str) -> str:
    if word == "ids":
        return "id"
    if word in _INVARIANT or word.endswith(("ss", "us", "is")) or len(word) <= 3:
        return word
    if word.endswith("ies") and word not in _IE_NOUNS:
        return word[:-3] + "y"
    if word.endswith(("xes", "ches", "shes", "sses", "zes", "tuses", "nuses", "ruses", "buses", "puses")):
        return word[:-2]  # boxes, statuses, bonuses (not houses, causes)
    return word[:-1] if word.endswith("s") else word


def plural(word: str) -> str:
    if word in _INVARIANT:
        return word
    if word.endswith("y") and word[-2:-1] not in set("aeiou"):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh", "z")):
        return word + "es"
    return word + "s"


def action_words(name: str, http_method: str | None = None) -> list[str]:
    """The words of a name that can say what it does: not the provider (ToolBench's ``<api>_for_<provider>``), not
    the number that tells a domain's second tool of one name (``currency_exchange_convert_2``), none for a name
    made of method + path."""
    words = tokens(name)
    action = words[: words.index("for")] if "for" in words else words
    while len(action) > 1 and action[-1].isdigit():
        action = action[:-1]
    return [] if http_method and action[:1] == [http_method.lower()] else action
