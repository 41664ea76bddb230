"""``build-envs``: one environment per domain, from the domains table to ``DIR/envs/``.

Per domain: infer the schema, render DDL, compile every tool, synthesize states, derive the domain's
policy (``envs.policy``), then *run* every compiled tool once on a synthesized state through the
simulator itself; a tool that fails there is kept with ``executable=False`` and the reason. Domains
build as Ray tasks over the cluster's nodes (they are independent and CPU-bound; the summary's ``nodes``
says where); a spec whose fingerprint matches is reused, so reruns resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from pydantic import Field

from agentscaler.artifacts import RunDir, write_json, write_table
from agentscaler.configs import StrictConfig
from agentscaler.contracts import ENV_TOOLS
from agentscaler.envs.compile import compile_tool
from agentscaler.envs.patch import packed
from agentscaler.envs.policy import derive_policy, refused_rule
from agentscaler.envs.schema import infer_schema, render_ddl
from agentscaler.envs.spec import CompiledTool, EnvSpec
from agentscaler.failures import Failure, count_codes
from agentscaler.options import config_command
from agentscaler.envs.simulator import DomainSimulator
from agentscaler.envs.synth import sample_arguments, synthesize
from agentscaler.seeding import rng_for
from agentscaler.toolspec import ToolSpec
from agentscaler.workers import map_jobs, node_ids

BUILD_VERSION = 44  # bump when the compiler's output changes, so reruns rebuild
KINDS = ("read", "create", "update", "delete")
CHECK_ATTEMPTS = 5  # rows tried before a tool is declared broken (a delete may hit a referenced row)


def load_env(run: str | os.PathLike | RunDir, domain_id: int) -> EnvSpec:
    """The environment of one domain (the reader of ``envs/domains/<id>.json``)."""
    run = RunDir(run)
    return EnvSpec.load(run.require(run.env_spec(domain_id)))


def build_domain(domain_id: int, tools: list[ToolSpec], *, states: int = 3, rows: int = 10, seed: int = 0,
                 fingerprint: str = "") -> EnvSpec:
    """The environment of one domain, every tool checked by execution."""
    tables, drafts = infer_schema(_unique_names(tools))
    by_name = {t.name: t for t in tables}
    spec = EnvSpec(domain_id=domain_id, fingerprint=fingerprint, tables=tables, ddl=render_ddl(tables),
                   tools=[compile_tool(d, by_name) for d in drafts], seed=seed,
                   states=[synthesize(tables, rows, seed, domain_id, i) for i in range(states)])
    spec.policy = derive_policy(spec)
    try:
        sim = DomainSimulator(spec)
        spec.state_hashes = [sim.reset(i) for i in range(states)]
    except sqlite3.Error as e:
        for tool in spec.tools:
            tool.executable, tool.reason = False, str(Failure("schema_rejected", f"SQLite refused the schema: {e}"))
        spec.policy = None
        return spec
    for tool in spec.tools:
        if tool.executable and spec.states:
            check_tool(sim, spec, tool, rng_for(seed, domain_id, tool.name))
    spec.policy = derive_policy(spec)  # again: its rules name only the tools that passed their check
    return spec


def _unique_names(tools: list[ToolSpec]) -> list[ToolSpec]:
    """Agents call tools by name, so a domain's names must differ: later duplicates get ``_2``, ``_3``..."""
    seen: Counter[str] = Counter()
    unique = []
    for tool in tools:
        seen[tool.name] += 1
        n = seen[tool.name]
        unique.append(tool if n == 1 else tool.model_copy(update={"name": f"{tool.name}_{n}"}))
    return unique


def check_tool(sim: DomainSimulator, spec: EnvSpec, tool: CompiledTool, rng) -> None:
    """Call ``tool`` on state 0 with arguments taken from up to CHECK_ATTEMPTS rows; mark it broken if all fail.
    A call the domain's policy refuses says nothing about the tool: if every try is refused, the tool stays."""
    table = spec.table(tool.table)
    failed = None
    for row in _rows_to_try(spec, tool):
        args = sample_arguments(tool.operation.bindings, table, spec.states[0], row, rng)
        replay = sim.replay(0, [{"name": tool.name, "arguments": packed(tool, args)}])
        error = replay.first("call_failed")
        if error is None:
            return
        if refused_rule(replay.observations[0].observation) is None:
            failed = error
    if failed is not None:
        tool.executable, tool.reason = False, str(Failure("failed_when_executed", failed.detail))


def _rows_to_try(spec: EnvSpec, tool) -> list[int]:
    """Row indices of state 0 for the check. A delete tries the rows nothing references first: a restricting
    foreign key rightly refuses to delete a referenced row, which says nothing about the tool."""
    state = spec.states[0]
    rows = state.get(tool.table) or []
    if tool.kind != "delete" or not rows:
        return list(range(CHECK_ATTEMPTS))
    referenced: dict[str, set] = {}  # parent column -> the values some child row holds
    for child in spec.tables:
        names = [c.name for c in child.columns]
        for fk in child.foreign_keys:
            if fk.table == tool.table and fk.on_delete is None:
                at = names.index(fk.column)
                referenced.setdefault(fk.ref_column, set()).update(row[at] for row in state.get(child.name) or [])
    position = {c.name: i for i, c in enumerate(spec.table(tool.table).columns)}
    return sorted(range(len(rows)), key=lambda i: any(
        rows[i][position[column]] in values for column, values in referenced.items()))[:CHECK_ATTEMPTS]


