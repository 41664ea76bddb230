"""`agentscaler bench contamination`: a run's generated tasks with an ACEBench item planted as it is, lightly
paraphrased, and as gold calls, are flagged; the generated tasks are not."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from envs_helpers import make_run, shop_tools
from filters_helpers import write_tasks
from typer.testing import CliRunner

from agentscaler.bench.acebench_data import answer_calls, load_items
from agentscaler.bench.contamination import (NGRAM, NGRAM_THRESHOLD, ContaminationConfig, NgramIndex, check_run,
                                             paraphrase)
from agentscaler.cli import app
from agentscaler.envs import build_envs
from agentscaler.tasks import TaskConfig, build_tasks

COPY, PARAPHRASE, CALLS = "planted-copy", "planted-paraphrase", "planted-calls"


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory, shared_data):
    """Two shop domains' generated tasks, plus three planted from ACEBench's normal_single_turn_single_function."""
    run = make_run(tmp_path_factory.mktemp("contamination") / "run", [shop_tools(), shop_tools()[:4]])
    build_envs(run, rows=10, workers=1)
    build_tasks(run, TaskConfig(per_domain=8, seed=1), workers=1)
    tasks = run.read_tasks()
    items = load_items(shared_data / "acebench", "normal_single_turn_single_function")
    question = lambda item: item.question.removeprefix("user:").strip()  # noqa: E731
    calls = [{"name": n, "arguments": a} for n, a in answer_calls(items[7].answer, items[7].functions)]
    planted = [replace(tasks[0], task_id=COPY, intent=question(items[3])),
               replace(tasks[1], task_id=PARAPHRASE, intent=paraphrase(question(items[5]), seed=5)),
               replace(tasks[2], task_id=CALLS, gold_calls=json.dumps(calls))]
    write_tasks(run, [t.row() for t in tasks + planted])
    return run, len(tasks), question(items[5])


def flagged(report, field=None):
    return {f["task_id"] for f in report["flagged"] if field in (None, f["field"])}


def test_ngrams_flag_the_copied_intent_and_calls_and_nothing_generated(planted_run, shared_data):
    run, generated, _ = planted_run
    result = CliRunner().invoke(app, ["bench", "contamination", "--run", str(run.path), "--embedder", "none",
                                      "--data", str(shared_data), "--sources", "acebench", "--sources", "bfcl"])
    assert result.exit_code == 0, result.output
    report = json.loads(run.contamination.read_text())
    assert report["tasks"] == generated + 3
    assert flagged(report, "intent") == {COPY} and flagged(report, "calls") == {CALLS}
    copy = next(f for f in report["flagged"] if f["task_id"] == COPY)
    assert copy["source"] == "acebench" and "normal_single_turn_single_function_3" in copy["item_ids"]
    assert copy["ngram_overlap"] == 1.0 and copy["cosine"] is None
    assert report["sources"]["acebench"]["flagged_tasks"] == 2 and report["sources"]["bfcl"]["flagged_tasks"] == 0
    assert report["sources"]["bfcl"]["items"] > 3000


def test_a_light_paraphrase_escapes_ngrams():
    """Why embeddings are needed: a few words changed and most 8-grams are gone."""
    text = ("I need to find the next flight from Paris to Rome and book the cheapest seat for my trip, "
            "please check the price and tell me about the baggage rules")
    index = NgramIndex([text], NGRAM)
    assert index.best(text) == (1.0, 0) and index.best("a flight to Rome") == (0.0, -1)
    overlap, _ = index.best(paraphrase(text, seed=1))
    assert overlap < NGRAM_THRESHOLD


def test_a_missing_source_is_skipped_and_said(planted_run, tmp_path):
    run, _, _ = planted_run
    report = check_run(run, ContaminationConfig(sources=["bfcl"], data=tmp_path, embedder="none"))
    assert "not found" in report["sources"]["bfcl"]["skipped"] and report["flagged"] == []


@pytest.mark.slow
def test_embeddings_flag_the_paraphrase_too(planted_run, shared_data, tmp_path):
    run, generated, original = planted_run
    report = check_run(run, ContaminationConfig(sources=["acebench"], data=shared_data, cache=tmp_path))
    assert flagged(report) == {COPY, PARAPHRASE, CALLS}
    paraphrased = next(f for f in report["flagged"] if f["task_id"] == PARAPHRASE)
    assert "normal_single_turn_single_function_5" in paraphrased["item_ids"]
    assert paraphrased["ngram_overlap"] < 0.5 <= paraphrased["cosine"]
    assert report["sources"]["acebench"]["flagged_by_embedding"] >= 2
