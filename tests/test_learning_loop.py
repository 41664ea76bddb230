"""The learning loop end to end on a very small scale: teacher rollouts -> filters -> export -> two-stage
SFT on Ray Train -> eval of the trained checkpoint as the rollout agent (through transformers)."""

from __future__ import annotations

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