def _fingerprint(tool_ids: list[str], **options: Any) -> str:
    text = json.dumps([BUILD_VERSION, sorted(tool_ids), options], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _build_one(path: Path, domain_id: int, tools: list[ToolSpec], options: dict) -> tuple[list[dict], dict]:
    """Build (or reuse) one domain's spec file; return its tool rows and its summary."""
    fingerprint = _fingerprint([t.tool_id for t in tools], **options)
    spec = EnvSpec.load(path) if path.exists() else None
    if spec is None or spec.fingerprint != fingerprint:
        spec = build_domain(domain_id, tools, fingerprint=fingerprint, **options)
        spec.save(path)
    rows = [{"tool_id": t.tool_id, "name": t.name, "domain_id": domain_id, "kind": t.kind,
             "executable": t.executable, "reason": t.reason} for t in spec.tools]
    kinds = Counter(t.kind for t in spec.tools)
    executable = sum(t.executable for t in spec.tools)
    rules = Counter(r.kind for r in spec.policy.rules) if spec.policy else Counter()
    summary = {"domain_id": domain_id, "tools": len(spec.tools), "entities": [t.entity for t in spec.tables],
               "tables": len(spec.tables), "kinds": {k: kinds.get(k, 0) for k in KINDS},
               "executable": executable, "executable_rate": round(executable / max(len(spec.tools), 1), 4),
               "writes": any(t.executable and t.kind != "read" for t in spec.tools), "rules": dict(rules)}
    return rows, summary


class EnvConfig(StrictConfig):
    """Settings of the environment stage; each is a flag of ``agentscaler build-envs``."""

    states: int = Field(3, description="Synthesized initial states per domain.")
    rows: int = Field(10, description="Rows per table in each synthesized state.")
    seed: int = Field(0, description="Seed of the state synthesis: the same seed reproduces the states.")


def build_envs(run: str | os.PathLike | RunDir, config: EnvConfig | None = None, *, workers: int | None = None,
               progress: bool = False, **settings: Any) -> dict[str, Any]:
    """Build every domain's environment; writes envs/domains/*.json, envs/tools.parquet, envs/summary.json.
    ``settings``: EnvConfig fields, for a call without a config object (``build_envs(run, rows=3)``)."""
    run = RunDir(run)
    config = config or EnvConfig(**settings)
    started = time.perf_counter()
    tools = {t.tool_id: t for t in run.read_tools()}
    members: dict[int, dict[str, ToolSpec]] = {}
    missing = 0
    for row in pq.read_table(run.require(run.domains), columns=["tool_id", "domain_id"]).to_pylist():
        if row["tool_id"] in tools:
            members.setdefault(int(row["domain_id"]), {})[row["tool_id"]] = tools[row["tool_id"]]
        else:
            missing += 1
    options = config.model_dump()
    jobs = [(run.env_spec(d), d, list(m.values()), options) for d, m in sorted(members.items())]
    results, nodes = map_jobs(_build_one, jobs, workers, "building environments" if progress else None)
    tool_rows = [r for rows_, _ in results for r in rows_]
    domains = [s for _, s in results]
    write_table(pa.Table.from_pylist(tool_rows, schema=ENV_TOOLS), run.env_tools)
    kinds = Counter({k: sum(d["kinds"][k] for d in domains) for k in KINDS})
    executable = sum(r["executable"] for r in tool_rows)
    reasons = count_codes(r["reason"] for r in tool_rows)
    summary = {
        "totals": {"domains": len(domains), "tools": len(tool_rows), "executable": executable,
                   "executable_rate": round(executable / max(len(tool_rows), 1), 4), "kinds": dict(kinds),
                   "tables": sum(d["tables"] for d in domains), "tools_missing_from_tools_parquet": missing,
                   "reasons": dict(reasons.most_common(10)), "policy": _policy_totals(domains),
                   "seconds": round(time.perf_counter() - started, 2), **options},
        "config": options,
        "nodes": node_ids(nodes),
        "domains": domains,
    }
    write_json(summary, run.envs_summary)
    return summary


def _policy_totals(domains: list[dict]) -> dict[str, Any]:
    """How many write domains have a policy, and their rules: the issue's target is >=90% and >=2 on average."""
    writing = [d for d in domains if d["writes"]]
    by_kind = sum((Counter(d["rules"]) for d in writing), Counter())
    return {"write_domains": len(writing), "with_policy": sum(bool(d["rules"]) for d in writing),
            "share_with_policy": round(sum(bool(d["rules"]) for d in writing) / max(len(writing), 1), 4),
            "rules_per_write_domain": round(sum(by_kind.values()) / max(len(writing), 1), 2),
            "rules_by_kind": dict(sorted(by_kind.items()))}


@config_command(EnvConfig)
def build_envs_command(
    config: EnvConfig,
    run: Path = typer.Option(..., "--run", help="Run directory holding tools.parquet and domains.parquet."),
    workers: int = typer.Option(0, help="Domains built at once (0: as many as the cluster's CPUs; 1: in this "
                                        "process, without Ray)."),
) -> None:
    """Build a simulated, database-backed environment for every domain (stage 4)."""
    totals = build_envs(run, config, workers=workers or None, progress=True)["totals"]
    typer.echo(json.dumps(totals, indent=2))
