"""Ray job: sample tasks with gold calls and gold final states for every domain (``agentscaler tasks``).

    ray job submit --working-dir . -- python jobs/tasks.py --run /mnt/shared/runs/full --config tasks.yaml

Flags and ``--config`` are the verb's (``agentscaler tasks --help``); see ``stage_job`` for the rest.
"""

from stage_job import run_verb

if __name__ == "__main__":
    run_verb("tasks")
