"""Stage 1, ingest: API corpora in any of seven formats -> one normalized ``ToolSpec`` table.

``ingest(sources, out_dir)`` writes ``tools.parquet``, ``quarantine.jsonl`` and
``ingest_summary.json`` (see ``artifacts.RunDir``); ``parse_file`` parses one file in-process
for inspection and tests.
"""

from agentscaler.ingest.cli import ingest_command, summary_table
from agentscaler.ingest.driver import IngestConfig, IngestReport, SourceCounts, ingest, sample_sources
from agentscaler.ingest.formats import FORMATS, detect
from agentscaler.ingest.formats.openapi import SERVER_SET
from agentscaler.ingest.reader import parse_file
from agentscaler.ingest.records import Quarantined
from agentscaler.ingest.schema import MODEL

__all__ = ["FORMATS", "MODEL", "SERVER_SET", "IngestConfig", "IngestReport", "Quarantined", "SourceCounts", "detect",
           "ingest", "ingest_command", "parse_file", "sample_sources", "summary_table"]
