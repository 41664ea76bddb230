"""Two-stage SFT as one run: general domains first, then the vertical domain(s) from those weights.

The exported training set carries a ``split`` column ("general" | "vertical"). Stage 1 trains the
base model on the general split with the preset's ``general`` hyperparameters; stage 2 trains stage
1's weights on the vertical split with ``vertical``'s. The single-stage ablation trains the base
model once on both splits together with ``general``'s. Each stage writes ``DIR/<stage>/`` (weights,
metrics.jsonl, packing.json, Ray Train's run); a stage whose weights exist is not trained again,
and a killed stage resumes from its last checkpoint. The last stage's weights are copied to
``DIR/final``.

    final = train_stages(rows, Path("/models/Qwen3-8B"), load_preset("qwen3-8b"), Path("runs/x/train"))
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Literal

from agentscaler.artifacts import atomic
from agentscaler.train.config import StageConfig, TrainPreset
from agentscaler.train.trainer import train_stage

Plan = Literal["two", "one"]


def stage_plan(rows: list[dict], preset: TrainPreset, stages: Plan) -> list[tuple[str, list[dict], StageConfig]]:
    """The stages to run in order: name, rows, hyperparameters."""
    if stages == "one":
        return [("one", rows, preset.stages["general"])]
    plan = [(split, [row for row in rows if row["split"] == split], preset.stages[split])
            for split in ("general", "vertical")]
    for split, selected, _ in plan:
        if not selected:
            raise ValueError(f"the training set has no {split!r} rows; train with --stages one, or export both splits")
    return plan


def train_stages(rows: list[dict], model_path: Path, preset: TrainPreset, out: Path, stages: Plan = "two") -> Path:
    """Run the stages, each from the previous one's weights; return ``out/final``."""
    weights = model_path
    for name, selected, config in stage_plan(rows, preset, stages):
        stage_dir = out / name
        done = stage_dir / "weights"
        weights = done if (done / "config.json").exists() else train_stage(selected, weights, stage_dir, preset, config)
    final = out / "final"
    with atomic(final) as staging:
        shutil.copytree(weights, staging)
    return final
