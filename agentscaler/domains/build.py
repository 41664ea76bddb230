"""Stage 3 over a run directory: ``graph.parquet`` + tool vectors -> ``domains.parquet`` + summary."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from agentscaler.artifacts import RunDir, write_json, write_table
from agentscaler.contracts import DOMAINS
from agentscaler.domains.partition import DomainConfig, partition
from agentscaler.domains.quality import summarize
from agentscaler.graph import read_tool_vectors


def build_domains(run_dir, config: DomainConfig | None = None) -> dict:
    """Partition the run's tool graph; writes ``domains.parquet`` and ``domains_summary.json``."""
    config = config or DomainConfig()
    run = RunDir(run_dir)
    tools = sorted(run.read_tools(), key=lambda tool: tool.tool_id)  # the graph stage's order
    tool_ids, vectors = read_tool_vectors(run)
    if tool_ids != [tool.tool_id for tool in tools]:
        raise ValueError(f"{run.embeddings} does not match {run.tools}: rerun `agentscaler graph`")
    row_of = {tool_id: row for row, tool_id in enumerate(tool_ids)}
    graph = pq.read_table(run.require(run.graph))
    edges = (np.fromiter((row_of[t] for t in graph["src"].to_pylist()), dtype=np.int64, count=graph.num_rows),
             np.fromiter((row_of[t] for t in graph["dst"].to_pylist()), dtype=np.int64, count=graph.num_rows),
             graph["weight"].to_numpy())
    started = time.perf_counter()
    apis = [f"{tool.source}:{tool.toolkit}" if tool.toolkit else None for tool in tools]
    domain_id, attached, nx_graph = partition(len(tools), edges, vectors, config, apis)
    seconds = time.perf_counter() - started
    write_table(pa.table({"tool_id": tool_ids, "name": [tool.name for tool in tools],
                          "domain_id": domain_id, "attached": attached}, schema=DOMAINS), run.domains)
    summary = {"config": config.model_dump(), "seconds_partition": round(seconds, 2),
               **summarize(domain_id, attached, nx_graph, vectors, [tool.category for tool in tools],
                           config.min_size)}
    write_json(summary, run.domains_summary)
    return summary


def domain_tools(run_dir, domain: int) -> list[dict]:
    """The tools of one domain, for ``agentscaler domains --show``."""
    run = RunDir(run_dir)
    table = pq.read_table(run.require(run.domains), filters=[("domain_id", "=", domain)])
    wanted = set(table["tool_id"].to_pylist())
    attached = dict(zip(table["tool_id"].to_pylist(), table["attached"].to_pylist()))
    return [{"tool_id": t.tool_id, "name": t.name, "category": t.category, "attached": attached[t.tool_id],
             "description": t.description} for t in run.read_tools() if t.tool_id in wanted]
