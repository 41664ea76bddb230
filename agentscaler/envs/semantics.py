"""Write semantics users expect, beyond "the verb's kind on the subject's table".

Real systems rarely delete what users cancel, and many writes name their row by another entity.
The rules, decided here once and applied by ``envs.schema``:
- *status transitions*: ``cancel``/``close``/``suspend``/``resume``/``archive``/``reopen``/``renew``/
  ``block``/``refund``... set the row's ``status`` column to a fixed value (``cancelled``...): the
  row stays, and every foreign key pointing at it stays valid;
- *flags*: ``enable``/``disable`` set a boolean ``<attribute>_enabled`` column (``enabled`` when the
  tool names no attribute), ``toggle`` flips it;
- *owners*: an update whose subject has no key among its arguments writes the entity whose key it
  takes, the one named first in the tool's name (``change_order_shipping_method(order_id,
  shipping_method_id)`` sets ``orders.shipping_method_id``), else the last key (the most specific:
  ``enable_roaming(customer_id, line_id)`` writes the line);
- *natural keys* (username, email, symbol, code...) identify a row where no ``<x>_id`` does;
- *settings*: a setter with no identifier at all writes the one row of a ``settings`` table;
- *link tables*: ``add_<member>_to_<container>`` / ``remove_<member>_from_<container>`` taking the
  container's key insert into / delete from ``<container>_<members>`` (cart items, playlist tracks,
  group members), so removing a track from a playlist leaves the track.
"""

from __future__ import annotations

from agentscaler.envs.naming import singular, snake, tokens
from agentscaler.envs.spec import Assignment

STATUS_COLUMN = "status"
STATUS_VERBS: dict[str, str] = {
    "cancel": "cancelled", "close": "closed", "suspend": "suspended", "resume": "active", "archive": "archived",
    "unarchive": "active", "reopen": "open", "activate": "active", "deactivate": "inactive", "block": "blocked",
    "unblock": "active", "approve": "approved", "reject": "rejected", "decline": "declined", "accept": "accepted",
    "refund": "refunded", "renew": "active", "complete": "completed", "finish": "completed",
    "confirm": "confirmed", "pause": "paused", "lock": "locked", "unlock": "unlocked", "freeze": "frozen",
    "unfreeze": "active", "restore": "active", "ban": "banned", "unban": "active", "publish": "published",
    "unpublish": "draft", "void": "voided", "expire": "expired", "terminate": "terminated", "ship": "shipped",
    "deliver": "delivered", "fulfill": "fulfilled", "resolve": "resolved", "escalate": "escalated",
    "dismiss": "dismissed", "redeem": "redeemed", "return": "returned", "start": "started", "stop": "stopped",
    "restart": "running", "reboot": "running", "checkout": "checked_out", "checkin": "checked_in",
    "hide": "hidden", "unhide": "visible", "disconnect": "disconnected", "retire": "retired",
}  # fmt: skip
FLAG_VERBS: dict[str, bool | None] = {"enable": True, "disable": False, "toggle": None}
"""The value a flag verb sets; None flips it."""
LINK_VERBS = {"add": "create", "insert": "create", "append": "create", "attach": "create", "include": "create",
              "remove": "delete", "detach": "delete", "exclude": "delete", "delete": "delete", "drop": "delete"}
LINK_PREPOSITIONS = {"to", "into", "onto", "from", "in", "on"}
NATURAL_KEYS = {"username", "user_name", "login", "email", "email_address", "handle", "slug", "symbol", "ticker",
                "code", "sku", "isbn", "iata", "icao"}
NATURAL_KEY_SUFFIXES = ("code", "symbol", "username", "email", "slug", "handle", "sku")
SETTINGS_ENTITY = "setting"
SETTINGS_WORDS = {"setting", "settings", "preference", "config", "configuration", "option", "options"}


def assignment(verb: str | None, attribute: list[str]) -> Assignment | None:
    """The column a status or flag verb sets by itself, or None for other verbs."""
    if verb in STATUS_VERBS:
        return Assignment(column=STATUS_COLUMN, value=STATUS_VERBS[verb])
    if verb in FLAG_VERBS:
        column = snake("_".join([*attribute, "enabled"]))
        flag = FLAG_VERBS[verb]
        return Assignment(column=column, value=flag, toggle=flag is None)
    return None


def is_natural_key(column: str) -> bool:
    """Whether a column names its row as users do: ``username``, ``email``, ``symbol``, ``airport_code``."""
    return column in NATURAL_KEYS or column.endswith(tuple(f"_{s}" for s in NATURAL_KEY_SUFFIXES))


def link(action: list[str], columns: list[str]) -> tuple[str, str, str] | None:
    """``(container, member, kind)`` of an add-to / remove-from tool that takes the container's key."""
    if len(action) < 3 or action[0] not in LINK_VERBS:
        return None
    cut = next((i for i, w in enumerate(action) if w in LINK_PREPOSITIONS), None)
    if cut is None or cut < 2 or cut == len(action) - 1:
        return None
    member = singular(action[cut - 1])
    container = "_".join(singular(w) for w in action[cut + 1:] if w.isalpha())
    if not container or f"{container}_id" not in columns and f"{container.split('_')[-1]}_id" not in columns:
        return None
    container = container if f"{container}_id" in columns else container.split("_")[-1]
    return container, member, LINK_VERBS[action[0]]


def owner(words: list[str], keys: list[str], key_entity) -> str:
    """Of the key columns an update takes, the one whose entity the tool's name mentions first, else the last."""
    positions = {w: i for i, w in reversed(list(enumerate(singular(w) for w in words)))}

    def first_mention(column: str) -> int:
        return min((positions.get(w, len(words)) for w in tokens(key_entity(column))), default=len(words))

    return min(keys, key=lambda c: (first_mention(c), -keys.index(c)))
