"""Presets: every YAML file under agentscaler/train/presets loads and validates."""

from __future__ import annotations

from importlib.resources import files

import pytest
from pydantic import ValidationError

from agentscaler.train.config import STAGES, load_preset, preset_names

PRESET_FILES = sorted(p.name for p in files("agentscaler.train.presets").iterdir() if p.name.endswith(".yaml"))


def test_the_documented_presets_exist():
    assert PRESET_FILES == ["qwen3-30b-a3b.yaml", "qwen3-4b.yaml", "qwen3-8b.yaml", "tiny.yaml"]
    assert preset_names() == [name.removesuffix(".yaml") for name in PRESET_FILES]


@pytest.mark.parametrize("file_name", PRESET_FILES)
def test_every_preset_file_validates(file_name):
    preset = load_preset(file_name.removesuffix(".yaml"))
    assert set(preset.stages) == set(STAGES)
    if preset.use_gpu:
        assert preset.fsdp and preset.bf16 and preset.gradient_checkpointing
    else:
        assert preset.workers == 2


def test_a_bad_preset_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("description: x\nworkers: 2\nuse_gpu: false\nbf16: true\ncheckpoint_every: 1\n"
                    "stages: {general: {lr: 1.0, epochs: 1, seq_len: 64, micro_batch: 1}}\n")
    with pytest.raises(ValidationError):
        load_preset(path)
    with pytest.raises(ValueError, match="no preset"):
        load_preset("qwen3-1t")
