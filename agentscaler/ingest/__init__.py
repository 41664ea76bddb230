"""Stage 1, ingest: API corpora in any of seven formats -> one normalized ``ToolSpec`` table.

``ingest(sources, out_dir)`` writes ``tools.parquet``, ``quarantine.jsonl`` and
``ingest_summary.json`` (see ``artifacts.RunDir``); ``parse_file`` parses one file in-process
for inspection and tests.
"""

from agentscaler.ingest.driver import IngestReport, SourceCounts, ingest, sample_sources
from agentscaler.ingest.formats import FORMATS, detect
from agentscaler.ingest.reader import parse_file
from agentscaler.ingest.records import Quarantined

__all__ = ["FORMATS", "IngestReport", "Quarantined", "SourceCounts", "detect", "ingest", "parse_file", "sample_sources"]
