"""Every stage has the same shape: a strict config, a verb whose flags come from it plus ``--config``, and
error hints that name verbs that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from agentscaler.artifacts import RunDir
from agentscaler.cli import VERBS, app, verb_doc
from agentscaler.configs import load_config
from agentscaler.pipeline import PipelineConfig

PACKAGE = Path(__file__).resolve().parents[1] / "agentscaler"
runner = CliRunner()


@pytest.mark.parametrize("verb", list(VERBS))
def test_every_verb_builds_and_its_listed_help_is_its_docstring(verb):
    doc = " ".join(verb_doc(verb).split("\n\n")[0].split())
    assert VERBS[verb][2] == doc
    result = runner.invoke(app, [verb, "--help"])
    assert result.exit_code == 0, result.output


def hinted_verbs() -> dict[str, str]:
    """verb -> a file that tells the user to run ``agentscaler <verb>``."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for verb in re.findall(r"`agentscaler ([a-z][a-z-]*)", path.read_text()):
            found.setdefault(verb, str(path.relative_to(PACKAGE)))
    return found


def test_hints_name_real_verbs():
    hinted = hinted_verbs()
    assert {"ingest", "graph", "tasks", "filter"} <= set(hinted)  # the scan finds the hints
    assert {verb: where for verb, where in hinted.items() if verb not in VERBS} == {}
    run = RunDir("/nowhere")
    producers = {run.producer(path) for path in (run.tools, run.graph, run.env_spec(3), run.tasks, run.rollouts,
                                                  run.kept, run.export, run.eval_report("x"))}
    assert producers <= set(VERBS) and None not in producers


def test_missing_artifact_names_the_verb_that_writes_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"run `agentscaler build-envs --run"):
        RunDir(tmp_path).require(RunDir(tmp_path).env_spec(0))
    with pytest.raises(FileNotFoundError, match=r"run `agentscaler rollout --run"):
        RunDir(tmp_path).read_rollouts()


def test_pipeline_config_rejects_misspelt_keys(tmp_path):
    with pytest.raises(ValidationError, match="tua"):
        PipelineConfig.model_validate({"graph": {"tua": 0.8}})
    with pytest.raises(ValidationError, match="rollout"):
        PipelineConfig.model_validate({"rollout": {"samples": 2}})
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump({"graph": {"tau": 0.8}, "envs": {"rows": 4}}))
    config = load_config(PipelineConfig, path, assignments=["envs.rows=5", "rollouts.agent=http://x/v1"])
    assert (config.graph.tau, config.envs.rows, config.rollouts.agent) == (0.8, 5, "http://x/v1")
    with pytest.raises(ValueError, match="KEY=VALUE"):
        load_config(PipelineConfig, assignments=["graph.tau"])


def test_verb_flags_come_from_the_config_and_a_file_sets_them(tmp_path):
    help_text = runner.invoke(app, ["filter", "--help"]).output
    assert "--max-call-repeats" in help_text and "--config" in help_text  # every FilterConfig field is a flag
    bad = tmp_path / "bad.yaml"
    bad.write_text("tua: 0.8\n")
    result = runner.invoke(app, ["graph", "--run", str(tmp_path), "--config", str(bad)])
    assert result.exit_code == 2 and "tua" in result.output
    result = runner.invoke(app, ["run", "--out", str(tmp_path), "--set", "graph.tua=0.8"])
    assert result.exit_code == 2 and "tua" in result.output
    result = runner.invoke(app, ["run", "--out", str(tmp_path), "--until", "nowhere"])
    assert result.exit_code == 2 and "--until" in result.output
