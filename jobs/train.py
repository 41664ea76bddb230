"""Ray job: fine-tune on Ray Train, general then vertical (``agentscaler train``).

    ray job submit --working-dir . -- python jobs/train.py --run /mnt/shared/runs/full --model /mnt/shared/models/Qwen3-4B --config preset.yaml

``--config`` is the training preset (a YAML of ``TrainPreset``; unknown keys are an error).

Flags and ``--config`` are the verb's (``agentscaler train --help``); see ``stage_job`` for the rest.
"""

from stage_job import run_verb

if __name__ == "__main__":
    run_verb("train", renames={"--config": "--preset"})
