"""Ray job: keep the trajectories that pass the filters and dedup them (``agentscaler filter``).

    ray job submit --working-dir . -- python jobs/filters.py --run /mnt/shared/runs/full --config filters.yaml

Flags and ``--config`` are the verb's (``agentscaler filter --help``); see ``stage_job`` for the rest.
"""

from stage_job import run_verb

if __name__ == "__main__":
    run_verb("filter")
