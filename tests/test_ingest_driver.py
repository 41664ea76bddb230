"""The Ray Data driver end to end: artifacts, dedup, counts, chunking, the CLI verb, tool_id stability."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import ray
from typer.testing import CliRunner

from agentscaler.artifacts import RunDir, read_jsonl
from agentscaler.cli import app
from agentscaler.ingest import ingest, parse_file, sample_sources
from agentscaler.ingest.reader import parse_unit, plan_units
from agentscaler.toolspec import ToolSpec

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"


@pytest.fixture(scope="module")
def sample_run(ray_session, tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    return ingest([], out), RunDir(out)


@pytest.fixture(scope="module")
def fixtures_run(ray_session, tmp_path_factory):
    out = tmp_path_factory.mktemp("fixtures")
    return ingest([FIXTURES], out), RunDir(out)


def test_sample_ingest_writes_all_three_artifacts(sample_run):
    report, run = sample_run
    tools = run.read_tools()
    assert len(tools) == report.totals.specs == 515
    assert {t.source for t in tools} == {"toolbench", "bfcl", "swagger"}
    assert len({t.tool_id for t in tools}) == len(tools)
    assert pq.read_schema(run.tools).names == list(ToolSpec.model_fields)
    assert read_jsonl(run.quarantine) == []
    summary = json.loads(run.ingest_summary.read_text())
    assert summary["sources"]["toolbench_sample.jsonl"] == {
        "records": 27, "formats": {"toolbench": 27}, "specs": 240, "duplicates": 0, "quarantined": 0
    }  # fmt: skip
    assert summary["sources"]["bfcl_sample.jsonl"]["specs"] == 110
    assert summary["sources"]["traccar.org_3.14.json"] == {
        "records": 1, "formats": {"swagger": 1}, "specs": 57, "duplicates": 0, "quarantined": 0
    }  # fmt: skip
    assert len({t.category for t in tools if t.source == "toolbench"}) >= 6


def test_sample_has_state_changing_operations_in_seven_apis(sample_run):
    _, run = sample_run
    swagger = [t for t in run.read_tools() if t.source == "swagger"]
    assert len(swagger) == 165 and len({t.toolkit for t in swagger}) == 7  # the write-rich specs of SOURCES.md
    writes = Counter(t.toolkit for t in swagger if t.http_method in ("POST", "PUT", "PATCH", "DELETE"))
    assert sum(writes.values()) == 98 and min(writes.values()) >= 5


def test_tool_ids_are_stable(sample_run):
    _, run = sample_run
    triangle = next(t for t in run.read_tools() if t.name == "calculate_triangle_area")
    assert triangle.tool_id == "t4dd76781ebf97b5"  # changes only if the spec's content or the hash changes
    assert triangle.source_file == "bfcl_sample.jsonl:1"


def test_fixture_directory_counts_dedup_and_quarantine(fixtures_run):
    report, run = fixtures_run
    sources = report.sources
    assert sources["ingest/openai_tools.jsonl"].duplicates == 1  # get_current_weather, also in openai_tools.json
    assert sources["ingest/openai_tools.json"].duplicates == 0  # the first seen is kept
    assert sources["ingest/bfcl_broken.json"].model_dump() == {
        "records": 2, "formats": {"bfcl": 2}, "specs": 2, "duplicates": 1, "quarantined": 2
    }  # fmt: skip
    assert sources["ingest/xlam.jsonl"].duplicates == 1
    assert sources["ingest/notes.txt"].quarantined == 1 and sources["ingest/notes.txt"].formats == {}

    quarantine = read_jsonl(run.quarantine)
    assert len(quarantine) == report.totals.quarantined == sum(s.quarantined for s in sources.values())
    assert report.reasons["unrecognized format"] == 2
    assert {"source_file", "locator", "reason", "raw"} == set(quarantine[0])
    weather = [t for t in run.read_tools() if t.name == "get_current_weather"]
    assert [w.source_file for w in weather] == ["ingest/openai_tools.json"]
    tools = run.read_tools()
    assert len(tools) == report.totals.specs == len({t.tool_id for t in tools})


def test_ingest_uses_the_running_ray(ray_session, monkeypatch, tmp_path):
    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("ray.init called while Ray was running"))
    report = ingest([FIXTURES / "mcp_tools_list.json"], tmp_path)
    assert report.totals.specs == 2


def test_big_jsonl_files_split_into_line_aligned_units():
    toolbench = next(p for p in sample_sources() if p.name.startswith("toolbench"))
    units = plan_units([toolbench], chunk_bytes=20_000)
    assert len(units) > 5 and all(u.jsonl for u in units)
    assert sum(u.length for u in units) == toolbench.stat().st_size
    rows = [r for u in units for r in parse_unit(u.model_dump()) if r["kind"] == "spec"]
    whole, _ = parse_file(toolbench)
    assert [r["tool_id"] for r in rows] == [s.tool_id for s in whole]
    assert [r["source_file"] for r in rows] == [s.source_file for s in whole]  # line numbers survive the split


def test_cli_verb(ray_session, tmp_path):
    result = CliRunner().invoke(app, ["ingest", str(FIXTURES / "xlam.jsonl"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "xlam.jsonl" in result.output and "unknown type (1)" in result.output
    assert RunDir(tmp_path).ingest_summary.exists()


def test_cli_rejects_a_missing_source(tmp_path):
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope.json"), "--out", str(tmp_path)])
    assert result.exit_code != 0 and not RunDir(tmp_path).tools.exists()


def test_empty_directory_gives_empty_artifacts(tmp_path):
    (tmp_path / "in" / ".git").mkdir(parents=True)
    (tmp_path / "in" / ".git" / "config.json").write_text('{"name": "not a tool", "description": "hidden"}')
    report = ingest([tmp_path / "in"], tmp_path / "out")
    run = RunDir(tmp_path / "out")
    assert report.totals.records == 0 and report.sources == {}
    assert pq.read_table(run.tools).num_rows == 0 and read_jsonl(run.quarantine) == []
