"""The contract every corpus loader fulfils, and the pieces the loaders share."""

from __future__ import annotations

from typing import Annotated, Any, Callable, Iterator

from pydantic import BaseModel, ConfigDict, StringConstraints

from agentscaler.ingest.schema import normalize_parameters

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

Api = tuple[str, Any, Callable[[], dict[str, Any]]]
"""One API found in a record: its locator, its raw form, and a thunk giving ``ToolSpec.build`` fields.

The thunk runs apart from the others, so one malformed API is quarantined alone and its
siblings in the same record still become specs.
"""


class Format:
    """A corpus format, recognized by the content of a record (never by file name)."""

    name: str = ""
    licence: str | None = None

    def detect(self, record: dict) -> bool:
        """Whether ``record`` is in this format: cheap and shape-only; ``apis`` does the validation."""
        raise NotImplementedError

    def apis(self, record: dict) -> Iterator[Api]:
        """The APIs in ``record``; raising here quarantines the whole record."""
        raise NotImplementedError


class FunctionDoc(BaseModel):
    """An OpenAI-style function doc: BFCL, OpenAI tool lists and xLAM all share this shape."""

    model_config = ConfigDict(extra="allow")

    name: Name
    description: str | None = None
    parameters: Any = None

    def fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description or "",
            "parameters": normalize_parameters(self.parameters),
        }
