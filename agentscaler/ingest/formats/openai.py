"""OpenAI-style tools: ``{"type": "function", "function": {...}}`` or bare function objects."""

from __future__ import annotations

from functools import partial
from typing import Any, Iterator

from agentscaler.ingest.formats.base import Api, Format, FunctionDoc


class OpenAI(Format):
    name = "openai"

    def detect(self, record: dict) -> bool:
        if record.get("type") == "function" and isinstance(record.get("function"), dict):
            return True
        return "name" in record and ("parameters" in record or "description" in record)

    def apis(self, record: dict) -> Iterator[Api]:
        doc = record["function"] if isinstance(record.get("function"), dict) else record
        yield "", record, partial(_fields, doc)


def _fields(doc: Any) -> dict[str, Any]:
    return FunctionDoc.model_validate(doc).fields()
