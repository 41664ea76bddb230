"""Do the domains recover real API families? ARI and purity on labelled sets the defaults never saw.

    python benchmarks/bench_partition.py --work /tmp/bench-partition
    python benchmarks/bench_partition.py --work /tmp/bench-partition --variant before:neighbours=0 \
        --variant default: --variant k8:neighbours=8 --sets small-openapi,large-openapi --draws 3

Labelled sets are drawn from the shared corpora, several random draws each:

- ``small-openapi`` / ``small-toolbench`` / ``small-mixed``: 10 families of 8-25 operations each
  (an OpenAPI spec file is one family, a ToolBench tool is one family; mixed: 5 + 5), ~150 tools,
  the size of a user's own API set.
- ``large-openapi``: 30 specs of 5-80 operations (~700 tools); ``large-toolbench``: 100 ToolBench
  tools of 5-80 APIs (~1,500).

Every family is anonymised as in the held-out checks: its name (API title, provider, ToolBench tool
name) is removed from descriptions and tool names (``..._for_<tool>``), HTTP method and path, toolkit
and category are dropped. Each set is written as a run directory (an embedding cache is
copied between them)
and goes through ``build_graph`` + ``build_domains`` with each variant's settings: a variant is
``name:field=value,...`` over GraphConfig and DomainConfig fields; ``default:`` is the defaults.
Printed per set and variant: ARI against the families, family purity (share of tools whose domain's
majority family is their own), domains of >= 3 tools, share of tools attached, and the mean per variant.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import time
from pathlib import Path

SETS = {  # name: (families from openapi, families from toolbench, smallest family, largest family)
    "small-openapi": (10, 0, 8, 25),
    "small-toolbench": (0, 10, 8, 25),
    "small-mixed": (5, 5, 8, 25),
    "large-openapi": (30, 0, 5, 80),
    "large-toolbench": (0, 100, 5, 80),
}
CORPORA = {"openapi": Path("/work/shared/data/openapi"), "toolbench": Path("/work/shared/data/toolbench")}


def families(work: Path, corpus: str) -> dict[str, list]:
    """Tools of one corpus grouped by family (spec file or ToolBench tool), ingesting it once."""
    from agentscaler.artifacts import RunDir
    from agentscaler.ingest import ingest

    run = RunDir(work / f"corpus-{corpus}")
    if not run.tools.exists():
        ingest([CORPORA[corpus]], run.path)
    groups: dict[str, list] = {}
    for tool in run.read_tools():
        groups.setdefault(tool.source_file.split(":")[0] if corpus == "openapi" else tool.toolkit, []).append(tool)
    return groups


def family_words(family: str, tools: list) -> set[str]:
    """Words naming a family: its spec's provider and API title, or its ToolBench tool name."""
    names = {tools[0].toolkit or ""} | ({Path(family).parent.name} if "/" in family else {family})
    return {w for name in names for w in re.findall(r"[a-z0-9]+", name.lower()) if len(w) > 2}


def anonymise(tool, words: set[str], toolbench_slug: str | None):
    from agentscaler.toolspec import ToolSpec

    name = tool.name
    if toolbench_slug and name.endswith("_for_" + toolbench_slug):
        name = name[: -len("_for_" + toolbench_slug)] or name
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(words))) + r")\b", re.I) if words else None
    description = re.sub(r"\s+", " ", pattern.sub("", tool.description)).strip() if pattern else tool.description
    return ToolSpec.build(name=name, description=description, parameters=tool.parameters, returns=tool.returns,
                          source=tool.source)


def draw_set(name: str, draw: int, pools: dict[str, dict[str, list]]) -> tuple[list, list[str]]:
    """One random draw of a labelled set: (anonymised tools, family label per tool)."""
    n_openapi, n_toolbench, low, high = SETS[name]
    rng = random.Random(f"{name}/{draw}")
    tools, labels, seen = [], [], set()
    for corpus, count in (("openapi", n_openapi), ("toolbench", n_toolbench)):
        eligible = sorted(f for f, members in pools.get(corpus, {}).items() if f and low <= len(members) <= high)
        for family in rng.sample(eligible, count):
            members = pools[corpus][family]
            slug = members[0].name.rsplit("_for_", 1)[-1] if corpus == "toolbench" else None
            for tool in members:
                spec = anonymise(tool, family_words(family, members), slug)
                if spec.tool_id not in seen:
                    seen.add(spec.tool_id)
                    tools.append(spec)
                    labels.append(family)
    return tools, labels


