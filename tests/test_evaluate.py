"""Stage 10: the eval verb — judged on replayed states, written apart from the training rollouts, pass^k."""

from __future__ import annotations

import json
from math import comb

import pytest
from envs_helpers import make_run, shop_tools
from typer.testing import CliRunner

from agentscaler.artifacts import read_shards
from agentscaler.cli import app
from agentscaler.envs import build_envs
from agentscaler.evaluate import EvalConfig, evaluate, judge, pass_hat_k, pass_hat_k_interval
from agentscaler.llm import Completion
from agentscaler.rollouts import RolloutConfig
from agentscaler.rollouts import run as rollout_run
from agentscaler.rollouts.teacher import TemplateUser
from agentscaler.tasks import TaskConfig, build_tasks


def config(agent: str, **settings) -> EvalConfig:
    return EvalConfig(agent=agent, concurrency=8, rollouts=RolloutConfig(actors=1), **settings)


@pytest.fixture
def shop(tmp_path, ray_session):
    run = make_run(tmp_path, [shop_tools(), shop_tools()[:4]])
    build_envs(run, rows=10, workers=1)
    build_tasks(run, TaskConfig(per_domain=8, seed=1, heldout_tasks=0.5), workers=1)
    return run


class DoesNothing:
    """An agent double that answers in words and never calls a tool."""

    name = "does-nothing"

    async def chat(self, messages, tools=None, *, seed=0, max_tokens=512, temperature=0.0) -> Completion:
        return Completion({"role": "assistant", "content": "Done, all taken care of."})


def test_pass_hat_k_is_the_unbiased_estimator_on_hand_counts():
    trials = [(4, 4), (4, 2), (4, 0)]  # n trials, c passes per task
    assert pass_hat_k(trials, 1) == pytest.approx((1 + 0.5 + 0) / 3)
    assert pass_hat_k(trials, 2) == pytest.approx((1 + comb(2, 2) / comb(4, 2) + 0) / 3)  # (1 + 1/6) / 3
    assert pass_hat_k(trials, 4) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        pass_hat_k(trials, 5)


def test_the_teacher_passes_every_heldout_task_and_training_rollouts_are_untouched(shop):
    heldout = shop.read_tasks("heldout")
    assert heldout and any(t.writes for t in heldout) and any(not t.writes for t in heldout)
    report = evaluate(shop, config("teacher", samples=2))
    assert report["tasks"] == len(heldout) and report["episodes"] == 2 * len(heldout)
    assert report["pass_rate"] == 1.0 and report["pass_hat_k"] == {"1": 1.0, "2": 1.0}
    assert report["pass_hat_k_ci95"] == {"1": [1.0, 1.0], "2": [1.0, 1.0]}
    assert report["outcomes"] == {"passed": 2 * len(heldout)}
    assert read_shards(shop.rollouts) == []  # eval writes DIR/eval/teacher/, not the training set
    assert len(read_shards(shop.eval_rollouts("teacher"))) == 2 * len(heldout)
    saved = json.loads(shop.eval_report("teacher").read_text())
    assert saved["pass_rate"] == 1.0 and sum(b["tasks"] for b in saved["splits"].values()) == len(heldout)


def test_an_agent_that_does_nothing_fails_every_task_that_needs_a_call(shop, monkeypatch):
    monkeypatch.setattr(rollout_run, "backend_factories", lambda run, agent, user: (lambda t: DoesNothing(),
                                                                                     TemplateUser()))
    report = evaluate(shop, config("nothing"))
    heldout = shop.read_tasks("heldout")
    planned = [t for t in heldout if t.outcome in ("complete", "clarify", "recover")]
    assert planned and report["writes"]["tasks"] and report["writes"]["passed"] == 0
    by_outcome = report["by_outcome"]
    assert sum(by_outcome[o]["passed"] for o in ("complete", "clarify", "recover") if o in by_outcome) == 0
    # where the right answer changes nothing, "done" is still wrong: it must say no (not_declined)
    said_no = [t for t in heldout if t.outcome in ("refuse", "irrelevant")]
    assert report["passed"] == 0 and report["outcomes"].get("not_declined", 0) == len(said_no)
    assert set(report["outcomes"]) <= {"state_mismatch", "read_only_mismatch", "not_declined"}


def test_a_lying_recorded_hash_does_not_pass(shop):
    task = next(t for t in shop.read_tasks("heldout") if t.writes)
    row = {"task_id": task.task_id, "final_hash": task.gold_hash,
           "messages": json.dumps([{"role": "system", "content": "s"}, {"role": "user", "content": task.intent},
                                   {"role": "assistant", "content": "done"}])}
    assert judge(shop.path, row).startswith("state_mismatch")


def test_eval_verb_prints_and_writes_the_report(shop, tmp_path):
    settings = tmp_path / "eval.yaml"
    settings.write_text("split: heldout_domain\nconcurrency: 4\nrollouts:\n  actors: 1\n")
    result = CliRunner().invoke(app, ["eval", "--run", str(shop.path), "--agent", "teacher", "--split",
                                      "heldout_task", "--name", "t1", "--config", str(settings)])
    assert result.exit_code == 0, result.output
    report = json.loads(shop.eval_report("t1").read_text())
    assert report["split"] == "heldout_task" and report["pass_rate"] == 1.0
    assert f'"pass_rate": {report["pass_rate"]}' in result.output


def test_pass_hat_k_interval_resamples_the_tasks():
    mixed = [(4, 4), (4, 2), (4, 0)] * 10
    low, high = pass_hat_k_interval(mixed, 1)
    assert low < pass_hat_k(mixed, 1) < high  # the estimate inside, uncertainty on both sides
    assert pass_hat_k_interval(mixed, 1) == (low, high)  # seeded
    few_low, few_high = pass_hat_k_interval(mixed[:3], 1)
    assert few_high - few_low > high - low  # fewer tasks, a wider interval
    assert pass_hat_k_interval([(2, 2)] * 5, 2) == (1.0, 1.0)  # every trial of every task passed
    with pytest.raises(ValueError):
        pass_hat_k_interval(mixed, 5)
