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

from agentscaler.artifacts import write_json, write_jsonl
from agentscaler.filters.pipeline import ParquetStream, filters_dir, kept_dataset

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
    """Stream the kept set to ``out`` as a training set; returns (and writes beside the filters' report) a summary."""
    config = config or ExportConfig()
    kept = kept_dataset(run)
    wanted = (lambda r: "exact_match" in (r["tags"] or [])) if config.strict else (lambda r: True)
    vertical = set(config.vertical_domains if config.vertical_domains is not None else vertical_domains(
        [r for r in kept.to_table(columns=["domain_id", "writes", "tags"]).to_pylist() if wanted(r)],
        config.vertical_count))
    splits: Counter[str] = Counter()

    def batches():
        for batch in kept.to_batches():
            rows = []
            for r in batch.to_pylist():
                split = "vertical" if r["domain_id"] in vertical else "general"
                if wanted(r) and config.split in (None, split):
                    splits[split] += 1
                    rows.append({**{f: r[f] for f in SCHEMA.names if f in r}, "split": split,
                                 "messages": json.dumps(training_messages(r["messages"]), ensure_ascii=False)})
            yield rows

    out = Path(out)
    if config.format == "parquet":
        stream = ParquetStream(out, SCHEMA)
        for rows in batches():
            stream.write(rows)
        stream.close()
    else:
        write_jsonl((row for rows in batches() for row in rows), out)
    summary = {"config": config.model_dump(), "out": str(out), "rows": sum(splits.values()),
               "general": splits["general"], "vertical": splits["vertical"], "vertical_domains": sorted(vertical)}
    write_json(summary, filters_dir(run) / "export.json")
    return summary