def parse_variant(text: str) -> tuple[str, dict, dict]:
    from agentscaler.domains import DomainConfig
    from agentscaler.graph import GraphConfig

    name, _, assignments = text.partition(":")
    graph, domains = {}, {}
    for assignment in filter(None, assignments.split(",")):
        field, _, value = assignment.partition("=")
        target = graph if field in GraphConfig.model_fields else domains if field in DomainConfig.model_fields else None
        if target is None:
            raise SystemExit(f"unknown setting {field!r} in variant {text!r}")
        target[field] = json.loads(value) if value[:1].isdigit() or value in ("true", "false") else value
    return name, graph, domains


def score(run_dir: Path, tools: list, labels: list[str], graph: dict, domains: dict, embedder: str) -> dict:
    import pyarrow.parquet as pq
    from sklearn.metrics import adjusted_rand_score

    from agentscaler.artifacts import RunDir
    from agentscaler.domains import DomainConfig, build_domains
    from agentscaler.domains.quality import category_purity
    from agentscaler.graph import GraphConfig, build_graph

    import numpy as np

    started = time.perf_counter()
    build_graph(run_dir, GraphConfig(**{"embedder": embedder, **graph}))
    summary = build_domains(run_dir, DomainConfig(**domains))
    table = pq.read_table(RunDir(run_dir).domains)
    domain_of = dict(zip(table["tool_id"].to_pylist(), table["domain_id"].to_pylist()))
    attached = sum(table["attached"].to_pylist())
    predicted = np.asarray([domain_of[tool.tool_id] for tool in tools])
    return {"ari": adjusted_rand_score(labels, predicted), "purity": category_purity(predicted, labels),
            "domains": summary["domains_with_at_least_3_tools"], "attached": attached / len(tools),
            "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="Ingested corpora, set run dirs, embedding cache.")
    parser.add_argument("--sets", default=",".join(SETS), help="Comma-separated set names.")
    parser.add_argument("--draws", type=int, default=3, help="Random draws of each set.")
    parser.add_argument("--variant", action="append", help="name:field=value,... (default: before and default).")
    parser.add_argument("--embedder", default="minilm")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    from agentscaler.artifacts import RunDir, write_table

    import pyarrow as pa

    ray.init(include_dashboard=False, log_to_driver=False)
    variants = [parse_variant(v) for v in (args.variant or ["before:neighbours=0", "default:"])]
    set_names = args.sets.split(",")
    needed = {c for s in set_names for c, n in zip(("openapi", "toolbench"), SETS[s][:2]) if n}
    pools = {corpus: families(args.work, corpus) for corpus in sorted(needed)}
    cache = args.work / "embeddings"
    cache.mkdir(parents=True, exist_ok=True)
    totals: dict[str, list[dict]] = {}
    print(f"{'set':<16}{'draw':>5}{'tools':>6}{'fams':>5}  {'variant':<12}{'ARI':>6}{'purity':>7}{'domains':>8}"
          f"{'attached':>9}{'s':>6}", flush=True)
    for set_name in set_names:
        for draw in range(args.draws):
            tools, labels = draw_set(set_name, draw, pools)
            run = RunDir(args.work / "sets" / f"{set_name}-{draw}")
            if run.embeddings.is_symlink():
                run.embeddings.unlink()
            shutil.copytree(cache, run.embeddings, dirs_exist_ok=True)  # strings other sets embedded
            write_table(pa.Table.from_pylist([t.to_row() for t in tools]), run.tools)
            for name, graph, domains in variants:
                result = score(run.path, tools, labels, graph, domains, args.embedder)
                totals.setdefault(name, []).append(result)
                print(f"{set_name:<16}{draw:>5}{len(tools):>6}{len(set(labels)):>5}  {name:<12}{result['ari']:>6.3f}"
                      f"{result['purity']:>7.3f}{result['domains']:>8}{result['attached']:>9.3f}"
                      f"{result['seconds']:>6.1f}", flush=True)
            for cached in run.embeddings.glob("cache-*.parquet"):
                shutil.copy2(cached, cache / cached.name)
    for name, results in totals.items():
        mean = {k: round(sum(r[k] for r in results) / len(results), 3) for k in ("ari", "purity", "attached")}
        print(json.dumps({"variant": name, "sets": len(results), **mean}), flush=True)


if __name__ == "__main__":
    main()
