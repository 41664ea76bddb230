"""Training presets: hyperparameters and cluster shape per model size, as YAML data (``presets/``).

A preset names the shape of the run (workers, GPUs, FSDP2, gradient checkpointing) once, and the
hyperparameters of each stage: ``general`` (stage 1, general domains) and ``vertical`` (stage 2,
from stage 1's weights). A single-stage run (the ablation) trains on both splits with ``general``'s.

    preset = load_preset("qwen3-8b")           # or a path to a YAML file
    preset.stages["vertical"].lr
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

STAGES = ("general", "vertical")


class StageConfig(BaseModel):
    """One SFT stage's hyperparameters."""

    model_config = ConfigDict(extra="forbid")

    lr: float = Field(gt=0, description="Peak learning rate of AdamW.")
    epochs: int = Field(ge=1, description="Passes over the stage's data.")
    seq_len: int = Field(ge=16, description="Tokens in each packed row; longer trajectories are truncated.")
    micro_batch: int = Field(ge=1, description="Packed rows per worker per forward/backward.")
    grad_accum: int = Field(1, ge=1, description="Micro-batches per optimizer step.")
    warmup_ratio: float = Field(0.03, ge=0, lt=1, description="Share of the steps spent warming the learning rate up.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")


class TrainPreset(BaseModel):
    """Where and how a model trains: cluster shape, memory savers, and per-stage hyperparameters."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(description="The model and the hardware this preset is sized for.")
    workers: int = Field(ge=1, description="Ray Train workers (one per GPU on GPU).")
    use_gpu: bool = Field(description="One GPU per worker; False trains on CPU with gloo.")
    fsdp: bool = Field(False, description="Shard parameters, gradients and optimizer state with FSDP2 (else DDP).")
    gradient_checkpointing: bool = Field(False, description="Recompute activations in the backward pass.")
    bf16: bool = Field(False, description="bf16 compute (FSDP2 mixed precision, or autocast under DDP); GPU only.")
    checkpoint_every: int = Field(ge=1, description="Optimizer steps between Ray Train checkpoints.")
    max_failures: int = Field(3, ge=0, description="Times a run whose workers fail (a worker or node lost, a "
                                                   "preemption) restarts them from the latest checkpoint before "
                                                   "it gives up.")
    seed: int = Field(0, description="Seed for packing order and model-side randomness.")
    stages: dict[str, StageConfig] = Field(description="Hyperparameters of the general and vertical stages.")

    def model_post_init(self, _context) -> None:
        if set(self.stages) != set(STAGES):
            raise ValueError(f"a preset defines exactly the stages {STAGES}, not {sorted(self.stages)}")
        if not self.use_gpu and self.bf16:
            raise ValueError("bf16 is a GPU setting; a CPU preset trains in fp32")


def preset_names() -> list[str]:
    return sorted(path.name.removesuffix(".yaml") for path in files("agentscaler.train.presets").iterdir()
                  if path.name.endswith(".yaml"))


def load_preset(name_or_path: str | Path) -> TrainPreset:
    """A preset by name (``agentscaler/train/presets/NAME.yaml``) or from a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        if str(name_or_path) not in preset_names():
            raise ValueError(f"no preset {name_or_path!r}; presets: {', '.join(preset_names())}")
        text = (files("agentscaler.train.presets") / f"{name_or_path}.yaml").read_text()
    else:
        text = path.read_text()
    return TrainPreset.model_validate(yaml.safe_load(text))
