"""Values a real system would hold, chosen by what a column means.

Evidence, strongest first: the spec's enum (kept as is); its default and examples (used now and then, and
their shape copied: ``#W2611340`` gives ``#W8302751``, ``2020-05-18 00:00`` gives dates written that way);
its format (date, date-time, email, uuid, uri, ipv4...); then the words of the column's name and its table's
entity (``price`` gets 1-500 with cents, ``email`` an address, ``name`` in ``users`` a person's name, in
``companies`` a company's). A pattern has the last word: a value that misses it is drawn from the pattern;
a number falls inside the spec's minimum and maximum. An array or object follows the shape its spec gives
(AWS ``Tags`` as ``{Key, Value}`` objects, an order's lines), each field drawn by its own name.

A row is drawn as one ``Record``: one person (name, username, email), one real place from Faker's sample of
geonames (city, country, coordinates, timezone; the country's locale gives streets, phones and postcodes,
its currency the row's currency) and one timeline (created <= updated, start <= end, birthdays in the
past) around ``NOW``, a fixed present: nothing reads the clock, so states reproduce. Faker draws every word,
with the caller's seeded ``random.Random`` as its only source of randomness.
"""

from __future__ import annotations

import json
import math
import random
import re
import string
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from re import _parser as sre  # the stdlib's own regex parser: the tree a pattern's values are drawn from
from typing import Any, Callable

from faker import Factory, Generator
from faker.providers.currency import Provider as Currencies
from faker.providers.date_time import Provider as DateTimes

from agentscaler.envs.naming import plural, singular, tokens
from agentscaler.envs.spec import Column, JsonType, sql_type
from agentscaler.toolspec import integral

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
"""The synthesized world's present."""
LOCALES = {"en_US": "USD", "en_GB": "GBP", "en_CA": "CAD", "en_AU": "AUD", "en_IN": "INR", "fr_FR": "EUR",
           "de_DE": "EUR", "es_ES": "EUR", "it_IT": "EUR", "nl_NL": "EUR", "pt_BR": "BRL", "es_MX": "MXN"}
"""Where rows live, with each country's currency; Latin scripts, so usernames and emails stay ASCII."""
_LOCALE_WEIGHTS = [8 if locale == "en_US" else 1 for locale in LOCALES]
_COUNTRIES = {c.alpha_2_code: c for c in DateTimes.countries}
_CURRENCY_NAMES = dict(Currencies.currencies)
ISO_DATE, ISO_TIME = "%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ"
STATUSES = ("active", "pending", "closed")
GENDERS = ("female", "male", "non-binary")
SHARED = {"country", "currency", "language", "timezone", "city", "region", "location", "postcode", "status", "word",
          "flag", "moment"}
"""Kinds of values many rows share (a country, a status): a natural key of one of them is not made unique."""
_ALNUM = string.ascii_uppercase + string.digits

# --- what a column's words mean -------------------------------------------------------------------------
_MONEY: dict[str, tuple[float, float]] = {
    **dict.fromkeys(("price", "cost", "fee", "fare", "tip", "tax", "shipping"), (1, 500)),
    **dict.fromkeys(("amount", "total", "subtotal", "payment", "deposit", "spend"), (5, 2000)),
    **dict.fromkeys(("balance", "credit"), (0, 20000)), **dict.fromkeys(("salary", "income", "wage"), (25000, 250000)),
    **dict.fromkeys(("revenue", "sales", "budget", "equity", "assets", "loan", "principal", "principle",
                     "liquidity", "investment"), (1000, 1000000)), "sum": (5, 2000),
}
"""Plausible amounts of money, by word: drawn with cents."""
_RANGES: dict[str, tuple[float, float]] = {
    **_MONEY,
    **dict.fromkeys(("quantity", "qty", "items", "units"), (1, 10)),
    **dict.fromkeys(("count", "stock", "inventory"), (0, 50)),
    "age": (18, 90), "year": (1990, 2025), "month": (1, 12), "day": (1, 28), "hour": (0, 23), "minute": (0, 59),
    "second": (0, 59), "week": (1, 52), "weekday": (0, 6),
    **dict.fromkeys(("rating", "stars", "star"), (1, 5)), "score": (0, 100), "rank": (1, 100), "priority": (1, 5),
    "level": (1, 10), **dict.fromkeys(("percent", "percentage", "pct", "discount", "humidity"), (0, 100)),
    "rate": (0.5, 15), "ratio": (0, 1), "probability": (0, 1),
    **dict.fromkeys(("lat", "latitude"), (-90, 90)), **dict.fromkeys(("lon", "lng", "long", "longitude"), (-180, 180)),
    "duration": (5, 240), "minutes": (1, 180), "hours": (1, 48), "days": (1, 30), "nights": (1, 14),
    **dict.fromkeys(("seconds", "secs", "time", "timeout", "interval"), (1, 3600)), "weeks": (1, 12),
    "months": (1, 24), "years": (1, 30), "term": (1, 30),
    "distance": (1, 500), "km": (1, 500), "miles": (1, 300), "radius": (1, 100), "area": (10, 500),
    **dict.fromkeys(("length", "width", "height", "depth", "base", "side"), (1, 200)),
    **dict.fromkeys(("volume", "weight", "mass", "size"), (1, 100)),
    **dict.fromkeys(("temperature", "temp"), (-10, 40)), **dict.fromkeys(("speed", "velocity"), (1, 120)),
    "acceleration": (1, 20), "pressure": (1, 10), "altitude": (0, 4000), "elevation": (0, 4000),
    **dict.fromkeys(("bedrooms", "bathrooms", "adults", "floors"), (1, 5)), "children": (0, 3),
    **dict.fromkeys(("rooms", "guests", "guest", "passengers", "people", "persons", "seats"), (1, 8)),
    **dict.fromkeys(("capacity", "members", "players", "employees"), (1, 100)),
    "zoom": (1, 20), "population": (1000, 10000000), "bytes": (1000, 10000000), "number": (1, 100), "num": (1, 100),
    **dict.fromkeys(("course", "heading", "bearing", "angle", "degrees"), (0, 360)), "accuracy": (0, 100),
    "ttl": (60, 86400), "fuel": (1, 100), "factor": (0.1, 10), "density": (0.1, 10), "type": (1, 5),
    **dict.fromkeys(("views", "likes", "followers", "downloads", "votes", "clicks"), (0, 100000)),
    **dict.fromkeys(("version", "revision", "attempts", "retries"), (1, 10)),
    **dict.fromkeys(("decimals", "digits", "precision", "rounding", "round"), (0, 4)),
    **dict.fromkeys(("limit", "max", "min", "top", "pagelen", "rpp"), (5, 50)), "page": (1, 10), "pg": (1, 10),
    **dict.fromkeys(("offset", "index", "row", "ordinal", "position", "progress", "threshold"), (0, 100)),
    **dict.fromkeys(("similarity", "confidence", "opacity", "alpha", "quality", "efficiency", "success"), (0, 1)),
    "port": (1024, 65535), "code": (100, 599), "key": (100000, 9999999), "frequency": (1, 100),
    "period": (1, 30), "timespan": (1, 30), "delay": (0, 60), "ms": (10, 5000), "storage": (1, 1024),
    "memory": (1, 1024), "cpu": (1, 64), "season": (1990, 2025), "severity": (1, 5), "scale": (1, 10),
    **dict.fromkeys(("zip", "zipcode", "postcode"), (10000, 99999)), "id": (1000, 99999),
    "phone": (2_000_000_000, 9_999_999_999), **dict.fromkeys(("sqft", "footage", "squarefootage"), (300, 5000)),
    "mileage": (1000, 200_000), "century": (15, 21), **dict.fromkeys(("tempo", "bpm"), (60, 200)),
    "margin": (0, 50), "exponent": (1, 10), **dict.fromkeys(("servings", "portions"), (1, 8)),
    **dict.fromkeys(("calories", "kcal"), (50, 1500)),
}  # fmt: skip
"""Plausible ranges of numbers, by word."""
_WHOLE = {"bedrooms", "bathrooms", "adults", "floors", "children", "priority", "severity", "decimals", "digits",
          "precision", "rounding", "round", "type"}
