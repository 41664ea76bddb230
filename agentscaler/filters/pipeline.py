"""The filter pipeline: rollouts -> validity -> outcome -> state alignment -> exact match -> dedup, streaming on
Ray Data.

    from agentscaler.filters import run_filters
    report = run_filters("runs/demo")                  # reads runs/demo/rollouts/*.parquet
    report = run_filters("runs/demo", "x.jsonl")        # or trajectories from elsewhere, matched by task_id

The four filters are fused ``map_batches`` transforms (each also usable on its own, see
``filter_dataset``), followed by the dedup signatures; rows stream to the driver in input order
(``preserve_order``, so which copy dedup keeps is deterministic), where the dedup index decides and
each row is written to ``DIR/filters/kept/`` or ``DIR/filters/rejected/`` as it arrives. Nothing
holds the whole set in memory except the dedup index (a hash and a 64-int signature per kept row).
The transforms run on every node of the cluster; each batch carries the node it was filtered on
(``NODE``, never written), which the report's ``nodes`` lists. A task lost with its node is run
again by Ray Data, so every trajectory still arrives once.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.compute as pc

from agentscaler.artifacts import ParquetStream, RunDir, atomic, write_json
from agentscaler.console import init_ray
from agentscaler.contracts import KEPT, REJECTED
from agentscaler.filters.alignment import StateAlignment
from agentscaler.filters.config import FilterConfig
from agentscaler.filters.dedup import DedupIndex, DedupKeys
from agentscaler.filters.exact import ExactMatch
from agentscaler.filters.outcome import OutcomeCheck
from agentscaler.filters.report import Funnel
from agentscaler.filters.stage import STATUS_TYPES, column, count, with_columns
from agentscaler.filters.validity import Validity
from agentscaler.workers import current_node, node_ids

NODE = "ray_node"  # the column that says where a batch was filtered


def read_trajectories(run: RunDir, input: str | os.PathLike | None = None):
    """The run's ``rollouts/*.parquet``, or JSON lines in the rollouts' row format."""
    import ray.data

    if input is not None:
        return ray.data.read_json(str(input), lines=True)
    return ray.data.read_parquet(str(run.require(run.rollouts)), file_extensions=["parquet"])


def judges(run: str | os.PathLike | RunDir) -> tuple:
    """The filters that judge a trajectory against its task, in order (evaluation judges through them too)."""
    return OutcomeCheck(run), StateAlignment(run), ExactMatch(run)


def filter_dataset(ds, run: str | os.PathLike | RunDir, config: FilterConfig | None = None):
    """The four filters, in order, then the dedup signatures and the ``NODE`` column, as lazy Ray Data
    transforms of ``ds``."""
    config = config or FilterConfig()
    options = {"batch_format": "pyarrow", "batch_size": config.batch_size, "udf_modifying_row_count": False}
    for stage in (Validity(config), *judges(run), DedupKeys(config), _with_node):
        ds = ds.map_batches(stage, **options)
    return ds


def _with_node(batch: pa.Table) -> pa.Table:
    """The batch with the Ray node it was filtered on (the transforms fuse into one task, so one node)."""
    return batch.append_column(NODE, pa.array([current_node()] * batch.num_rows, pa.string()))


@contextmanager
def _streaming_context(block_bytes: int):
    """Ray Data settings for the run, restored after: rows in input order (so dedup is deterministic) and
    small blocks (a single large rollouts file still spreads over every CPU)."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    saved = ctx.execution_options.preserve_order, ctx.target_max_block_size
    ctx.execution_options.preserve_order, ctx.target_max_block_size = True, block_bytes
    try:
        yield
    finally:
        ctx.execution_options.preserve_order, ctx.target_max_block_size = saved


def run_filters(run: str | os.PathLike | RunDir, input: str | os.PathLike | None = None,
                config: FilterConfig | None = None) -> dict:
    """Filter the run's trajectories (or ``input``'s) into ``filters/kept`` and ``filters/rejected``; returns
    the report (also written to ``filters/report.json``)."""
    run, config = RunDir(run), config or FilterConfig()
    run.require(run.tasks)  # here, not as an error inside a Ray worker
    init_ray()
    started = time.perf_counter()
    funnel, index, nodes = Funnel(), DedupIndex(config), set()
    with atomic(run.kept) as kept_dir, atomic(run.rejected) as rejected_dir:
        writers = {"kept": ParquetStream(kept_dir / "part-00000.parquet", KEPT),
                   "rejected": ParquetStream(rejected_dir / "part-00000.parquet", REJECTED)}
        with _streaming_context(config.block_bytes):
            batches = filter_dataset(read_trajectories(run, input), run, config).iter_batches(
                batch_format="pyarrow", batch_size=None)
            for batch in batches:
                nodes.update(column(batch, NODE))
                stages, reasons, passed = (column(batch, name) for name in ("stage", "reason", "filters_passed"))
                ids, exact, blocks, minhash = (column(batch, name) for name in (
                    "rollout_id", "exact_key", "dedup_block", "minhash"))
                kept = duplicates = 0
                for i, stage in enumerate(stages):
                    if stage is None:
                        reason = index.check(ids[i], exact[i], blocks[i], minhash[i])
                        if reason:
                            stages[i], reasons[i] = "dedup", reason
                            duplicates += 1
                        else:
                            passed[i] = [*passed[i], "dedup"]
                            kept += 1
                count("dedup", kept, duplicates)
                batch = with_columns(batch, {"stage": stages, "reason": reasons, "filters_passed": passed},
                                     STATUS_TYPES)
                for row in zip(column(batch, "domain_id"), stages, reasons, column(batch, "tags")):
                    funnel.add(*row)
                is_kept = pc.is_null(batch["stage"])
                writers["kept"].write(batch.filter(is_kept))
                writers["rejected"].write(batch.filter(pc.invert(is_kept)))
        for writer in writers.values():
            writer.close()
    seconds = time.perf_counter() - started
    report = {**funnel.report(), "seconds": round(seconds, 3),
              "trajectories_per_s": round(funnel.entered["validity"] / max(seconds, 1e-9), 1),
              "input_path": str(input) if input else str(run.rollouts), "nodes": node_ids(nodes),
              "config": config.model_dump()}
    write_json(report, run.filter_report)
    return report
