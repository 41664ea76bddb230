"""Ray job: play the held-out tasks with an agent and score the reached states (``agentscaler eval``).

    ray job submit --working-dir . -- python jobs/eval.py --run /mnt/shared/runs/full --agent hf:/mnt/shared/runs/full/train/final --config eval.yaml

Flags and ``--config`` are the verb's (``agentscaler eval --help``); see ``stage_job`` for the rest.
"""

from stage_job import run_verb

if __name__ == "__main__":
    run_verb("eval")