"""Words of a small range whose numbers are whole even where the spec types them ``number`` (3 bedrooms, not
2.73); a wider range is drawn whole anyway, unless it is money."""
DEFAULT_RANGE = (1, 100)
COUNT_RANGE = (0, 100)
"""A number named by a plural noun counts things (``tokens``, ``active_users``)."""
_BOUNDS = {"max", "min", "top", "maximum", "minimum"}
_EPOCH_WORDS = {"timestamp", "ts", "epoch", "iat", "exp", "nbf", "created", "updated", "modified", "at"}

_TEXT: dict[str, str] = {
    **dict.fromkeys(("email", "mail", "emails"), "email"),
    **dict.fromkeys(("username", "login", "handle", "nickname", "nick", "screenname"), "username"),
    **dict.fromkeys(("firstname", "forename", "fname", "givenname"), "first_name"),
    **dict.fromkeys(("lastname", "surname", "lname", "familyname"), "last_name"),
    **dict.fromkeys(("fullname", "displayname", "contact", "author", "owner", "assignee"), "full_name"),
    **dict.fromkeys(("phone", "mobile", "telephone", "tel", "cell", "fax", "msisdn", "phonenumber"), "phone"),
    **dict.fromkeys(("address", "street", "address1", "address2", "addressline", "line1", "line2"), "street"),
    **dict.fromkeys(("city", "town", "locality", "municipality", "place", "origin", "destination", "hometown",
                     "admin3"), "city"),
    **dict.fromkeys(("region", "province", "county", "admin1", "admin2"), "region"),
    **dict.fromkeys(("location", "loc", "where_to", "where_from"), "location"),
    **dict.fromkeys(("country", "nation", "countries"), "country"), "timezone": "timezone", "tz": "timezone",
    **dict.fromkeys(("zip", "zipcode", "postcode", "postal", "postalcode"), "postcode"),
    **dict.fromkeys(("currency", "currencies", "ccy"), "currency"),
    **dict.fromkeys(("language", "lang", "locale", "languages"), "language"),
    **dict.fromkeys(("url", "uri", "link", "website", "homepage", "href", "site", "webpage", "webhook", "endpoint",
                     "redirect", "permalink"), "url"),
    **dict.fromkeys(("image", "photo", "picture", "avatar", "thumbnail", "icon", "logo", "poster", "img"), "image"),
    **dict.fromkeys(("domain", "hostname", "host"), "domain"), **dict.fromkeys(("ip", "ipaddress", "ipv4"), "ipv4"),
    "ipv6": "ipv6", "mac": "mac", **dict.fromkeys(("path", "filepath", "directory", "dir", "folder"), "path"),
    **dict.fromkeys(("file", "filename", "attachment"), "file"), **dict.fromkeys(("mime", "mimetype"), "mime"),
    **dict.fromkeys(("uuid", "guid"), "uuid"),
    **dict.fromkeys(("hash", "sha", "sha1", "sha256", "checksum", "digest", "fingerprint"), "sha256"),
    **dict.fromkeys(("md5", "etag"), "md5"), **dict.fromkeys(("password", "passwd", "passphrase"), "password"),
    **dict.fromkeys(("pin", "otp"), "pin"), "token": "token", "version": "version",
    **dict.fromkeys(("color", "colour"), "color"), "isbn": "isbn",
    **dict.fromkeys(("ean", "barcode", "upc", "gtin"), "ean"), "iban": "iban",
    **dict.fromkeys(("swift", "bic"), "swift"),
    **dict.fromkeys(("card", "creditcard", "cardnumber"), "card"), **dict.fromkeys(("cvv", "cvc"), "cvv"),
    **dict.fromkeys(("plate", "licenseplate"), "plate"), "ssn": "ssn",
    **dict.fromkeys(("iata", "airport"), "iata"), "icao": "icao", **dict.fromkeys(("symbol", "ticker"), "symbol"),
    "sku": "sku", "isin": "isin", "tracking": "tracking",
    **dict.fromkeys(("confirmation", "booking", "reservation", "locator", "pnr", "reference", "ref"), "locator"),
    **dict.fromkeys(("invoice", "receipt"), "invoice"), **dict.fromkeys(("number", "no", "num"), "serial"),
    **dict.fromkeys(("code", "codes"), "code"), **dict.fromkeys(("promo", "coupon", "voucher"), "promo"),
    **dict.fromkeys(("slug", "key"), "slug"),
    **dict.fromkeys(("company", "organization", "organisation", "org", "business", "employer", "brand", "vendor",
                     "supplier", "manufacturer", "publisher", "agency", "firm", "merchant", "bank", "store", "shop",
                     "provider", "carrier", "airline", "sponsor"), "company"),
    **dict.fromkeys(("job", "occupation", "profession", "jobtitle"), "job"),
    **dict.fromkeys(("product", "item", "dish", "meal", "drink", "gift"), "product"),
    **dict.fromkeys(("title", "headline", "subject", "heading", "caption"), "title"),
    **dict.fromkeys(("description", "summary", "bio", "about", "comment", "comments", "message", "text", "body",
                     "content", "note", "notes", "review", "feedback", "reason", "details", "instructions",
                     "remarks", "memo", "abstract", "excerpt", "question", "answer", "payload"), "text"),
    **dict.fromkeys(("status", "state"), "status"),
    **dict.fromkeys(("type", "kind", "category", "genre", "label", "group", "class", "mode", "style", "tier",
                     "plan", "method", "unit", "units", "substance", "network", "chain"), "word"),
    **dict.fromkeys(("gender", "sex"), "gender"), **dict.fromkeys(("content_type", "media_type"), "mime"),
    "screen_name": "username",
    **dict.fromkeys(("tags", "tag", "keywords", "labels", "categories", "genres", "topics"), "tags"),
}  # fmt: skip
"""Kinds of text, by word."""
_FILE_CATEGORIES = {
    **dict.fromkeys(("image", "images", "photo", "picture", "img", "thumbnail", "avatar", "logo", "icon"), "image"),
    **dict.fromkeys(("audio", "sound", "music", "song", "voice", "recording", "podcast", "mp3"), "audio"),
    **dict.fromkeys(("video", "movie", "clip", "film", "mp4"), "video"),
    **dict.fromkeys(("document", "doc", "pdf", "report", "spreadsheet", "sheet", "presentation", "invoice",
                     "contract", "resume", "cv"), "office"),
    **dict.fromkeys(("text", "txt", "log", "transcript", "csv", "notes"), "text"),
}  # fmt: skip
"""What a file or path holds, by a word of its name (Faker's file categories): an image path ends in .jpg, not .css."""
_FILE_KINDS = set(_FILE_CATEGORIES.values())
_WEAK_HEADS = {"number", "no", "num", "code", "codes", "address", "id", "key", "name", "type", "value", "url",
               "link", "uri", "string", "text", "info"}
