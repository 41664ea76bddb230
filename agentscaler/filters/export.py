"""``export``: the kept trajectories as a training set, in the chat format transformers and TRL take.

Each row: ``messages`` (system / user / assistant with ``tool_calls`` / ``tool`` turns; call arguments
as JSON objects, the form transformers' chat templates document, which Qwen3's renders as JSON) and
``tools`` (the OpenAI tool list), both JSON text so any argument shape fits one Arrow type; ``split``
(general / vertical); lineage (rollout, task, domain, source corpus, agent and user models, filters
passed, tags), per-call ``rewards`` (JSON text, see ``filters.rewards``) and the token ids the agent
generated (``assistant_token_ids``, JSON text, where the rollout kept them: the trainer uses them
instead of re-tokenizing). The columns are ``contracts.EXPORT``.

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

from pydantic import Field

from agentscaler.artifacts import ParquetStream, RunDir, write_json, write_jsonl
from agentscaler.configs import StrictConfig
from agentscaler.contracts import EXPORT


class ExportConfig(StrictConfig):
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


def export_training_set(run: str | os.PathLike | RunDir, out: str | os.PathLike | None = None,
                        config: ExportConfig | None = None) -> dict:
    """Stream the kept set to ``out`` as a training set; returns (and writes beside the filters' report) a summary.

    ``out``: by default the run's ``export/train.parquet`` (``train.jsonl`` for the jsonl format)."""
    run, config = RunDir(run), config or ExportConfig()
    kept = run.kept_dataset()
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
                    rows.append({**{f: r[f] for f in EXPORT.names if f in r}, "split": split,
                                 "messages": json.dumps(training_messages(r["messages"]), ensure_ascii=False)})
            yield rows

    out = Path(out) if out is not None else run.export.with_suffix(f".{config.format}")
    if config.format == "parquet":
        stream = ParquetStream(out, EXPORT)
        for rows in batches():
            stream.write(rows)
        stream.close()
    else:
        write_jsonl((row for rows in batches() for row in rows), out)
    summary = {"config": config.model_dump(), "out": str(out), "rows": sum(splits.values()),
               "general": splits["general"], "vertical": splits["vertical"], "vertical_domains": sorted(vertical)}
    write_json(summary, run.export_summary)
    return summary
