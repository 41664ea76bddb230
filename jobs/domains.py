"""Ray job: partition the tool graph into domains (``agentscaler domains``).

    ray job submit --working-dir . -- python jobs/domains.py --run /mnt/shared/runs/full --config domains.yaml

Flags and ``--config`` are the verb's (``agentscaler domains --help``); see ``stage_job`` for the rest.
"""

from stage_job import run_verb

if __name__ == "__main__":
    run_verb("domains")