"""Last words that say less than the word before them: ``phone_number`` is a phone, ``country_code`` a country."""
_CODE_HEADS = {"code", "codes", "iso", "alpha2", "cc"}
_PERSON = {"user", "customer", "person", "people", "employee", "author", "driver", "member", "contact", "passenger",
           "patient", "student", "teacher", "player", "artist", "owner", "guest", "client", "profile", "buyer",
           "seller", "traveler", "traveller", "agent", "staff", "doctor", "candidate", "applicant", "subscriber",
           "recipient", "sender", "attendee", "athlete", "actor", "writer", "holder", "manager", "friend",
           "account", "admin", "full", "display"}  # fmt: skip
_PERSON_HINTS = {"email", "username", "firstname", "lastname", "surname", "birthday", "dob", "first"}
_TECHNICAL = {"function", "database", "db", "table", "bucket", "repository", "repo", "branch", "queue", "topic",
              "stream", "server", "cluster", "service", "app", "application", "package", "module", "variable",
              "field", "column", "index", "environment", "flag", "feature", "key", "webhook", "basket", "pipeline",
              "model", "dataset", "job", "alias", "layer", "role", "policy", "resource", "device", "host",
              "instance", "container", "volume", "secret", "certificate", "schema", "view", "source", "backup"}
_PRODUCTS = {"product", "item", "dish", "menu", "meal", "drink", "gift", "good", "article", "listing", "offer"}
_TEMPORAL = {"date", "time", "timestamp", "datetime", "dob", "birthday", "birthdate", "created", "updated",
             "modified", "expires", "expiry", "expiration", "due", "deadline", "since", "until", "scheduled",
             "published", "posted", "released", "registered", "joined", "lastupdate"}
_ROLES = (("birth", {"birth", "birthday", "birthdate", "dob", "born"}),
          ("updated", {"updated", "modified", "changed", "edited", "update", "lastupdate"}),
          ("created", {"created", "creation", "registered", "joined", "signup", "added", "published", "posted",
                       "issued", "ordered", "purchased", "submitted", "opened", "since"}),
          ("end", {"end", "to", "until", "till", "arrival", "arrive", "checkout", "dropoff", "due", "deadline",
                   "destination", "expiry", "expires", "expiration", "expire", "finish", "finished", "completed",
                   "closes", "stop"}),
          ("start", {"start", "from", "begin", "departure", "depart", "checkin", "pickup", "effective", "opens",
                     "scheduled", "starts", "origin"}))
