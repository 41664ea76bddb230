"""Stage 8: trajectory filters (validity, outcome, state alignment, exact match, dedup) on Ray Data, and export.

    from agentscaler.filters import ExportConfig, export_training_set, run_filters
    report = run_filters("runs/demo")        # DIR/filters/{kept,rejected}/ and report.json
    export_training_set("runs/demo", config=ExportConfig(split="general"))   # DIR/export/train.parquet

The kept and rejected sets are read back with ``RunDir.read_kept`` / ``read_rejected`` / ``kept_dataset``.
"""

from agentscaler.filters.alignment import StateAlignment
from agentscaler.filters.cli import filter_command
from agentscaler.filters.config import FilterConfig
from agentscaler.filters.dedup import DedupIndex, DedupKeys
from agentscaler.filters.exact import ExactMatch
from agentscaler.filters.export import ExportConfig, export_training_set
from agentscaler.filters.outcome import OutcomeCheck
from agentscaler.filters.pipeline import filter_dataset, judges, run_filters
from agentscaler.filters.report import funnel_table
from agentscaler.filters.stage import STAGES
from agentscaler.filters.validity import Validity

__all__ = ["STAGES", "DedupIndex", "DedupKeys", "ExactMatch", "ExportConfig", "FilterConfig", "OutcomeCheck",
           "StateAlignment", "Validity", "export_training_set", "filter_command", "filter_dataset", "funnel_table",
           "judges", "run_filters"]
