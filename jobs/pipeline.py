"""Ray job entrypoint: every stage (``agentscaler run``), over corpora on the cluster's shared storage.

    ray job submit --working-dir . -- python jobs/pipeline.py --out /mnt/shared/runs/full \
        /mnt/shared/corpora/toolbench /mnt/shared/corpora/bfcl

Without corpora it runs on the embedded sample. Stages already written under --out are skipped,
so resubmitting a failed job resumes it. Pass --config a YAML of ``PipelineConfig`` sections
(``graph: {tau: 0.8}``, ``domains: {algorithm: louvain}``; an unknown key fails the job, naming it)
and/or ``--set SECTION.KEY=VALUE`` to override the defaults; ``--until STAGE`` stops after a stage.
One job per stage: ``jobs/<stage>.py``; what every job does first: ``stage_job``.
"""

from stage_job import run_verb

if __name__ == "__main__":
    run_verb("run")