_FORMATS = {"email": "email", "idn-email": "email", "uuid": "uuid", "uri": "url", "url": "url", "iri": "url",
            "uri-reference": "url", "hostname": "domain", "idn-hostname": "domain", "ipv4": "ipv4", "ipv6": "ipv6",
            "phone": "phone"}
_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
                 "%Y%m%d", "%H:%M:%S", "%H:%M")
_VOCABULARY = sorted({*_RANGES, *_TEXT, *_PERSON, *_TEMPORAL, *_CODE_HEADS, *(w for _, ws in _ROLES for w in ws),
                      "name", "user", "max", "min"}, key=len, reverse=True)


@cache
def words(name: str) -> tuple[str, ...]:
    """The column name's words, digits dropped (``lat1``) and run-together words split at known ones
    (ToolBench's ``maxguestcapacity``, ``tournamentid``)."""
    out: list[str] = []
    for token in tokens(name):
        out.extend(_split(token.rstrip(string.digits) or token))
    return tuple(out)


def _split(token: str) -> list[str]:
    """``token`` cut before a known word it ends with (of 4+ letters, ``id``, or any after a known word), when
    what is left is known words too or long enough to be one (``current`` stays whole, ``tournamentid`` and
    ``countryiso`` are two words)."""
    if len(token) < 6 or _known(token) or token in _VOCABULARY:
        return [token]
    for word in _VOCABULARY:
        rest = token[: -len(word)]
        if token.endswith(word) and rest and (len(word) >= 4 or word == "id" or _known(rest)):
            head = _split(rest)
            if all(_known(w) or w in _VOCABULARY for w in head) or len(rest) >= 4:
                return [*head, word]
    return [token]


def _known(word: str, table: dict | set | None = None) -> Any:
    """The entry of ``word`` (or its singular, or plural) in ``table`` (any table when None)."""
    tables = [table] if table is not None else [_RANGES, _TEXT, _PERSON, _TEMPORAL]
    for t in tables:
        for w in (word, singular(word), plural(word)):
            if w in t:
                return t[w] if isinstance(t, dict) else w
    return None


# --- meanings -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Meaning:
    """How a column's values are drawn: a kind (a key of ``_DRAW``) and its argument. ``generic``: no evidence
    said what the column holds, so the value is a plain word or a number from ``DEFAULT_RANGE``."""

    kind: str
    arg: Any = None
    generic: bool = False


def meaning(column: Column, entity: str = "", siblings: frozenset[str] = frozenset()) -> Meaning:
    """What ``column`` of a table about ``entity`` holds, its other columns being ``siblings``: the shape of
    its examples or default, its format, then its words (numbers by range, text by kind, a plain word last)."""
    ws = words(column.name)
    role = _role(ws)
    for example in [*(column.examples or []), column.default]:
        shaped = _example_meaning(example, role, column.json_type)
        if shaped is not None:
            return shaped
    if column.format in ("date", "date-time", "time"):
        return Meaning("moment", (role, {"date": ISO_DATE, "date-time": ISO_TIME, "time": "%H:%M:%S"}[column.format]))
    if column.format in _FORMATS:
        return Meaning(_FORMATS[column.format])
    if column.json_type in ("integer", "number"):
        number = _number_meaning(ws, role, column.json_type)
        return Meaning("flag") if number.generic and column.default in (0, 1, "0", "1") else number  # a 0/1 switch
    if column.json_type in ("array", "object"):
        tags = column.json_type == "array" and _known(ws[-1] if ws else "", _TEXT) == "tags"
        if tags and (column.shape or {}).get("items", {}).keys() <= {"type"}:
            return Meaning("tags")
        if (column.shape or {}).get("type") == column.json_type:
            return Meaning("shaped")
        return Meaning("tags") if tags else Meaning("empty", generic=True)
    if column.json_type == "boolean":
        return Meaning("flag")
    if ws and (ws[-1] in ("at", "on") or set(ws) & _TEMPORAL):
        return Meaning("moment", (role, ISO_DATE if {"date", "day", "dob", "birthday", "birthdate"} & set(ws)
                                  else "%H:%M" if ws == ("time",) else ISO_TIME))
    kind = _text_kind(ws, entity, siblings)
    if kind is not None:
        return kind
    if column.format == "password":  # AWS marks any sensitive text so: the column's words come first
        return Meaning("password")
    number = _number_meaning(ws, role, "string")  # text that holds a number: a latitude, a price
    if not number.generic:
        return number
    if ws and ws[-1] in ("id", "ids", "ref", "handle"):
        return Meaning("ident")
    return Meaning("word", generic=True)


def _role(ws: tuple[str, ...]) -> str:
    """Where a moment sits in its row's timeline, by its words or two of them run together (``check_out_date``:
    a checkout, after the check-in)."""
    said = {*ws, *(a + b for a, b in zip(ws, ws[1:]))}
    return next((role for role, keys in _ROLES if keys & said), "any")


def _example_meaning(example: Any, role: str, kind: str) -> Meaning | None:
    """A meaning an example (or default) shows by its shape: a date, an email, a URL, a UUID, a code."""
    if isinstance(example, int) and not isinstance(example, bool) and 19000101 <= example <= 21001231:
        example = str(example)  # 20220301: a date written as a number
    if not isinstance(example, str) or not example.strip():
        return None
    fmt = _date_format(example.strip().strip('"'))
    if fmt is not None:
        return Meaning("moment", (role, fmt))
    if kind not in ("string", "any"):
        return None
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.\w+", example):
        return Meaning("email")
    if re.match(r"https?://", example):
        return Meaning("url")
    if re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", example):
        return Meaning("uuid")
    if " " not in example and sum(c.isdigit() for c in example) >= 3 and len(example) <= 40 \
            and not re.fullmatch(r"-?[\d.]+", example.strip('"')):  # a number's words say more than its digits
        return Meaning("mimic", example)  # an order number, a code: its shape with other digits
    return None


