"""The `agentscaler` command end to end on the embedded sample, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from agentscaler.artifacts import RunDir
from agentscaler.filters import ExportConfig, FilterConfig
from agentscaler.pipeline import PipelineConfig, run_pipeline


def agentscaler(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "agentscaler.cli", *args], capture_output=True, text=True,
                          env=env, timeout=900)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = agentscaler("build-domains", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def test_build_domains_on_the_embedded_sample(sample_run):
    out, result = sample_run
    run = RunDir(out)
    tools = pq.read_table(run.tools)
    domains = pq.read_table(run.domains).to_pylist()
    assert tools.num_rows == 515  # 240 ToolBench APIs + 110 BFCL functions + 165 Swagger operations, no duplicates
    assert sorted(d["tool_id"] for d in domains) == sorted(tools["tool_id"].to_pylist())  # each in one domain
    summary = json.loads(run.domains_summary.read_text())
    assert summary["tools"] == 515 and summary["domains"] >= 10
    assert summary["category_purity"] > 0.7  # the sample's themes come out as themes (0.73 in 30 domains)
    assert summary["attached_tools"] <= 515 // 20  # the graph decides the domains, not attachment
    assert "domains_with_at_least_3_tools" in result.stdout


def test_show_prints_one_domains_tools(sample_run):
    out, _ = sample_run
    members = [d["name"] for d in pq.read_table(RunDir(out).domains).to_pylist() if d["domain_id"] == 0]
    shown = agentscaler("domains", "--run", str(out), "--show", "0")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert f"domain 0: {len(members)} tools" in shown.stdout
    assert all(name[:30] in shown.stdout for name in members)


def test_rerun_resumes_from_written_artifacts(sample_run):
    out, _ = sample_run
    run = RunDir(out)
    before = {path: path.stat().st_mtime_ns for path in (run.tools, run.graph)}
    result = agentscaler("build-domains", "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert {path: path.stat().st_mtime_ns for path in before} == before  # ingest and graph were not redone


def test_show_unknown_domain_is_a_clear_error(sample_run):
    out, _ = sample_run
    result = agentscaler("domains", "--run", str(out), "--show", "99999")
    assert result.returncode != 0 and "no domain 99999" in result.stderr


def test_changed_settings_redo_the_stage_and_those_after(sample_run):
    out, _ = sample_run
    run = RunDir(out)
    before = {path: path.stat().st_mtime_ns for path in (run.tools, run.graph, run.domains)}
    result = agentscaler("build-domains", "--out", str(out), "--set", "graph.tau=0.8")
    assert result.returncode == 0, result.stderr[-2000:]
    after = {path: path.stat().st_mtime_ns for path in before}
    assert after[run.tools] == before[run.tools]
    assert after[run.graph] != before[run.graph] and after[run.domains] != before[run.domains]
    assert json.loads(run.graph_summary.read_text())["config"]["tau"] == 0.8


@pytest.mark.slow
def test_the_readme_run_goes_from_corpus_to_training_set(tmp_path, ray_session):
    result = agentscaler("run", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    tasks = json.loads((tmp_path / "tasks_summary.json").read_text())
    rollouts = json.loads((tmp_path / "rollouts_summary.json").read_text())
    rows = pq.read_table(tmp_path / "tasks.parquet", columns=["domain_id", "writes"]).to_pylist()
    writing = {r["domain_id"] for r in rows if r["writes"]}
    in_write_domains = [r["writes"] for r in rows if r["domain_id"] in writing]
    assert sum(in_write_domains) > len(in_write_domains) / 2  # a domain with writes mostly gets write tasks
    write_domains = json.loads((tmp_path / "envs" / "summary.json").read_text())["totals"]["policy"]["write_domains"]
    assert tasks["domains_with_write_tasks"] == len(writing) >= 0.8 * write_domains
    assert rollouts["agent"] == "teacher" and rollouts["reached_gold_hash_rate"] >= 0.95
    report = json.loads((tmp_path / "filters" / "report.json").read_text())
    exported = pq.read_table(tmp_path / "export" / "train.parquet")
    assert report["input"] == rollouts["episodes"] and exported.num_rows == report["kept"] > 0
    assert set(exported["split"].to_pylist()) == {"general", "vertical"}
    written = (tmp_path / "export" / "train.parquet").stat().st_mtime_ns
    again = agentscaler("run", "--out", str(tmp_path))  # everything written: nothing is redone
    assert again.returncode == 0 and (tmp_path / "export" / "train.parquet").stat().st_mtime_ns == written
    rollouts_written = (tmp_path / "rollouts_summary.json").stat().st_mtime_ns
    stricter = PipelineConfig(filters=FilterConfig(near_duplicate_threshold=0.95), export=ExportConfig(strict=True))
    redone = run_pipeline(tmp_path, config=stricter)  # changed filter and export settings redo those two stages
    assert list(redone) == ["filter", "export"]
    assert (tmp_path / "rollouts_summary.json").stat().st_mtime_ns == rollouts_written
    assert json.loads((tmp_path / "filters" / "report.json").read_text())["config"]["near_duplicate_threshold"] == 0.95
    assert json.loads((tmp_path / "filters" / "export.json").read_text())["config"]["strict"] is True
