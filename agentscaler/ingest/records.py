"""What a loader emits for one input record: specs, or a quarantine row that says why not.

A bad record never stops a run and never vanishes: every failure becomes a ``Quarantined`` row
that names the file, where in it, the reason, and the raw text or record to fix it from.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agentscaler.failures import code_of


class RecordError(ValueError):
    """A record (or one API inside it) that cannot become a ToolSpec; the message is the reason."""


class Quarantined(BaseModel):
    """One malformed record, as written to ``quarantine.jsonl``."""

    source_file: str = Field(description="The file the record came from.")
    locator: str = Field(description="Where in the file: 'line 12', 'item 3 / function 1', 'GET /pets'.")
    reason: str = Field(description="Why it was rejected; the text before any ':' is the reason kind.")
    raw: Any = Field(default=None, description="The raw text or record, to fix it from.")


def reason_of(error: Exception) -> str:
    """A one-line reason for a loader failure; pydantic errors name the field that broke."""
    if not isinstance(error, ValidationError):
        return str(error)
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    field = ".".join(str(part) for part in first["loc"] if not isinstance(part, int)) or "record"
    if first["type"] == "missing":
        return f"missing {field}" + (f": at {where}" if where != field else "")
    return f"invalid {field}: {first['msg']}" + (f" at {where}" if where != field else "")


def reason_kind(reason: str) -> str:
    """The fixed part of a reason (what comes before its colon), for the summary's breakdown."""
    return code_of(reason)