def _date_format(text: str) -> str | None:
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if "%Y" not in fmt or 1900 <= parsed.year <= 2100:
            return fmt
    return None


def _number_meaning(ws: tuple[str, ...], role: str, kind: str) -> Meaning:
    if ws and (ws[-1] in _EPOCH_WORDS or (ws[-1] == "date" and kind != "string")):
        return Meaning("moment", (role, "%Y%m%d" if ws[-1] == "date" else "epoch"))
    ws = ws[: ws.index("per")] if "per" in ws else ws  # price_per_night is a price
    ws = tuple(w for w in ws if w not in _BOUNDS) or ws  # max_price is a price
    order = [*reversed(ws[:-1]), ws[-1]] if ws and ws[-1] in _WEAK_HEADS else reversed(ws)  # zip_code: a zip
    for w in order:
        found = _known(w, _RANGES)
        if found is not None:
            if found in (_RANGES["lat"], _RANGES["lon"]):
                return Meaning("coordinate", "lat" if found == _RANGES["lat"] else "lon")
            return Meaning("number", (found, _known(w, _MONEY) is not None, _known(w, _WHOLE) is not None))
    if ws and all(len(w) == 1 for w in ws):
        return Meaning("number", (DEFAULT_RANGE, False, False))  # x, y, a, b: a formula's operands, small by design
    if any(singular(w) != w for w in ws):
        return Meaning("number", (COUNT_RANGE, False, False))
    return Meaning("number", (DEFAULT_RANGE, False, False), generic=True)


_ENDPOINTS = {"to", "from", "recipient", "recipients", "sender", "receiver"}
_CHANNELS = {**dict.fromkeys(("email", "mail", "emails", "inbox", "smtp"), "email"),
             **dict.fromkeys(("sms", "phone", "mobile", "call", "calls", "whatsapp", "fax", "voice", "msisdn",
                              "texts"), "phone")}
"""Who a message goes to or comes from is an address on its channel: an SMS's ``to`` is a phone number, an
email's ``from`` an email address (their rows held "property" and "establishment")."""


def _text_kind(ws: tuple[str, ...], entity: str, siblings: frozenset[str]) -> Meaning | None:
    if not ws:
        return None
    if {w for w in ws if w != "is"} <= _ENDPOINTS and set(ws) & _ENDPOINTS:  # ToolBench's ``is_from``
        context = {*words(entity), *(w for s in siblings for w in words(s))}
        channel = next((_CHANNELS[w] for w in sorted(context) if w in _CHANNELS), None)
        if channel is not None:
            return Meaning(channel)
    head = ws[-1]
    if "_".join(ws[-2:]) in _TEXT:  # content_type, screen_name: two words that mean one thing
        return Meaning(_TEXT["_".join(ws[-2:])])
    if head == "name" or _known(head, _TEXT) in ("first_name", "last_name", "full_name"):
        return _name_kind(ws, entity, siblings)
    if head == "state" and any(_known(w, _TEXT) in ("city", "postcode", "street", "country")
                               for s in siblings for w in words(s)):
        return Meaning("region")  # a state among address columns
    kind = _known(head, _TEXT)
    if kind is None or head in _WEAK_HEADS:
        modifier = next((k for w in reversed(ws[:-1]) if (k := _known(w, _TEXT))), None)
        if modifier is not None and (kind is None or modifier not in ("word", "text", "status")):
            return Meaning(modifier, "code" if set(ws) & _CODE_HEADS else None)
    if kind is None:
        return None
    if kind in ("path", "file"):
        return Meaning(kind, next((_FILE_CATEGORIES[w] for w in ws if w in _FILE_CATEGORIES), None))
    return Meaning(kind, "code" if set(ws) & _CODE_HEADS else None)


def _name_kind(ws: tuple[str, ...], entity: str, siblings: frozenset[str]) -> Meaning:
    """What a ``name`` holds: a person's, a company's, a place's, a product's or a thing's."""
    q = set(ws)
    if q & {"first", "given", "fore"} or _known(ws[-1], _TEXT) == "first_name":
        return Meaning("first_name")
    if q & {"last", "family", "sur"} or _known(ws[-1], _TEXT) == "last_name":
        return Meaning("last_name")
    if "user" in q and len(ws) == 2:
        return Meaning("username")
    owner = [w for w in ws if w != "name"]
    subject = owner[-1] if owner else entity
    kind = _known(subject, _TEXT) if subject else None
    if kind in ("company", "city", "country", "currency", "language", "file", "domain", "region"):
        return Meaning(kind, "name")
    person_siblings = any(w in _PERSON_HINTS for s in siblings for w in words(s))
    if _known(subject, _PERSON) or kind == "full_name" or (not owner and person_siblings):
        return Meaning("full_name")
    if subject in _TECHNICAL or singular(subject) in _TECHNICAL:
        return Meaning("identifier")
    if subject in _PRODUCTS or singular(subject) in _PRODUCTS:
        return Meaning("product")
    return Meaning("thing")


# --- records ------------------------------------------------------------------------------------------------
@cache
def _faker(locale: str) -> Generator:
    return Factory.create(locale)


