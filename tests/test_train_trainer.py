"""SFT on Ray Train with 2 CPU workers: two stages end to end, resume after a stop, the MoE model."""

from __future__ import annotations

import json
import threading
import time

import psutil
import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM
from typer.testing import CliRunner

from agentscaler.artifacts import write_jsonl
from agentscaler.cli import app
from agentscaler.llm.tiny import build_tiny_model
from agentscaler.train.config import load_preset
from agentscaler.train.stages import stage_plan
from agentscaler.train.trainer import train_stage
from train_helpers import export_row, short_row_preset, trajectory


def rows(split: str, count: int, start: int = 0) -> list[dict]:
    return [export_row(f"t{i}-r0", split, trajectory(f"A{i}", f"B{3 * i + 1}")) for i in range(start, start + count)]


def losses(path) -> list[float]:
    return [json.loads(line)["loss"] for line in path.read_text().splitlines()]


def test_stage_plan_selects_splits():
    preset = load_preset("tiny")
    data = rows("general", 3) + rows("vertical", 2, start=3)
    (general, general_rows, _), (vertical, vertical_rows, config) = stage_plan(data, preset, "two")
    assert (general, len(general_rows), vertical, len(vertical_rows)) == ("general", 3, "vertical", 2)
    assert config == preset.stages["vertical"]
    assert [(name, len(selected)) for name, selected, _ in stage_plan(data, preset, "one")] == [("one", 5)]
    with pytest.raises(ValueError, match="no 'vertical' rows"):
        stage_plan(rows("general", 2), preset, "two")


