"""Seeds derived from names: every stage draws from ``rng_for(seed, *what)``, so a draw depends on what it
is for and the run's seed, never on the order things ran in or on which process ran them."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any


def rng_for(seed: int, *parts: Any) -> random.Random:
    """A random generator for ``parts`` (JSON-serializable names: a domain id, a tool name, ...) under ``seed``."""
    digest = hashlib.sha256(json.dumps([seed, *parts]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))
