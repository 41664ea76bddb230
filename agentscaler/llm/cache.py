"""An LLM-call cache, so a rerun of a rollout replays every model reply exactly.

Sampling on GPU engines is not bitwise reproducible across batch shapes or versions, and hosted
APIs are not reproducible at all; a run that must be replayed (a resumed run, a debugging
session, a regression test) therefore reads its replies back instead of regenerating them. The
key is the SHA-256 of the canonical request (backend name, messages, tools, seed, max_tokens,
temperature); the store is one SQLite file, safe to share between processes on one machine.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from agentscaler.llm.base import ChatBackend, Completion
from agentscaler.llm.render import canonical_json, digest


class CachedBackend:
    """Wraps a ``ChatBackend``: answers a request seen before from ``path``, forwards and stores the rest."""

    def __init__(self, backend: ChatBackend, path: str | Path):
        self.backend = backend
        self.name = backend.name  # transparent: trajectories record the model that answered
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.hits = self.misses = 0
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, request TEXT, completion TEXT)")

    @staticmethod
    def request(backend: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, *,
                seed: int, max_tokens: int, temperature: float) -> dict[str, Any]:
        return {"backend": backend, "messages": messages, "tools": tools or [], "seed": seed,
                "max_tokens": max_tokens, "temperature": temperature}

    async def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, *,
                   seed: int = 0, max_tokens: int = 512, temperature: float = 0.0) -> Completion:
        request = self.request(self.name, messages, tools, seed=seed, max_tokens=max_tokens, temperature=temperature)
        key = digest(request)
        with self._lock:
            row = self._db.execute("SELECT completion FROM calls WHERE key = ?", (key,)).fetchone()
        if row is not None:
            self.hits += 1
            return Completion(**json.loads(row[0]))
        self.misses += 1
        completion = await self.backend.chat(messages, tools, seed=seed, max_tokens=max_tokens,
                                             temperature=temperature)
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO calls VALUES (?, ?, ?)",
                             (key, canonical_json(request), json.dumps(dataclasses.asdict(completion))))
        return completion

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    def close(self) -> None:
        self._db.close()
