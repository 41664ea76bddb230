"""Stage 8: trajectory filters (validity, state alignment, exact match, dedup) on Ray Data, and export.

    from agentscaler.filters import ExportConfig, export_training_set, run_filters
    report = run_filters("runs/demo")        # DIR/filters/{kept,rejected}/ and report.json
    export_training_set("runs/demo", "train.parquet", ExportConfig(split="general"))
"""

from agentscaler.filters.alignment import StateAlignment
from agentscaler.filters.config import FilterConfig
from agentscaler.filters.dedup import DedupIndex, DedupKeys
from agentscaler.filters.exact import ExactMatch
from agentscaler.filters.export import ExportConfig, export_training_set
from agentscaler.filters.pipeline import filter_dataset, read_kept, read_rejected, run_filters
from agentscaler.filters.validity import Validity

__all__ = ["DedupIndex", "DedupKeys", "ExactMatch", "ExportConfig", "FilterConfig", "StateAlignment", "Validity",
           "export_training_set", "filter_dataset", "read_kept", "read_rejected", "run_filters"]
