"""Every artifact a pipeline run writes has its contract's schema, and every column a later stage reads
survives every earlier stage (``contracts.READS``)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from agentscaler import contracts
from agentscaler.artifacts import RunDir
from agentscaler.envs import load_env
from agentscaler.graph import GraphConfig
from agentscaler.pipeline import PipelineConfig, run_pipeline
from agentscaler.tasks import TaskConfig


@pytest.fixture(scope="module")
def run(tmp_path_factory, ray_session) -> RunDir:
    """The embedded sample through every stage (the hashing embedder and fewer tasks, for speed)."""
    out = tmp_path_factory.mktemp("contracts")
    config = PipelineConfig(graph=GraphConfig(embedder="hashing"), tasks=TaskConfig(per_domain=2))
    reports = run_pipeline(out, config=config)
    assert reports["export"]["rows"] > 0
    return RunDir(out)


def artifact_schemas(run: RunDir) -> dict[str, tuple]:
    """artifact name (as in READS) -> (its file or directory, its contract's schema)."""
    return {"tools": (run.tools, contracts.TOOLS), "graph": (run.graph, contracts.GRAPH),
            "domains": (run.domains, contracts.DOMAINS), "env_tools": (run.env_tools, contracts.ENV_TOOLS),
            "tasks": (run.tasks, contracts.TASKS), "rollouts": (run.rollouts, contracts.ROLLOUTS),
            "kept": (run.kept, contracts.KEPT), "rejected": (run.rejected, contracts.REJECTED),
            "export": (run.export, contracts.EXPORT)}


def written_schema(path):
    shards = sorted(path.glob("part-*.parquet")) if path.is_dir() else [path]
    schemas = {pq.read_schema(shard).remove_metadata() for shard in shards}
    assert len(schemas) == 1, f"{path}: shards of different schemas"
    return schemas.pop()


def test_every_table_has_its_contracts_schema(run):
    for name, (path, schema) in artifact_schemas(run).items():
        assert written_schema(path) == schema, name


def test_every_column_a_later_stage_reads_survives(run):
    schemas = {name: written_schema(path) for name, (path, _) in artifact_schemas(run).items()}
    missing = {pair: [c for c in columns if c not in schemas[pair[1]].names]
               for pair, columns in contracts.READS.items()}
    assert {pair: columns for pair, columns in missing.items() if columns} == {}


def test_typed_rows_read_back(run):
    tasks = run.read_tasks()
    assert tasks and all(isinstance(t, contracts.Task) for t in tasks)
    assert {t.task_id for t in run.read_tasks("train")} | {t.task_id for t in run.read_tasks("heldout")} == {
        t.task_id for t in tasks}
    task = tasks[0]
    assert contracts.Task.from_row(task.row()) == task and task.calls
    spec = load_env(run, task.domain_id)
    assert spec.state_hashes[task.state_index] == task.initial_hash


def test_a_whole_float_is_its_integer_in_every_stage():
    """3.0 and 3 are one value wherever values are compared, keyed or said: the task checker, the policy's keys,
    the filters' canonical calls and the plan's scalars all go through ``toolspec.integral``."""
    from agentscaler.envs import key_text
    from agentscaler.filters.trajectory import normalize
    from agentscaler.tasks import said
    from agentscaler.tasks.plan import scalars
    from agentscaler.toolspec import integral, value_text

    assert integral(3.0) == 3 and type(integral(3.0)) is int and integral(3.5) == 3.5 and integral(True) is True
    assert value_text(3.0) == "3" and value_text("3.0") == "3.0" and value_text(True) == "true"
    assert value_text(["pen", 2.0, "ink"]) == "pen, 2 and ink" and value_text([]) == "[]" and value_text({}) == "{}"
    tags = [{"Key": "team", "Value": "billing"}, {"Key": "env"}]
    assert value_text(tags) == "Key team, Value billing; Key env"
    assert said("Tag it Key team, Value billing; Key env please.", tags) and not said("Key team", tags)
    assert said("order 3 please", 3.0) and not said("order 3.5 please", 3.0) and not said("order 33", 3)
    assert key_text(7.0) == key_text(7) == key_text("7") == "7"
    assert normalize({"n": 2.0, "m": [4.0, " x "]}) == {"n": 2, "m": [4, "x"]}
    assert scalars(9.0) == scalars(9) == scalars("9") == {"9"}
