"""Ray job: export the kept trajectories as a chat-format training set (``agentscaler export``).

    ray job submit --working-dir . -- python jobs/export.py --run /mnt/shared/runs/full --config export.yaml

Flags and ``--config`` are the verb's (``agentscaler export --help``); see ``stage_job`` for the rest.
"""

from stage_job import run_verb

if __name__ == "__main__":
    run_verb("export")
