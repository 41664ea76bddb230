"""When a value of the user's scenario counts as said, and which call uses it.

One definition for the three parties that need it: the teacher asks for a value before the first
call that uses it unless the user said it already, the template user says it when asked, and the
filters check that a ``clarify`` task's withheld values were said before the call that uses them.

- A value is *said* in a text when its words (``toolspec.value_text``: the string itself, a number
  without a trailing ``.0``, a list's items, an object's fields) appear in it as a whole (not inside a longer
  word or number), case aside: the task checker's own ``tasks.said``, so a task and the episodes played on it
  agree.
- A call *uses* a value when one of its argument values (at any depth) is that value: numbers by
  value, strings stripped and case aside, a list or an object whole. A value buried in a longer string does
  not count.
"""

from __future__ import annotations

from typing import Any, Iterator

from agentscaler.tasks import said
from agentscaler.toolspec import canonical_json

__all__ = ["leaves", "said", "uses"]


def leaves(value: Any) -> Iterator[Any]:
    """Every scalar inside a JSON value (arguments, an observation, a scenario section)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    else:
        yield value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().lower() == b.strip().lower()
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b


def _parts(value: Any) -> Iterator[Any]:
    """Every value inside a JSON value, itself and its lists and objects included."""
    yield value
    for v in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
        yield from _parts(v)


def uses(arguments: Any, value: Any) -> bool:
    """Whether a call with these arguments uses ``value`` (see the module docstring); a list or an object (a
    function's tags) is used where the arguments hold it whole."""
    if isinstance(value, (list, dict)):
        whole = canonical_json(value)
        return any(canonical_json(part) == whole for part in _parts(arguments) if isinstance(part, type(value)))
    return any(_same(leaf, value) for leaf in leaves(arguments))
