"""Primary keys in the shapes real systems give them, chosen by what the table holds: a person's handle
(``mia_li_3668``), an order-like number (``#O2611340``), a three-letter code for places and currencies
(``JFK``) and a UUID for anything else.

The n-th row's key is a function of the table and n (and, for a handle, the row's person), computed the same
way in Python for synthesized states (``row_key``) and in SQL for a create's new row (``key_sql``, from
``max(rowid) + 1``), so replays stay deterministic. Each shape's number part is a bijection of n (an odd
multiplier modulo the shape's range), so keys stay unique.
"""

from __future__ import annotations

import hashlib

from sqlglot import exp

from agentscaler.envs.naming import tokens
from agentscaler.envs.spec import Table
from agentscaler.envs.values import ascii_word, meaning

PEOPLE = {"user", "customer", "member", "employee", "person", "people", "author", "owner", "player", "patient",
          "student", "contact", "client", "driver", "passenger", "guest", "subscriber", "participant", "buyer",
          "seller", "agent", "staff", "teacher", "doctor", "athlete", "artist", "candidate", "applicant", "tenant",
          "traveler", "traveller", "attendee", "volunteer", "worker", "freelancer", "host", "reviewer", "follower"}
NUMBERED = {"order", "booking", "reservation", "invoice", "ticket", "transaction", "payment", "shipment", "purchase",
            "receipt", "refund", "return", "claim", "charge", "transfer", "case", "incident", "appointment", "delivery",
            "bill", "quote", "quotation", "contract", "application", "request", "subscription", "donation"}
CODED = {"airport", "airline", "station", "port", "currency", "language", "country", "terminal", "exchange", "venue",
         "warehouse", "store", "branch", "region", "city"}
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_HEX = (("%08x", 2 ** 32, 2654435761), ("%04x", 2 ** 16, 40503), ("%03x", 2 ** 12, 2897), ("%03x", 2 ** 12, 3449),
        ("%012x", 2 ** 48, 25214903917))
"""A UUID's groups (after ``4`` and ``a``, its version and variant): (format, range, odd multiplier)."""


def key_shape(entity: str) -> str:
    """The shape of a TEXT key of ``entity``'s table: "handle", "number", "code" or "uuid"."""
    words = tokens(entity)
    last = words[-1] if words else ""
    return "handle" if last in PEOPLE else "number" if last in NUMBERED else "code" if last in CODED else "uuid"


def person_columns(table: Table) -> list[str]:
    """The columns that name a handle's person: a full name, or a first and a last name ([] for none)."""
    siblings = frozenset(c.name for c in table.columns)
    kinds = {meaning(c, table.entity, siblings).kind: c.name for c in table.columns}
    if "full_name" in kinds:
        return [kinds["full_name"]]
    return [kinds["first_name"], kinds["last_name"]] if {"first_name", "last_name"} <= set(kinds) else []


def _salt(entity: str, modulus: int) -> int:
    return int.from_bytes(hashlib.blake2b(entity.encode(), digest_size=8).digest(), "big") % modulus


def _scramble(n: int, entity: str, modulus: int, multiplier: int = 7919) -> int:
    return (n * multiplier + _salt(entity, modulus)) % modulus


def row_key(shape: str, entity: str, n: int, person: tuple[str, str] | None = None) -> str:
    """The n-th row's key; a handle takes the row's person (first, last), a UUID stands in without one."""
    if shape == "handle" and person:
        names = [ascii_word(w) for part in person for w in part.split()]
        return "_".join([*filter(None, names), str(1000 + _scramble(n, entity, 9000))])
    if shape == "number":
        return f"#{(entity[:1] or 'N').upper()}{1_000_000 + _scramble(n, entity, 9_000_000)}"
    if shape == "code":
        x = _scramble(n, entity, 26 ** 3)
        return _ALPHABET[x // 676] + _ALPHABET[x // 26 % 26] + _ALPHABET[x % 26]
    groups = [fmt % _scramble(n, entity, modulus, mult) for fmt, modulus, mult in _HEX]
    return f"{groups[0]}-{groups[1]}-4{groups[2]}-a{groups[3]}-{groups[4]}"


def _sql_scramble(n: exp.Expression, entity: str, modulus: int, multiplier: int = 7919) -> exp.Expression:
    product = exp.Add(this=exp.Mul(this=exp.Paren(this=n), expression=exp.Literal.number(multiplier)),
                      expression=exp.Literal.number(_salt(entity, modulus)))
    return exp.Paren(this=exp.Mod(this=exp.Paren(this=product), expression=exp.Literal.number(modulus)))


def _concat(*parts: exp.Expression) -> exp.Expression:
    out = parts[0]
    for part in parts[1:]:
        out = exp.DPipe(this=out, expression=part)
    return out


def _slug(name: exp.Expression) -> exp.Expression:
    return exp.func("LOWER", exp.func("REPLACE", exp.func("TRIM", name), exp.Literal.string(" "),
                                      exp.Literal.string("_")))


def key_sql(shape: str, entity: str, n: exp.Expression, person: list[exp.Expression] | None = None) -> exp.Expression:
    """``row_key`` in SQLite SQL for the row number ``n``; ``person``: the expressions of the new row's names
    (a full name, or first and last), for a handle."""
    def digits(modulus: int) -> exp.Expression:
        return exp.Add(this=exp.Literal.number(modulus // 9), expression=_sql_scramble(n, entity, modulus))

    if shape == "handle" and person:
        parts = [_slug(p) for p in person]
        parts = [x for p in parts for x in (p, exp.Literal.string("_"))]
        return _concat(*parts, exp.cast(digits(9000), "TEXT"))
    if shape == "number":
        return _concat(exp.Literal.string(f"#{(entity[:1] or 'N').upper()}"), exp.cast(digits(9_000_000), "TEXT"))
    if shape == "code":
        x = _sql_scramble(n, entity, 26 ** 3)
        letters = [exp.func("SUBSTR", exp.Literal.string(_ALPHABET), exp.Add(this=exp.Paren(this=part),
                   expression=exp.Literal.number(1)), exp.Literal.number(1))
                   for part in (exp.Div(this=x, expression=exp.Literal.number(676)),
                                exp.Mod(this=exp.Div(this=x, expression=exp.Literal.number(26)),
                                        expression=exp.Literal.number(26)),
                                exp.Mod(this=x, expression=exp.Literal.number(26)))]
        return _concat(*letters)
    return exp.func("PRINTF", exp.Literal.string("-".join(["%08x", "%04x", "4%03x", "a%03x", "%012x"])),
                    *(_sql_scramble(n, entity, modulus, mult) for _, modulus, mult in _HEX))
