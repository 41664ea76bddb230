"""Ray job: build a simulated, database-backed environment for every domain (``agentscaler build-envs``).

    ray job submit --working-dir . -- python jobs/envs.py --run /mnt/shared/runs/full --config envs.yaml

Flags and ``--config`` are the verb's (``agentscaler build-envs --help``); see ``stage_job`` for the rest.
"""

from stage_job import run_verb

if __name__ == "__main__":
    run_verb("build-envs")
