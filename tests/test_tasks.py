"""Stage 6: tasks sampled with data dependencies, gold runs that replay, and the task checker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from envs_helpers import make_run, shop_tools, toolbench_groups
from typer.testing import CliRunner

from agentscaler.cli import app
from agentscaler.envs import build_envs, load_env
from agentscaler.sim.simulator import DomainSimulator
from agentscaler.tasks import TaskConfig, build_tasks, check_task, read_tasks
from agentscaler.tasks.intent import missing_values


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    run = make_run(tmp_path_factory.mktemp("tasks"), [shop_tools(), shop_tools()[:4]])
    build_envs(run, rows=10, workers=1)
    build_tasks(run, TaskConfig(per_domain=12, seed=3), workers=1)
    return run


def test_tasks_have_the_contract_columns_and_favour_writes(shop):
    tasks = read_tasks(shop)
    assert len(tasks) >= 16
    assert {"task_id", "domain_id", "state_index", "intent", "gold_calls", "gold_hash", "writes"} <= set(tasks[0])
    assert len({t["task_id"] for t in tasks}) == len(tasks)
    assert sum(t["writes"] for t in tasks) / len(tasks) >= 0.6
    for t in tasks:
        for call in json.loads(t["gold_calls"]):
            assert set(call) == {"name", "arguments"}
            assert call["name"] not in t["intent"]  # the intent never names a tool
    summary = json.loads((shop.path / "tasks_summary.json").read_text())
    assert summary["tasks"] == len(tasks) and summary["write_tasks"] + summary["read_only_tasks"] == len(tasks)


def test_later_calls_take_ids_that_earlier_calls_returned(shop):
    chained = 0
    for t in read_tasks(shop):
        calls, observations = json.loads(t["gold_calls"]), json.loads(t["gold_observations"])
        for i, call in enumerate(calls[1:], 1):
            for param, v in call["arguments"].items():
                if param.endswith("_id") and json.dumps(v) not in t["intent"] and v not in t["intent"]:
                    assert any(json.dumps(v) in o for o in observations[:i]), (t["task_id"], param)
                    chained += 1
    assert chained >= 3  # ids the user never gave, found by a lookup first


def test_gold_calls_piped_into_play_reproduce_the_gold_hash(shop):
    for t in [t for t in read_tasks(shop) if t["writes"]][:4]:
        lines = "".join(json.dumps(c) + "\n" for c in json.loads(t["gold_calls"]))
        out = subprocess.run([sys.executable, "-m", "agentscaler.sim.play", "--run", str(shop.path), "--domain",
                              str(t["domain_id"]), "--state", str(t["state_index"])], input=lines,
                             capture_output=True, text=True, timeout=60, check=True)
        answers = [json.loads(line) for line in out.stdout.splitlines()]
        assert not any(a["error"] for a in answers)
        assert answers[-1]["state_hash"] == t["gold_hash"] != t["initial_hash"]


def test_held_out_splits_are_whole_domains_and_a_share_of_the_rest(tmp_path):
    run = make_run(tmp_path, [shop_tools()] * 20)
    build_envs(run, rows=10, workers=1)
    summary = build_tasks(run, TaskConfig(per_domain=10, heldout_domains=0.2, heldout_tasks=0.3), workers=1)
    tasks = read_tasks(run)
    by_domain: dict[int, set[str]] = {}
    for t in tasks:
        by_domain.setdefault(t["domain_id"], set()).add(t["split"])
    held_domains = [d for d, splits in by_domain.items() if "heldout_domain" in splits]
    assert 1 <= len(held_domains) <= 9 and all(by_domain[d] == {"heldout_domain"} for d in held_domains)
    rest = [t for t in tasks if t["domain_id"] not in held_domains]
    assert 0.15 < sum(t["split"] == "heldout_task" for t in rest) / len(rest) < 0.45
    assert summary["splits"]["train"] == len(read_tasks(run, "train"))
    assert len(read_tasks(run, "heldout")) == len(tasks) - len(read_tasks(run, "train"))


def test_the_same_seed_gives_the_same_tasks(shop, tmp_path):
    again = make_run(tmp_path, [shop_tools(), shop_tools()[:4]])
    build_envs(again, rows=10, workers=1)
    build_tasks(again, TaskConfig(per_domain=12, seed=3), workers=1)
    assert read_tasks(again) == read_tasks(shop)
    build_tasks(again, TaskConfig(per_domain=12, seed=4), workers=1)
    assert read_tasks(again) != read_tasks(shop)


@pytest.mark.parametrize("defect, expected", [
    (lambda t: {**t, "gold_hash": "0" * 32}, "does not reproduce gold_hash"),
    (lambda t: {**t, "gold_hash": t["initial_hash"], "gold_calls": json.dumps(json.loads(t["gold_calls"])[:1]),
                "gold_observations": json.dumps(json.loads(t["gold_observations"])[:1])}, "change nothing"),
    (lambda t: {**t, "intent": "Please sort out my order."}, "intent lacks"),
    (lambda t: {**t, "intent": t["intent"] + " Use update_order."}, "intent names tools"),
    (lambda t: {**t, "gold_calls": json.dumps([{"name": "update_order", "arguments": {"order_id": "nope",
                                                                                      "new_quantity": 1}}])},
     "fails on replay"),
])
def test_the_checker_catches_broken_tasks(shop, defect, expected):
    task = next(t for t in read_tasks(shop) if t["writes"] and t["domain_id"] == 0 and "update_order" in t["gold_calls"]
                and json.loads(t["gold_calls"])[0]["name"] == "list_orders")
    sim = DomainSimulator(load_env(shop.path, 0))
    assert check_task(sim, task) == []
    problems = check_task(sim, defect(task))
    assert any(expected in p for p in problems), problems


def test_missing_values_ignores_values_returned_by_earlier_calls():
    calls = [{"name": "find", "arguments": {"name": "Ada"}}, {"name": "cancel", "arguments": {"order_id": "o_7"}}]
    observations = ['[{"order_id": "o_7", "name": "Ada"}]', '{}']
    assert missing_values('Cancel the order of "Ada".', calls, observations) == []
    assert missing_values("Cancel my order.", calls, observations) == [(0, "name", "Ada")]
    assert missing_values("Cancel my order.", calls[1:], observations[1:]) == [(0, "order_id", "o_7")]


def test_real_toolbench_domains_give_replayable_tasks(tmp_path, shared_data):
    run = make_run(tmp_path, toolbench_groups(shared_data, limit=40))
    build_envs(run, rows=10, workers=1)
    summary = build_tasks(run, TaskConfig(per_domain=3), workers=1)
    tasks = read_tasks(run)
    assert summary["tasks"] == len(tasks) >= 40
    sims = {}
    for t in tasks:
        sim = sims.setdefault(t["domain_id"], DomainSimulator(load_env(run.path, t["domain_id"])))
        assert check_task(sim, t) == [], t["task_id"]


def test_tasks_verb(shop):
    result = CliRunner().invoke(app, ["tasks", "--run", str(shop.path), "--per-domain", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tasks"] == len(read_tasks(shop)) <= 2 * 2


class Rewriter:
    """A stand-in for an intent LLM: rewrites the template's request by a fixed rule."""

    def __init__(self, rule):
        self.rule, self.name = rule, "rewriter"

    async def chat(self, messages, tools=None, **_):
        from agentscaler.llm.base import Completion

        template = messages[-1]["content"].split("Request: ", 1)[1]
        return Completion({"role": "assistant", "content": self.rule(template)})


def test_llm_intents_are_kept_only_when_they_keep_every_value(tmp_path):
    run = make_run(tmp_path, [shop_tools()])
    build_envs(run, rows=10, workers=1)
    summary = build_tasks(run, TaskConfig(per_domain=6), workers=1,
                          intent_backend=Rewriter(lambda t: "Hi! " + t.replace('"', "")))
    tasks = read_tasks(run)
    assert summary["counts"]["llm_intents"] == len(tasks) and all(t["intent_source"] == "llm:rewriter" for t in tasks)
    assert all(t["intent"].startswith("Hi! ") and '"' not in t["intent"] for t in tasks)
    sim = DomainSimulator(load_env(run.path, 0))
    assert all(check_task(sim, t) == [] for t in tasks)

    summary = build_tasks(run, TaskConfig(per_domain=6), workers=1,
                          intent_backend=Rewriter(lambda t: "Please sort out my orders."))
    assert summary["counts"]["llm_intents_rejected"] == len(read_tasks(run))
    assert all(t["intent_source"] == "template" for t in read_tasks(run))
