"""The learning loop end to end on a very small scale: teacher rollouts -> filters -> export -> two-stage
SFT on Ray Train -> eval of the trained checkpoint as the rollout agent (through transformers); and what
``benchmarks/bench_learning_loop_real.py`` relies on: no held-out task or domain in its training rows, its slice
of the real corpora, its per-outcome behaviour counts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from envs_helpers import make_run, shop_tools

from agentscaler.artifacts import read_rows, read_shards
from agentscaler.envs import build_envs
from agentscaler.evaluate import EvalConfig, evaluate
from agentscaler.filters import ExportConfig, export_training_set, run_filters
from agentscaler.llm.tiny import build_tiny_model
from agentscaler.rollouts import RolloutConfig, run_rollouts
from agentscaler.tasks import TaskConfig, build_tasks
from agentscaler.train import load_preset, train_stages

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))  # the benchmarks are scripts
from bench_learning_loop_real import behaviour, check_split, corpus_slice  # noqa: E402
from learning_loop import eval_tasks  # noqa: E402


@pytest.mark.slow
def test_teacher_data_trains_a_checkpoint_that_plays_the_heldout_tasks(tmp_path, ray_session):
    run = make_run(tmp_path / "run", [shop_tools(), shop_tools()[:4], shop_tools()[1:]])
    build_envs(run, states=8, rows=10, workers=1)
    build_tasks(run, TaskConfig(per_domain=8, seed=1, heldout_tasks=0.25, heldout_domains=0), workers=1)
    run_rollouts(run, config=RolloutConfig(samples=2, actors=1))
    assert len(run.read_rollouts()) == 2 * len(run.read_tasks("train"))
    assert run_filters(run.path)["kept"] > 0
    export = export_training_set(run.path, tmp_path / "train.parquet", ExportConfig())
    assert export["general"] and export["vertical"]

    preset = load_preset("tiny")
    for name, stage in preset.stages.items():
        preset.stages[name] = stage.model_copy(update={"epochs": 1, "seq_len": 1024})
    final = train_stages(read_rows(tmp_path / "train.parquet"), build_tiny_model(tmp_path / "base"), preset,
                         tmp_path / "train", "two")
    for stage in ("general", "vertical"):
        assert (tmp_path / "train" / stage / "metrics.jsonl").read_text().strip()

    heldout = run.read_tasks("heldout")
    report = evaluate(run, EvalConfig(agent=str(final), split="heldout", samples=1, name="trained",
                                      rollouts=RolloutConfig(max_turns=2, turn_tokens=24, actors=1)))
    assert report["tasks"] == len(heldout) and sum(report["outcomes"].values()) == len(heldout)
    episodes = read_shards(run.eval_rollouts("trained"))
    assert len(episodes) == len(heldout) and {e["agent"] for e in episodes} == {f"transformers:{final}"}


# bench_learning_loop_real.py's own checks: what it trains on, what it slices, what it counts.


@pytest.fixture(scope="module")
def split_run(tmp_path_factory):
    """Three shop domains, one of them held out whole (seed 3 draws domain 0 at a share of 0.34)."""
    run = make_run(tmp_path_factory.mktemp("split") / "run", [shop_tools(), shop_tools()[:4], shop_tools()[1:]])
    build_envs(run, states=2, rows=6, workers=1)
    build_tasks(run, TaskConfig(per_domain=10, seed=3, heldout_tasks=0.25, heldout_domains=0.34), workers=1)
    assert {t.split for t in run.read_tasks()} == {"train", "heldout_task", "heldout_domain"}
    return run


def test_real_loop_refuses_training_rows_of_heldout_tasks_or_domains(split_run):
    tasks = split_run.read_tasks()
    row = {t.split: {"task_id": t.task_id, "domain_id": t.domain_id} for t in tasks}
    check_split(split_run.path, [{"task_id": t.task_id, "domain_id": t.domain_id} for t in tasks if t.split == "train"])
    for split in ("heldout_task", "heldout_domain"):
        with pytest.raises(AssertionError, match="held-out"):
            check_split(split_run.path, [row["train"], row[split]])
    played = eval_tasks(split_run.path, 3)
    assert {t.split for t in played} == {"heldout_task", "heldout_domain"}
    assert sum(t.split == "heldout_domain" for t in played) == 3


def test_real_loop_behaviour_of_the_teacher_is_what_each_outcome_asks(split_run, ray_session):
    tasks = split_run.read_tasks("heldout")
    evaluate(split_run, EvalConfig(agent="teacher", split="heldout", name="teacher",
                                   rollouts=RolloutConfig(actors=1)))
    acted = behaviour(split_run.path, "teacher", tasks)
    assert sum(kind["episodes"] for kind in acted.values()) == len(tasks)
    planned = [kind for kind in acted.values() if kind["first_call_tool"] is not None]  # kinds with gold calls
    assert planned and all(kind["first_call_tool"] == 1.0 and kind["executed_calls"] > 0 for kind in planned)
    if "irrelevant" in acted:
        assert acted["irrelevant"]["no_call"] == 1.0
    if "refuse" in acted:
        assert acted["refuse"]["state_unchanged"] == 1.0


def test_corpus_slice_takes_small_openapi_specs_with_writes(shared_data, tmp_path):
    first = corpus_slice(shared_data, tmp_path / "a", specs=3, toolbench=2, bfcl=2, max_kb=30)[0]
    specs = sorted(p.name for p in (first / "openapi").iterdir())
    assert len(specs) == 3 and all((first / "openapi" / s).stat().st_size <= 30_000 for s in specs)
    for spec in specs:
        methods = {m for item in json.loads((first / "openapi" / spec).read_text())["paths"].values() for m in item}
        assert methods & {"post", "put", "patch", "delete"}
    assert [len((first / f).read_text().splitlines()) for f in ("toolbench.jsonl", "bfcl.jsonl")] == [2, 2]
    again = corpus_slice(shared_data, tmp_path / "b", specs=3, toolbench=2, bfcl=2, max_kb=30)[0]
    assert sorted(p.name for p in (again / "openapi").iterdir()) == specs