class Record:
    """One row's values, drawn together so that they agree: one person, one place, one timeline."""

    def __init__(self, rng: random.Random, entity: str = ""):
        self.rng, self.entity = rng, entity
        self._locale: str | None = None
        self._person: tuple[str, str] | None = None
        self._places: dict[str, dict[str, Any]] = {}
        self._moments: dict[str, datetime] = {}

    @property
    def locale(self) -> str:
        if self._locale is None:
            self._locale = self.rng.choices(list(LOCALES), _LOCALE_WEIGHTS)[0]
        return self._locale

    def fake(self, locale: str | None = None) -> Generator:
        """Faker for the row's locale (English words when ``locale`` is "en_US"), drawing from the row's rng."""
        gen = _faker(locale or self.locale)
        gen.random = self.rng
        return gen

    @property
    def person(self) -> tuple[str, str]:
        if self._person is None:
            fake = self.fake()
            self._person = (fake.first_name(), fake.last_name())
        return self._person

    def place(self, role: str = "any") -> dict[str, Any]:
        """A real place in the row's country (city, country code, coordinates, timezone); one per role, so a
        trip's start and end differ while a row's city and its coordinates agree."""
        if role not in self._places:
            lat, lon, city, code, tz = self.fake().local_latlng(country_code=self.locale.split("_")[1])
            self._places[role] = {"lat": float(lat), "lon": float(lon), "city": city, "code": code, "tz": tz}
        return self._places[role]

    def moment(self, role: str, column: str = "") -> datetime:
        """The row's time for ``role``: created before updated, start before end, births long past. A row has
        one creation, update, start and birth; each of its ends (due, completed, expires) and undated moments
        is a time of its own ``column``'s, so a task is not due the moment it was completed."""
        key = f"{role}:{column}" if role in ("end", "any") else role
        if key not in self._moments:
            days = lambda low, high: timedelta(seconds=round(self.rng.uniform(low, high) * 86400))  # noqa: E731
            if role == "updated":
                created = self.moment("created")
                self._moments[key] = created + timedelta(seconds=round((NOW - created).total_seconds()
                                                                       * self.rng.random()))
            elif role == "end":
                self._moments[key] = self.moment("start") + days(1 / 24, 21)
            else:
                low, high = {"created": (-3 * 365, -1), "start": (-120, 180), "birth": (-85 * 365, -18 * 365),
                             "any": (-2 * 365, 120)}[role]
                self._moments[key] = NOW + days(low, high)
        return self._moments[key]


def ascii_word(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and c.isalnum()).lower()


def _moment(r: Record, c: Column, arg: tuple[str, str]) -> Any:
    role, fmt = arg
    when = r.moment(role, c.name)
    if fmt == "epoch":
        return int(when.timestamp()) * (1000 if {"ms", "millis"} & set(words(c.name)) else 1)
    text = when.strftime(fmt)
    return int(text) if c.json_type in ("integer", "number") and text.isdigit() else text


def _number(r: Record, c: Column, arg: tuple[tuple[float, float], bool, bool]) -> Any:
    (low, high), money, whole = arg
    low, high = _within(low, high, c.minimum, c.maximum)
    if c.json_type == "integer" or whole or (not money and float(low).is_integer() and high - low >= 5):
        v: Any = r.rng.randint(math.ceil(low), max(math.ceil(low), math.floor(high)))
    else:
        v = round(r.rng.uniform(low, high), 2)
    return v if c.json_type in ("integer", "number") else str(v)


def _within(low: float, high: float, minimum: float | None, maximum: float | None) -> tuple[float, float]:
    """A meaning's range inside the spec's bounds (AWS Lambda's memory is at least 128); where the two do not
    meet, a range as wide as the meaning's at the bound it missed."""
    lo = low if minimum is None else max(low, minimum)
    hi = high if maximum is None else min(high, maximum)
    if lo <= hi:
        return lo, hi
    width = high - low
    if minimum is not None and lo == minimum:  # the meaning's range lies below the spec's
        hi = minimum + width
        return minimum, hi if maximum is None else min(maximum, hi)
    lo = maximum - width
    return (lo if minimum is None else max(minimum, lo)), maximum


def _where(c: Column) -> str:
    """Which of the row's places a column describes: its role, and its number (``lat1``/``lon1``, ``lat2``)."""
    return _role(words(c.name)) + c.name[len(c.name.rstrip(string.digits)):]


def _coordinate(r: Record, c: Column, axis: str) -> Any:
    v = round(r.place(_where(c))[axis], 5)
    return v if c.json_type in ("integer", "number") else str(v)


def _country(r: Record, c: Column, arg: str | None) -> str:
    country = _COUNTRIES[r.place()["code"]]
    return country.alpha_2_code if arg == "code" else country.name


def _mimic(r: Record, c: Column, example: str) -> str:
    """The example's shape with fresh digits: ``#W2611340`` -> ``#W8302751`` (a run keeps a leading non-zero)."""
    out = []
    for i, ch in enumerate(example):
        if ch.isdigit():
            leads = (i == 0 or not example[i - 1].isdigit()) and ch != "0"
            ch = str(r.rng.randint(1 if leads else 0, 9))
        out.append(ch)
    return "".join(out)


def _instance(r: Record, shape: dict[str, Any], name: str, siblings: frozenset[str] = frozenset()) -> Any:
    """A value that follows a container's ``shape``, from the row's record (an order's customer has the row's
    person): an object's required properties and most others (all of a small one), each drawn by what its name
    means; one to three distinct items of an array; a map of one or two words."""
    kind = shape["type"]
    if kind == "object" and "values" in shape:
        return {r.fake("en_US").word(): _instance(r, shape["values"], name) for _ in range(r.rng.randint(1, 2))}
    if kind == "object" and "properties" in shape:
        fields, required = shape["properties"], set(shape["required"])
        whole = len(fields) <= 3  # a tag's key and value, a point's x and y: a small record is whole
        chosen = [k for k in fields if whole or k in required or r.rng.random() < 0.6] or [r.rng.choice(list(fields))]
        return {k: _instance(r, fields[k], k, frozenset(fields)) for k in chosen}
    if kind == "array" and "items" in shape:
        items = [_instance(r, shape["items"], singular(name), siblings) for _ in range(r.rng.randint(1, 3))]
        return list({json.dumps(v, sort_keys=True): v for v in items}.values())
    if kind in ("array", "object"):  # the spec says nothing of what it holds
        return [] if kind == "array" else {}
    column = Column(name=name, type=sql_type(kind), json_type=kind,
                    **{k: v for k, v in shape.items() if k in Column.model_fields and k not in ("name", "type")})
    return as_argument(value(column, meaning(column, r.entity, siblings), r), kind)


