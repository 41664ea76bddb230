"""Berkeley Function Calling Leaderboard records: a question plus the ``function`` docs it may call."""

from __future__ import annotations

import re
from functools import partial
from typing import Any, Iterator

from agentscaler.ingest.formats.base import Api, Format, FunctionDoc

_CASE_NUMBER = re.compile(r"_\d+(-\d+)*$")


class Bfcl(Format):
    name = "bfcl"
    licence = "Apache-2.0"

    def detect(self, record: dict) -> bool:
        return isinstance(record.get("function"), list)

    def apis(self, record: dict) -> Iterator[Api]:
        category = _CASE_NUMBER.sub("", record["id"]) if isinstance(record.get("id"), str) else None
        for i, doc in enumerate(record["function"]):
            yield f"function {i}", doc, partial(_fields, doc, category)


def _fields(doc: Any, category: str | None) -> dict[str, Any]:
    """The test category (``simple_python``, ``live_multiple``...) from the record id, for lineage."""
    return {**FunctionDoc.model_validate(doc).fields(), "category": category}
