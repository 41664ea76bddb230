"""``export``: the kept trajectories as a training set, in the chat format transformers and TRL take.

Each row: ``messages`` (system / user / assistant with ``tool_calls`` / ``tool`` turns; call arguments
as JSON objects, the form transformers' chat templates document, which Qwen3's renders as JSON) and
``tools`` (the OpenAI tool list), both JSON text so any argument shape fits one Arrow type; ``split``
(general / vertical); lineage (rollout, task, domain, source corpus, agent and user models, filters
passed, tags) and per-call ``rewards`` (JSON text, see ``filters.rewards``).

Vertical domains are the stage-2 training domains (DESIGN.md, training). They are named with
``vertical_domains``; by default they are the ``vertical_count`` domain(s) with the most kept
*write* trajectories (ties to the lower id): the domains where the agent has the most verified
state-changing experience are the ones a specialist is worth training on. Every other domain is
general.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, Field

from agentscaler.artifacts import write_json, write_jsonl, write_table
from agentscaler.filters.pipeline import filters_dir, read_kept

SCHEMA = pa.schema([("messages", pa.string()), ("tools", pa.string()), ("split", pa.string()),
                    ("rollout_id", pa.string()), ("task_id", pa.string()), ("domain_id", pa.int64()),
                    ("source", pa.string()), ("agent", pa.string()), ("user", pa.string()),
                    ("filters_passed", pa.list_(pa.string())), ("tags", pa.list_(pa.string())),
                    ("rewards", pa.string())])


class ExportConfig(BaseModel):
    format: Literal["parquet", "jsonl"] = Field("parquet", description="Output format.")
    split: Literal["general", "vertical"] | None = Field(None, description="Export only this split (None: both).")
    vertical_domains: list[int] | None = Field(
        None, description="Vertical (stage-2) domain ids; None: the vertical_count domains with most kept writes.")
    vertical_count: int = Field(1, description="How many domains are vertical when vertical_domains is not given.")
    strict: bool = Field(False, description="Only trajectories tagged exact_match (the strict split).")


def training_messages(text: str) -> list[dict]:
    """The row's messages with each call's arguments as a JSON object instead of JSON text."""
    messages = json.loads(text)
    for m in messages:
        for call in m.get("tool_calls") or []:
            fn = call["function"]
            if isinstance(fn.get("arguments"), str):
                fn["arguments"] = json.loads(fn["arguments"] or "{}")
    return messages


def vertical_domains(rows: list[dict], count: int) -> list[int]:
    """The ``count`` domains with the most kept write trajectories (ties to the lower id)."""
    writes = Counter(r["domain_id"] for r in rows if r["writes"])
    return sorted(sorted(writes, key=lambda d: (-writes[d], d))[:count])


def export_training_set(run: str | os.PathLike, out: str | os.PathLike, config: ExportConfig | None = None) -> dict:
    """Write the training set to ``out``; returns (and writes beside the filters' report) a summary."""
    config = config or ExportConfig()
    kept = read_kept(run).to_pylist()
    if config.strict:
        kept = [r for r in kept if "exact_match" in (r["tags"] or [])]
    vertical = set(config.vertical_domains if config.vertical_domains is not None
                   else vertical_domains(kept, config.vertical_count))
    rows = []
    for r in kept:
        split = "vertical" if r["domain_id"] in vertical else "general"
        if config.split in (None, split):
            rows.append({**{f: r[f] for f in SCHEMA.names if f in r}, "split": split,
                         "messages": json.dumps(training_messages(r["messages"]), ensure_ascii=False)})
    out = Path(out)
    if config.format == "parquet":
        write_table(pa.Table.from_pylist(rows, schema=SCHEMA), out)
    else:
        write_jsonl(rows, out)
    splits = Counter(r["split"] for r in rows)
    summary = {**config.model_dump(), "out": str(out), "rows": len(rows), "general": splits["general"],
               "vertical": splits["vertical"], "vertical_domains": sorted(vertical)}
    write_json(summary, filters_dir(run) / "export.json")
    return summary