@pytest.mark.slow  # minutes on 2 loaded cores (two Ray Train runs); the mask and packing tests stay fast
def test_two_stage_training_end_to_end(ray_session, tmp_path):
    model = build_tiny_model(tmp_path / "tiny")
    data = tmp_path / "train.jsonl"
    write_jsonl(rows("general", 12) + rows("vertical", 12, start=12), data)
    out = tmp_path / "train"
    preset = tmp_path / "short-rows.yaml"
    preset.write_text(yaml.safe_dump(short_row_preset().model_dump()))
    result = CliRunner().invoke(app, ["train", "--run", str(tmp_path), "--model", str(model), "--preset", str(preset),
                                      "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for stage in ("general", "vertical"):
        curve = losses(out / stage / "metrics.jsonl")
        assert len(curve) >= 2 and curve[-1] < curve[0], (stage, curve)
        assert json.loads((out / stage / "packing.json").read_text())["padding_waste"] < 0.5
    # stage 2 starts where stage 1 ended: its first loss is already below stage 1's first
    assert losses(out / "vertical" / "metrics.jsonl")[0] < losses(out / "general" / "metrics.jsonl")[0]
    final = AutoModelForCausalLM.from_pretrained(out / "final")
    vertical = AutoModelForCausalLM.from_pretrained(out / "vertical" / "weights")
    base = AutoModelForCausalLM.from_pretrained(model)
    name = "model.layers.0.mlp.up_proj.weight"
    assert torch.equal(final.state_dict()[name], vertical.state_dict()[name])
    assert not torch.equal(final.state_dict()[name], base.state_dict()[name])


@pytest.mark.slow
@pytest.mark.parametrize("fsdp", [False, True], ids=["ddp", "fsdp2"])
def test_a_stopped_run_resumes_with_the_same_losses(ray_session, tmp_path, fsdp):
    """FSDP2 runs on CPU too (gloo), so its sharded save and optimizer-state restore are checked here."""
    model = build_tiny_model(tmp_path / "tiny")
    data = rows("general", 12)
    preset = short_row_preset(fsdp=fsdp)
    stage = preset.stages["general"]
    train_stage(data, model, tmp_path / "whole", preset, stage)
    train_stage(data, model, tmp_path / "resumed", preset, stage, stop_after_steps=preset.checkpoint_every + 1)
    stopped = losses(tmp_path / "resumed" / "metrics.jsonl")
    train_stage(data, model, tmp_path / "resumed", preset, stage)
    whole, resumed = losses(tmp_path / "whole" / "metrics.jsonl"), losses(tmp_path / "resumed" / "metrics.jsonl")
    assert len(stopped) == preset.checkpoint_every + 1 and len(resumed) == len(whole) > len(stopped)
    assert resumed == pytest.approx(whole, rel=1e-5)


@pytest.mark.slow
def test_a_worker_lost_mid_run_is_restarted_from_the_last_checkpoint(ray_session, tmp_path):
    """A training worker killed mid-run: Ray Train restarts the workers from the latest checkpoint (the preset's
    ``max_failures``), and the run ends with every step logged once rather than with an error."""
    model = build_tiny_model(tmp_path / "tiny")
    preset = load_preset("tiny")
    stage = preset.stages["general"].model_copy(update={"seq_len": 512})  # short rows: many steps to kill one in
    metrics, killed = tmp_path / "run" / "metrics.jsonl", []

    def kill_a_worker_after_a_checkpoint():
        while not killed:
            if metrics.exists() and len(metrics.read_text().splitlines()) > preset.checkpoint_every:
                worker = next((p for p in psutil.process_iter(["cmdline"])
                               if "RayTrainWorker" in " ".join(p.info["cmdline"] or [])), None)
                if worker is not None:
                    killed.append(len(metrics.read_text().splitlines()))
                    worker.kill()
            time.sleep(0.05)

    threading.Thread(target=kill_a_worker_after_a_checkpoint, daemon=True).start()
    train_stage(rows("general", 48), model, tmp_path / "run", preset, stage)
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    total = json.loads((tmp_path / "run" / "packing.json").read_text())["steps_per_epoch"] * stage.epochs
    assert killed and killed[0] < total, "the run ended before a worker was killed: give it more steps"
    assert steps == list(range(1, total + 1))


@pytest.mark.slow
def test_the_tiny_moe_trains_with_the_router_loss(ray_session, tmp_path):
    model = build_tiny_model(tmp_path / "tiny-moe", moe=True)
    preset = short_row_preset()
    weights = train_stage(rows("general", 12), model, tmp_path / "moe", preset, preset.stages["general"])
    log = [json.loads(line) for line in (tmp_path / "moe" / "metrics.jsonl").read_text().splitlines()]
    assert all(step["aux_loss"] > 0 for step in log)
    assert log[-1]["loss"] < log[0]["loss"]
    assert AutoModelForCausalLM.from_pretrained(weights).config.model_type == "qwen3_moe"


def test_every_step_trains_warm_up_first_then_cosine_decay():
    from agentscaler.train.trainer import lr_factor

    factors = [lr_factor(step, warmup=4, total=20) for step in range(20)]
    assert factors[0] > 0  # the first step learns (transformers' schedule gives it 0)
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0] and factors[4] == 1.0
    assert all(a > b for a, b in zip(factors[4:], factors[5:])) and 0 < factors[-1] < 0.05
    assert [lr_factor(step, warmup=0, total=3) for step in range(3)] == pytest.approx([1.0, 0.75, 0.25])


def test_stages_whose_weights_exist_are_not_trained_again_and_the_last_becomes_final(tmp_path):
    from agentscaler.train import train_stages

    out = tmp_path / "train"
    for stage in ("general", "vertical"):
        (out / stage / "weights").mkdir(parents=True)
        (out / stage / "weights" / "config.json").write_text(json.dumps({"stage": stage}))
    (out / "final").mkdir()
    (out / "final" / "stale.bin").write_text("from an earlier run")
    data = rows("general", 1) + rows("vertical", 1, start=1)
    final = train_stages(data, tmp_path / "no-model", load_preset("tiny"), out, "two")
    assert final == out / "final" and sorted(p.name for p in final.iterdir()) == ["config.json"]
    assert json.loads((final / "config.json").read_text()) == {"stage": "vertical"}
    assert sorted(p.name for p in out.iterdir()) == ["final", "general", "vertical"]  # no staging left behind
