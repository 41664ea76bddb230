"""Stage 9: two-stage SFT of Qwen3 on Ray Train, with loss on the agent's own outputs only.

    from agentscaler.train import load_preset, train_stages
    final = train_stages(read_rows(run.export), model_path, load_preset("tiny"), run.train)

The names that need torch, transformers or Ray Train (``train_stages``, ``train_stage``, ``stage_plan``,
``pack``, ``packed_forward``) load on first use, so that importing the package (the CLI does) stays cheap.
"""

from importlib import import_module

from agentscaler.train.cli import export_command, export_tokens, train_command
from agentscaler.train.config import STAGES, StageConfig, TrainPreset, load_preset, preset_names
from agentscaler.train.data import AllMaskedError, TokenizedTrajectory, tokenize_rows, tokenize_trajectory

_LAZY = {"train_stages": "stages", "stage_plan": "stages", "train_stage": "trainer", "pack": "packing",
         "packed_forward": "packing"}

__all__ = ["STAGES", "AllMaskedError", "StageConfig", "TokenizedTrajectory", "TrainPreset", "export_command",
           "export_tokens", "load_preset", "pack", "packed_forward", "preset_names", "stage_plan", "tokenize_rows",
           "tokenize_trajectory", "train_command", "train_stage", "train_stages"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f"agentscaler.train.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
