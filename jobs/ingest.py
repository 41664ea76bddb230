"""Ray job: parse API corpora into tools.parquet (``agentscaler ingest``).

    ray job submit --working-dir . -- python jobs/ingest.py --out /mnt/shared/runs/full /mnt/shared/corpora/toolbench --config ingest.yaml

Flags and ``--config`` are the verb's (``agentscaler ingest --help``); see ``stage_job`` for the rest.
"""

from stage_job import run_verb

if __name__ == "__main__":
    run_verb("ingest")