def _thing(r: Record, sep: str = " ") -> str:
    en = r.fake("en_US")
    return f"{en.word(part_of_speech='adjective')}{sep}{en.word(part_of_speech='noun')}"


_DRAW: dict[str, Callable[[Record, Column, Any], Any]] = {
    "moment": _moment, "number": _number, "coordinate": _coordinate, "country": _country, "mimic": _mimic,
    "flag": lambda r, c, a: r.rng.randint(0, 1),
    "empty": lambda r, c, a: "[]" if c.json_type == "array" else "{}",
    "shaped": lambda r, c, a: _instance(r, c.shape, c.name),
    "tags": lambda r, c, a: r.fake("en_US").words(r.rng.randint(1, 3), part_of_speech="noun"),
    "full_name": lambda r, c, a: " ".join(r.person), "first_name": lambda r, c, a: r.person[0],
    "last_name": lambda r, c, a: r.person[1],
    "email": lambda r, c, a: f"{ascii_word(r.person[0])}.{ascii_word(r.person[1])}"
                             f"{r.rng.choice(['', r.rng.randint(1, 99)])}"
                             f"@{r.fake().free_email_domain()}",
    "username": lambda r, c, a: f"{ascii_word(r.person[0])}_{ascii_word(r.person[1])}_{r.rng.randint(1000, 9999)}",
    "phone": lambda r, c, a: r.fake().phone_number(), "street": lambda r, c, a: r.fake().street_address(),
    "city": lambda r, c, a: r.place(_where(c))["city"], "region": lambda r, c, a: r.fake().administrative_unit(),
    "location": lambda r, c, a: f"{r.place(_where(c))['city']}, {_COUNTRIES[r.place()['code']].name}",
    "postcode": lambda r, c, a: r.fake().postcode(), "timezone": lambda r, c, a: r.place()["tz"],
    "currency": lambda r, c, a: _CURRENCY_NAMES[LOCALES[r.locale]] if a == "name" else LOCALES[r.locale],
    "language": lambda r, c, a: r.fake("en_US").language_name() if a == "name" else r.locale.split("_")[0],
    "url": lambda r, c, a: f"https://{r.fake().domain_name()}/{r.fake('en_US').slug()}",
    "image": lambda r, c, a: f"https://{r.fake().domain_name()}/images/{r.fake('en_US').uuid4()[:8]}.jpg",
    "domain": lambda r, c, a: r.fake().domain_name(), "ipv4": lambda r, c, a: r.fake().ipv4_public(),
    "ipv6": lambda r, c, a: r.fake().ipv6(), "mac": lambda r, c, a: r.fake().mac_address(),
    "path": lambda r, c, a: r.fake("en_US").file_path(depth=2, category=a if a in _FILE_KINDS else None),
    "file": lambda r, c, a: r.fake("en_US").file_name(category=a if a in _FILE_KINDS else None),
    "mime": lambda r, c, a: r.fake().mime_type(),
    "uuid": lambda r, c, a: str(uuid.UUID(int=r.rng.getrandbits(128), version=4)),
    "sha256": lambda r, c, a: r.fake().sha256(), "md5": lambda r, c, a: r.fake().md5(),
    "password": lambda r, c, a: r.fake().password(length=12), "pin": lambda r, c, a: r.fake().numerify("####"),
    "token": lambda r, c, a: r.fake().sha1(), "version": lambda r, c, a: r.fake().numerify("%.#.#"),
    "color": lambda r, c, a: r.fake("en_US").safe_color_name(), "isbn": lambda r, c, a: r.fake("en_US").isbn13(),
    "ean": lambda r, c, a: r.fake().ean13(), "iban": lambda r, c, a: r.fake().iban(),
    "swift": lambda r, c, a: r.fake().swift(), "card": lambda r, c, a: r.fake().credit_card_number(),
    "cvv": lambda r, c, a: r.fake().credit_card_security_code(), "plate": lambda r, c, a: r.fake().license_plate(),
    "ssn": lambda r, c, a: r.fake("en_US").ssn(),
    "iata": lambda r, c, a: r.fake().lexify("???", letters=string.ascii_uppercase),
    "icao": lambda r, c, a: r.fake().lexify("????", letters=string.ascii_uppercase),
    "symbol": lambda r, c, a: r.fake().lexify("?" * r.rng.randint(3, 4), letters=string.ascii_uppercase),
    "sku": lambda r, c, a: r.fake().bothify("???-####", letters=string.ascii_uppercase),
    "isin": lambda r, c, a: r.place()["code"] + r.fake().numerify("##########"),
    "tracking": lambda r, c, a: "1Z" + r.fake().lexify("?" * 16, letters=_ALNUM),
    "locator": lambda r, c, a: r.fake().lexify("??????", letters=_ALNUM),
    "invoice": lambda r, c, a: r.fake().numerify("INV-######"),
    "serial": lambda r, c, a: f"#{(r.entity[:1] or 'N').upper()}{r.fake().numerify('%######')}",
    "code": lambda r, c, a: r.fake().lexify("??????", letters=_ALNUM),
    "promo": lambda r, c, a: f"{r.fake('en_US').word(part_of_speech='noun').upper()}{r.rng.choice([10, 15, 20, 25])}",
    "slug": lambda r, c, a: r.fake("en_US").slug(), "company": lambda r, c, a: r.fake().company(),
    "job": lambda r, c, a: r.fake("en_US").job(),
    "title": lambda r, c, a: r.fake("en_US").sentence(nb_words=4).rstrip("."),
    "text": lambda r, c, a: r.fake("en_US").sentence(nb_words=10), "status": lambda r, c, a: r.rng.choice(STATUSES),
    "word": lambda r, c, a: r.fake("en_US").word(part_of_speech="noun"),
    "gender": lambda r, c, a: r.rng.choice(GENDERS),
    "thing": lambda r, c, a: _thing(r).title(), "product": lambda r, c, a: _thing(r).title(),
    "identifier": lambda r, c, a: _thing(r, "-"),
    "ident": lambda r, c, a: r.fake().lexify("?" * 12, letters=_ALNUM).lower(),
}  # fmt: skip


