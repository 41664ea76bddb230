"""Corpus formats, tried in order on each record; the first whose ``detect`` accepts it parses it.

Order matters only where shapes overlap: specific shapes (OpenAPI 3, Swagger 2.0, MCP, ToolBench, BFCL, xLAM)
come before the bare OpenAI function object, which any record with a ``name`` resembles.
"""

from __future__ import annotations

from agentscaler.ingest.formats.base import Format
from agentscaler.ingest.formats.bfcl import Bfcl
from agentscaler.ingest.formats.mcp import Mcp
from agentscaler.ingest.formats.openai import OpenAI
from agentscaler.ingest.formats.openapi import OpenApi
from agentscaler.ingest.formats.swagger import Swagger
from agentscaler.ingest.formats.toolbench import ToolBench
from agentscaler.ingest.formats.xlam import Xlam

FORMATS: tuple[Format, ...] = (OpenApi(), Swagger(), Mcp(), ToolBench(), Bfcl(), Xlam(), OpenAI())


def detect(record: object) -> Format | None:
    """The format of one parsed record, judged by its content alone."""
    if not isinstance(record, dict):
        return None
    return next((fmt for fmt in FORMATS if fmt.detect(record)), None)
