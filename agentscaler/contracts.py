"""The artifacts' contracts: every table a stage writes, its Arrow schema and, where rows travel between
stages, the typed row readers get.

Writers write these schemas and readers read them; nothing restates a column list. JSON-valued fields
(calls, messages, tool lists) are JSON text in Parquet because their shapes differ from row to row;
the typed rows parse them once. ``READS`` names the columns each later stage reads from an earlier
stage's artifact, so a test can check that every one of them survives the whole pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import Any

import pyarrow as pa

from agentscaler.toolspec import ToolSpec

STRINGS = pa.list_(pa.string())

# stage 1: ingest -> tools.parquet (one ToolSpec a row; JSON fields as text, see ToolSpec.to_row)
TOOLS = pa.schema([(name, pa.string()) for name in ToolSpec.model_fields])

# stage 2: tool graph -> graph.parquet (undirected edges, src < dst) and embeddings/tools.parquet
GRAPH = pa.schema([("src", pa.string()), ("dst", pa.string()), ("weight", pa.float64())])

# stage 3: domains -> domains.parquet
DOMAINS = pa.schema([("tool_id", pa.string()), ("name", pa.string()), ("domain_id", pa.int64()),
                     ("attached", pa.bool_())])

# stage 4: environments -> envs/tools.parquet (each domain's spec: envs/domains/<id>.json, an ``envs.EnvSpec``)
ENV_TOOLS = pa.schema([("tool_id", pa.string()), ("name", pa.string()), ("domain_id", pa.int64()),
                       ("kind", pa.string()), ("executable", pa.bool_()), ("reason", pa.string())])

# stage 6: tasks -> tasks.parquet
TASKS = pa.schema([
    ("task_id", pa.string()), ("domain_id", pa.int64()), ("state_index", pa.int64()), ("intent", pa.string()),
    ("gold_calls", pa.string()), ("gold_observations", pa.string()), ("gold_hash", pa.string()),
    ("initial_hash", pa.string()), ("writes", pa.bool_()), ("tools", pa.string()), ("intent_source", pa.string()),
    ("source", pa.string()), ("seed", pa.int64()), ("split", pa.string()),
    ("outcome", pa.string()), ("scenario", pa.string()), ("policy", pa.string()),
])
SPLITS = ("train", "heldout_task", "heldout_domain")
OUTCOMES = ("complete", "refuse", "clarify", "irrelevant", "recover")
"""What a task's right answer is: reach the gold state (``complete``); change nothing and say which rule
the request breaks (``refuse``); ask the user for a value only they know, then reach the gold state
(``clarify``); make no call and say no tool serves the request (``irrelevant``); reach the gold state
after a natural first attempt fails (``recover``)."""

# stage 7: rollouts -> rollouts/part-*.parquet (and eval/<name>/rollouts/)
ROLLOUTS = pa.schema([
    ("rollout_id", pa.string()), ("task_id", pa.string()), ("domain_id", pa.int64()), ("sample_index", pa.int64()),
    ("messages", pa.string()), ("tools", pa.string()), ("final_hash", pa.string()), ("agent", pa.string()),
    ("user", pa.string()), ("status", pa.string()), ("error", pa.string()), ("num_turns", pa.int64()),
    ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()), ("num_tool_calls", pa.int64()),
    ("num_tool_errors", pa.int64()), ("user_interventions", pa.string()), ("assistant_token_ids", pa.string()),
    ("seed", pa.int64()),
])

# stage 8: filters -> filters/kept/, filters/rejected/; export -> export/train.parquet
LINEAGE = [("rollout_id", pa.string()), ("task_id", pa.string()), ("domain_id", pa.int64()),
           ("sample_index", pa.int64()), ("source", pa.string()), ("agent", pa.string()), ("user", pa.string())]
KEPT = pa.schema(LINEAGE + [
    ("filters_passed", STRINGS), ("tags", STRINGS), ("writes", pa.bool_()),
    ("messages", pa.string()), ("tools", pa.string()), ("rewards", pa.string()), ("status", pa.string()),
    ("final_hash", pa.string()), ("recomputed_hash", pa.string()), ("num_turns", pa.int64()),
    ("num_tool_calls", pa.int64()), ("num_tool_errors", pa.int64()), ("assistant_token_ids", pa.string())])
REJECTED = pa.schema(LINEAGE + [
    ("stage", pa.string()), ("reason", pa.string()), ("tags", STRINGS),
    ("final_hash", pa.string()), ("recomputed_hash", pa.string())])
EXPORT = pa.schema([("messages", pa.string()), ("tools", pa.string()), ("split", pa.string()),
                    ("rollout_id", pa.string()), ("task_id", pa.string()), ("domain_id", pa.int64()),
                    ("source", pa.string()), ("agent", pa.string()), ("user", pa.string()),
                    ("filters_passed", STRINGS), ("tags", STRINGS), ("rewards", pa.string()),
                    ("assistant_token_ids", pa.string())])

# stage 9: what the trainer sees (``agentscaler export --format tokens``)
TOKENS = pa.schema([("rollout_id", pa.string()), ("input_ids", pa.list_(pa.int32())),
                    ("labels", pa.list_(pa.int32()))])

# Columns a stage reads from an earlier stage's table: (reader, artifact) -> columns.
READS: dict[tuple[str, str], tuple[str, ...]] = {
    ("domains", "graph"): ("src", "dst", "weight"),
    ("envs", "domains"): ("tool_id", "domain_id"),
    ("tasks", "tools"): ("tool_id", "source"),
    ("tasks", "env_tools"): ("name", "domain_id", "kind", "executable"),
    ("rollouts", "tasks"): ("task_id", "domain_id", "state_index", "intent", "gold_calls", "gold_hash", "tools",
                            "split", "outcome", "scenario", "policy"),
    ("filters", "tasks"): ("task_id", "domain_id", "state_index", "gold_calls", "gold_hash", "initial_hash",
                           "writes", "source", "outcome", "scenario"),
    ("filters", "rollouts"): ("rollout_id", "task_id", "domain_id", "sample_index", "messages", "tools",
                              "final_hash", "agent", "user", "status", "error", "assistant_token_ids"),
    ("export", "kept"): ("rollout_id", "task_id", "domain_id", "source", "agent", "user", "filters_passed", "tags",
                         "writes", "messages", "tools", "rewards", "assistant_token_ids"),
    ("train", "export"): ("rollout_id", "messages", "tools", "split", "assistant_token_ids"),
}


@dataclass(frozen=True)
class Task:
    """One row of ``tasks.parquet``: a user's goal, its gold calls and the states they lead from and to."""

    task_id: str
    domain_id: int
    state_index: int
    intent: str
    gold_calls: str  # JSON text: [{"name", "arguments"}, ...]
    gold_observations: str  # JSON text: the observation of each gold call
    gold_hash: str
    initial_hash: str
    writes: bool
    tools: str  # JSON text: the OpenAI tool list the agent is offered
    intent_source: str
    source: str | None
    seed: int
    split: str
    outcome: str | None = "complete"  # one of OUTCOMES (None in runs made before outcomes existed: complete)
    scenario: str | None = None  # JSON text: the user's scenario (see ``user_scenario``)
    policy: str | None = None  # the domain's rules as the agent is told them (its system prompt), if any

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Task":
        task = cls(**{f.name: row.get(f.name) for f in fields(cls)})
        return task if task.outcome else replace(task, outcome="complete")

    def row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @cached_property
    def calls(self) -> list[dict]:
        return json.loads(self.gold_calls)

    @cached_property
    def observations(self) -> list[str]:
        return json.loads(self.gold_observations)

    @cached_property
    def tool_schemas(self) -> list[dict]:
        return json.loads(self.tools)

    @cached_property
    def user_scenario(self) -> dict[str, Any]:
        """The user's scenario, in the shape of tau2-bench's: ``reason`` (why they get in touch), ``known``
        (label -> value: what they know and say when it is needed), ``unknown`` (what they do not know),
        ``withheld`` (label -> value: what they say only when asked; ``clarify`` tasks), ``behaviour``
        and ``persona`` (how they talk), ``rule`` (``refuse`` tasks: the id of the rule the request
        breaks). {} for a task without one."""
        return json.loads(self.scenario) if self.scenario else {}

    @property
    def heldout(self) -> bool:
        return self.split.startswith("heldout")

    def in_split(self, split: str | None) -> bool:
        """Whether the task belongs to ``split``: None (all), a split's name, or "heldout" (both held-out kinds)."""
        return split is None or self.split == split or (split == "heldout" and self.heldout)
