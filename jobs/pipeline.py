"""Ray job entrypoint: every stage, over corpora on the cluster's shared storage.

    ray job submit --working-dir . -- python jobs/pipeline.py --out /mnt/shared/runs/full \
        /mnt/shared/corpora/toolbench /mnt/shared/corpora/bfcl

Without corpora it runs on the embedded sample. Stages already written under --out are skipped,
so resubmitting a failed job resumes it. Pass --config a YAML of ``PipelineConfig`` sections
(``graph: {tau: 0.8}``, ``domains: {algorithm: louvain}``; an unknown key is an error) and/or
``--set SECTION.KEY=VALUE`` to override the defaults.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ray

from agentscaler.configs import load_config
from agentscaler.pipeline import STAGE_NAMES, PipelineConfig, print_stage, run_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*", type=Path, help="API corpora (files or directories).")
    parser.add_argument("--out", type=Path, required=True, help="Run directory (shared storage on a cluster).")
    parser.add_argument("--config", type=Path, help="YAML file of PipelineConfig sections.")
    parser.add_argument("--set", action="append", default=[], dest="assignments", metavar="SECTION.KEY=VALUE",
                        help="One setting (graph.tau=0.8); repeat for more; overrides --config.")
    parser.add_argument("--until", choices=STAGE_NAMES, default=STAGE_NAMES[-1], help="Last stage to run.")
    parser.add_argument("--force", action="store_true", help="Redo stages whose artifacts exist.")
    args = parser.parse_args()
    try:
        config = load_config(PipelineConfig, args.config, assignments=args.assignments)
    except ValueError as e:  # pydantic's ValidationError is a ValueError: name the bad key, no traceback
        parser.error(str(e))
    ray.init()  # under `ray job submit` this joins the cluster; alone it starts a local one
    run_pipeline(args.out, args.sources, config, until=args.until, force=args.force, on_stage=print_stage)


if __name__ == "__main__":
    main()