def value(column: Column, m: Meaning, record: Record) -> Any:
    """One value of ``column`` as SQLite stores it: an enum member, sometimes the default or an example (not
    for a date or an id: taken as is, they would break the timeline or repeat), else drawn by ``m``; a string
    that misses the column's pattern is drawn from the pattern."""
    rng = record.rng
    if column.enum:
        return encode(rng.choice(column.enum))
    verbatim = m.kind not in ("moment", "mimic")  # a date or an id in a spec gives its shape, not its value
    if verbatim and column.default is not None and rng.random() < 0.5:
        return encode(column.default)
    examples = [e for e in column.examples or [] if _fits(e, column.json_type)]
    if verbatim and examples and rng.random() < 0.25:
        return encode(rng.choice(examples))
    v = _DRAW[m.kind](record, column, m.arg)
    if column.pattern and isinstance(v, str) and not _matches(column.pattern, v):
        v = from_pattern(column.pattern, rng) or v
    return encode(v)


def _fits(v: Any, kind: str) -> bool:
    types = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}
    return kind == "any" or isinstance(v, types[kind]) and (kind == "boolean" or not isinstance(v, bool))


def conforms(v: Any, shape: dict[str, Any] | None) -> bool:
    """Whether a JSON value has the structure ``shape`` gives (``schema.shape``): its types, enums and required
    fields; a container the spec says nothing of holds anything."""
    if shape is None:
        return True
    kind = shape["type"]
    if not _fits(v, kind) or ("enum" in shape and v not in shape["enum"]):
        return False
    if kind == "array" and "items" in shape:
        return all(conforms(x, shape["items"]) for x in v)
    if kind == "object" and "properties" in shape:
        fields = shape["properties"]
        return set(shape["required"]) <= v.keys() and all(conforms(v[k], fields[k]) for k in v if k in fields)
    if kind == "object" and "values" in shape:
        return all(conforms(x, shape["values"]) for x in v.values())
    return True


def as_argument(v: Any, kind: JsonType) -> Any:
    """A stored value as an agent would pass it for a parameter of this JSON type (None if it can't be)."""
    if v is None:
        return None
    try:
        if kind == "string":
            return v if isinstance(v, str) else str(v)
        if kind == "integer":
            return int(v)
        if kind == "number":  # 8, not 8.0: a whole number as a person (and an agent) writes it
            return integral(float(v))
        if kind == "boolean":
            return bool(v)
        if kind in ("array", "object"):
            return json.loads(v) if isinstance(v, str) else v
    except (TypeError, ValueError):
        return None
    return v


def encode(v: Any) -> Any:
    """A JSON value as SQLite stores it: booleans as 0/1, arrays and objects as JSON text."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, sort_keys=True, separators=(",", ":"))
    return v


# --- patterns -----------------------------------------------------------------------------------------------
def _matches(pattern: str, v: str) -> bool:
    try:
        return re.search(pattern, v) is not None
    except re.error:
        return True  # a pattern Python cannot read constrains nothing here


class _Unsupported(Exception):
    pass


_PICKABLE = string.ascii_letters + string.digits + "-_.:/@+ "
_CATEGORIES = {sre.CATEGORY_DIGIT: str.isdigit, sre.CATEGORY_WORD: lambda ch: ch.isalnum() or ch == "_",
               sre.CATEGORY_SPACE: str.isspace}
_NOT_CATEGORIES = {sre.CATEGORY_NOT_DIGIT: str.isdigit, sre.CATEGORY_NOT_WORD: lambda ch: ch.isalnum() or ch == "_",
                   sre.CATEGORY_NOT_SPACE: str.isspace}


def from_pattern(pattern: str, rng: random.Random) -> str | None:
    """A string the regular expression matches, drawn from its parse tree (None for what it cannot draw:
    backreferences, lookarounds)."""
    try:
        out = "".join(_emit(sre.parse(pattern), rng))
    except (re.error, _Unsupported, RecursionError):
        return None
    return out if _matches(pattern, out) else None


def _emit(items, rng: random.Random) -> list[str]:
    out: list[str] = []
    for op, av in items:
        if op is sre.LITERAL:
            out.append(chr(av))
        elif op is sre.NOT_LITERAL:
            out.append(rng.choice([ch for ch in string.ascii_letters if ch != chr(av)]))
        elif op is sre.ANY:
            out.append(rng.choice(string.ascii_letters))
        elif op is sre.IN:
            out.append(_pick_in(av, rng))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, sub = av
            for _ in range(rng.randint(low, min(high, low + 8))):
                out.extend(_emit(sub, rng))
        elif op is sre.SUBPATTERN:
            out.extend(_emit(av[-1], rng))
        elif op is sre.BRANCH:
            out.extend(_emit(rng.choice(av[1]), rng))
        elif op is not sre.AT:
            raise _Unsupported(op)
    return out


def _pick_in(av, rng: random.Random) -> str:
    """One character of a character class, preferring printable ASCII."""
    negate = any(op is sre.NEGATE for op, _ in av)

    def member(ch: str) -> bool:
        for op, v in av:
            if (op is sre.LITERAL and ch == chr(v)) or (op is sre.RANGE and v[0] <= ord(ch) <= v[1]) or (
                    op is sre.CATEGORY and (v in _CATEGORIES and _CATEGORIES[v](ch)
                                            or v in _NOT_CATEGORIES and not _NOT_CATEGORIES[v](ch))):
                return True
        return False

    choices = [ch for ch in _PICKABLE if member(ch) != negate]
    if not choices:
        raise _Unsupported("empty class")
    return rng.choice(choices)
