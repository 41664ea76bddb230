"""Ray job: embed tools and their parameters and link similar tools (``agentscaler graph``).

    ray job submit --working-dir . -- python jobs/graph.py --run /mnt/shared/runs/full --config graph.yaml

Flags and ``--config`` are the verb's (``agentscaler graph --help``); see ``stage_job`` for the rest.
"""

from stage_job import run_verb

if __name__ == "__main__":
    run_verb("graph")
