"""Ray job: play episodes of every task: simulated user, agent, simulator actors (``agentscaler rollout``).

    ray job submit --working-dir . -- python jobs/rollouts.py --run /mnt/shared/runs/full --config rollouts.yaml

Flags and ``--config`` are the verb's (``agentscaler rollout --help``); see ``stage_job`` for the rest.
"""

from stage_job import run_verb

if __name__ == "__main__":
    run_verb("rollout")
