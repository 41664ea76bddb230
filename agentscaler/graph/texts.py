"""What gets embedded for each tool and parameter.

The paper embeds each parameter with its tool as context. Embedding every (parameter, tool) string
costs one model pass per parameter occurrence (92k passes of ~46 tokens on the full corpus). We
embed two kinds of unique, short strings instead and combine them:

- a parameter string, ``"<name as words>: <description>"``: shared by every tool that has the same
  parameter, so the 83k parameters of the full corpus are only ~18k strings;
- a tool context string, ``"<tool name as words>: <tool description>"``, one per tool.

A parameter's vector is ``normalize(param + context_weight * context)``: parameters that mean the
same thing in tools about the same thing come out close; a ``query`` in a weather API and a
``query`` in a recipe API do not. On ToolBench + BFCL, weight 3 with tau 0.7 gave the purest domains
among the settings measured (benchmarks/bench_domains.py); at weight 1 the shared generic parameters
pull unrelated tools together (purity 0.65-0.69 at every tau from 0.6 to 0.85).
"""

from __future__ import annotations

from agentscaler.graph.embedders import split_identifier
from agentscaler.toolspec import ToolSpec


def parameter_text(name: str, schema: dict) -> str:
    description = schema.get("description") if isinstance(schema, dict) else None
    words = split_identifier(name)
    return f"{words}: {description.strip()}" if isinstance(description, str) and description.strip() else words


def context_text(tool: ToolSpec) -> str:
    words = split_identifier(tool.name)
    return f"{words}: {tool.description.strip()}" if tool.description.strip() else words


def parameter_texts(tool: ToolSpec) -> list[str]:
    properties = tool.parameters.get("properties") or {}
    return [parameter_text(name, schema) for name, schema in properties.items()]
