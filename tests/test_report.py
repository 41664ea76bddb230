"""`agentscaler report`: one self-contained HTML page of a run, section by section, read from its artifacts;
and the quiet console of `agentscaler run` (one line a stage, no Ray INFO lines)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest
from report_helpers import small_run
from typer.testing import CliRunner

from agentscaler.artifacts import RunDir, read_rows
from agentscaler.cli import app
from agentscaler.console import init_ray
from agentscaler.pipeline import STAGE_NAMES, print_stage
from agentscaler.report import SECTIONS, render_page, training_curves

TITLES = ("Domains: sizes and tool kinds", "Tasks: calls per task and outcome mix", "Filter funnel",
          "Pass rates per domain", "Training curves", "Evaluations")


@pytest.fixture(scope="module")
def run(tmp_path_factory, ray_session):
    return small_run(tmp_path_factory.getbasetemp())


def self_contained(page: str) -> bool:
    """Nothing the page would fetch: no script, stylesheet, image source or link outside itself."""
    links = re.findall(r'(?:href|src)="([^"]*)"', page)
    return not re.search(r"<script|<link|<img|@import|url\((?!#)", page) and all(link.startswith("#") for link in links)


@pytest.mark.slow  # the small run's filters take 20-60 s on 2 CPUs
def test_the_page_shows_each_section_with_the_runs_own_numbers(run):
    result = CliRunner().invoke(app, ["report", "--run", str(run.path)])
    assert result.exit_code == 0, result.output
    page = run.report.read_text()
    assert [t for t in TITLES if f"<h2>{t}</h2>" in page] == list(TITLES) and self_contained(page)
    sizes = Counter(row["domain_id"] for row in read_rows(run.domains))
    assert f"{len(sizes)} domains of {sum(sizes.values())} tools" in page
    tasks = run.read_tasks()
    assert f"{len(tasks)} tasks in {len({t.domain_id for t in tasks})} domains" in page
    funnel = run.read_summary(run.filter_report)
    assert f"{funnel['input']} trajectories in, {funnel['kept']} kept" in page
    evaluation = run.read_summary(run.eval_report("teacher"))
    assert f"pass rate {evaluation['pass_rate']:.1%}" in page
    assert f"<td>{evaluation['pass_hat_k']['2']:.3f} [" in page  # pass^2 with its interval
    assert "No train/&lt;stage&gt;/metrics.jsonl in this run: `agentscaler train --run" in page
    assert page.count("<svg") == 5  # every section but the training curves has its plot


def test_a_run_with_nothing_yet_says_what_is_missing_and_which_verb_writes_it(tmp_path):
    sections = [build(RunDir(tmp_path)) for build in SECTIONS]
    assert [s.title for s in sections] == list(TITLES)
    assert all(s.missing and s.figure is None and not s.rows for s in sections)
    verbs = [re.search(r"`agentscaler ([a-z-]+)", s.missing).group(1) for s in sections]
    assert verbs == ["domains", "tasks", "filter", "filter", "train", "eval"]
    assert "<svg" not in render_page(tmp_path)


def test_training_curves_follow_the_trainers_log_stage_after_stage(tmp_path):
    run = RunDir(tmp_path)
    logs = {"vertical": [(1, 2.0, 300, 1.5), (2, 1.5, 300, 1.5)],
            "general": [(1, 4.0, 400, 2.0), (2, 3.0, 400, 2.0), (3, 2.5, 600, 2.0)]}
    for stage, steps in logs.items():
        (run.train / stage).mkdir(parents=True)
        lines = [{"step": s, "epoch": 0, "loss": loss, "aux_loss": 0.0, "trained_tokens": tokens // 2,
                  "tokens": tokens, "lr": 1e-3, "seconds": seconds} for s, loss, tokens, seconds in steps]
        (run.train / stage / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    section = training_curves(run)
    assert [row[:6] for row in section.rows] == [["general", 3, 1, 4.0, 2.5, 2.5], ["vertical", 2, 1, 2.0, 1.5, 1.5]]
    assert [row[6:8] for row in section.rows] == [[1400, 233], [600, 200]]  # tokens, tokens/s over the stage
    loss = section.figure.axes[0]
    assert [list(line.get_xdata()) for line in loss.lines] == [[1, 2, 3], [4, 5]]  # vertical's steps follow
    assert "general: loss 4.000 -> 2.500 in 3 steps" in section.note


@pytest.mark.slow
def test_stages_print_one_line_each(run, capsys):
    summaries = {"envs": run.envs_summary, "tasks": run.tasks_summary, "rollouts": run.rollouts_summary,
                 "filter": run.filter_report, "export": run.export_summary}
    for stage, summary in summaries.items():
        print_stage(stage, run.read_summary(summary))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == list(summaries)
    assert f"episodes={run.read_summary(run.rollouts_summary)['episodes']}," in lines[2]


def test_ray_data_prints_no_info_lines(ray_session, capfd):
    init_ray()  # Ray is up already (the session's): Ray Data is quieted all the same
    capfd.readouterr()
    assert ray_session.data.range(8, override_num_blocks=4).map_batches(lambda b: b).count() == 8
    out, err = capfd.readouterr()
    assert not re.search(r"\bINFO\b", out + err), (out + err)[-2000:]


@pytest.mark.slow
def test_agentscaler_run_piped_prints_a_line_a_stage_and_no_ray_info(tmp_path):
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    result = subprocess.run([sys.executable, "-m", "agentscaler.cli", "run", "--out", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [*STAGE_NAMES, "done"], result.stdout
    assert not re.search(r"\bINFO\b", result.stdout + result.stderr), result.stderr[-3000:]
    report = subprocess.run([sys.executable, "-m", "agentscaler.cli", "report", "--run", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert report.returncode == 0, report.stderr[-3000:]
    page = RunDir(tmp_path).report.read_text()
    assert page.count("<svg") == 4 and self_contained(page)  # no training, no evaluation yet
