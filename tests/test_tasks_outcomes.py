"""Stage 6: each outcome a task can ask for (complete, refuse, clarify, irrelevant, recover), generated from the
shop domain and its policy, judged by replaying the gold calls."""

from __future__ import annotations

import json
import random

import pytest
from envs_helpers import make_run, s, shop_tools, tool

from agentscaler.contracts import OUTCOMES
from agentscaler.envs import DomainSimulator, build_domain, build_envs, load_env
from agentscaler.tasks import TaskConfig, build_tasks, check_task
from agentscaler.tasks.check import said
from agentscaler.tasks.plan import sample_refusal


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    run = make_run(tmp_path_factory.mktemp("outcomes"), [shop_tools()])
    build_envs(run, rows=10, workers=1)
    build_tasks(run, TaskConfig(per_domain=40, seed=5, outcomes=dict.fromkeys(OUTCOMES, 1)), workers=1)
    return run


@pytest.fixture(scope="module")
def sim(shop):
    return DomainSimulator(load_env(shop.path, 0))


def of(shop, outcome: str) -> list:
    tasks = [t for t in shop.read_tasks() if t.outcome == outcome]
    assert len(tasks) >= 2, outcome
    return tasks


def test_every_outcome_is_drawn_and_every_task_passes_the_checker(shop, sim):
    tasks = shop.read_tasks()
    shares = {o: sum(t.outcome == o for t in tasks) / len(tasks) for o in OUTCOMES}
    assert all(0.05 <= share <= 0.35 for share in shares.values()), shares  # a fifth each, as configured (of 40
    # draws; an outcome the plan cannot give falls back to complete)
    assert all(check_task(sim, t) == [] for t in tasks)


def test_a_refusal_changes_nothing_and_names_the_rule_its_request_breaks(shop, sim):
    policy = load_env(shop.path, 0).policy
    for t in of(shop, "refuse"):
        assert t.gold_hash == t.initial_hash and not t.writes
        assert policy.rule(t.user_scenario["rule"]).kind in ("transition", "limit")
        assert all(sim.spec.tool(c["name"]).kind == "read" for c in t.calls)  # the lookups, nothing else


def test_the_request_a_refusal_turns_down_is_refused_on_replay(shop, sim):
    spec = sim.spec
    writes = [t for t in spec.tools if t.executable and t.kind != "read"]
    rng = random.Random(0)
    for _ in range(5):
        plan = sample_refusal(sim, 0, rng, writes)
        replay = sim.replay(0, [s.call for s in plan.steps] + [plan.refused.call], initial_hash=spec.state_hashes[0],
                            final_hash=spec.state_hashes[0])  # refused: the state is the initial one
        answer = json.loads(replay.observations[-1].observation)
        assert replay.errors == [False] * len(plan.steps) + [True] and answer["rule"] == plan.rule
        assert [f.code for f in replay.failures] == ["call_failed"]


def test_a_clarify_task_withholds_a_value_a_gold_call_needs_and_its_intent_does_not_say(shop, sim):
    for t in of(shop, "clarify"):
        ((label, value),) = t.user_scenario["withheld"].items()
        assert label not in t.user_scenario["known"] and not said(t.intent, value)
        assert any(value in c["arguments"].values() for c in t.calls)
        assert f"do not mention the {label}" in t.user_scenario["behaviour"]
        told = json.dumps({**json.loads(t.scenario), "withheld": {}})  # the value nowhere: the checker objects
        broken = check_task(sim, type(t).from_row({**t.row(), "scenario": told}))
        assert [p.code for p in broken] == ["outcome_unsound", "intent_lacks_values"]


def test_an_irrelevant_task_has_no_call_and_asks_for_something_no_tool_names(shop, sim):
    words = {w for t in sim.spec.tools for w in t.name.split("_")} | {t.name for t in sim.spec.tables}
    for t in of(shop, "irrelevant"):
        assert t.calls == [] and t.gold_hash == t.initial_hash and not t.writes
        request = t.user_scenario["reason"].lower()
        assert not any(w in request.split() for w in words), request


def test_a_recover_task_fails_once_on_the_wrong_value_and_still_reaches_the_gold_state(shop, sim):
    for t in of(shop, "recover"):
        replay = sim.replay(t.state_index, t.calls, initial_hash=t.initial_hash, final_hash=t.gold_hash)
        assert replay.errors.count(True) == 1 and [f.code for f in replay.failures] == ["call_failed"]
        failing = t.calls[replay.errors.index(True)]
        error = json.loads(replay.observations[replay.errors.index(True)].observation)["error"]
        assert error.startswith("no ") and "matches" in error  # a well-formed call that finds no row, no typo'd enum
        ((label, wrong),) = t.user_scenario["first_attempt"].items()
        assert wrong in failing["arguments"].values()
        assert any(c["name"] == failing["name"] for c in t.calls[replay.errors.index(True) + 1:])
        assert check_task(sim, t) == []
        healed = [c for c in t.calls if c is not failing]  # without the attempt, not a recovery any more
        broken = type(t).from_row({**t.row(), "gold_calls": json.dumps(healed), "gold_observations": json.dumps(
            [o for c, o in zip(t.calls, t.observations) if c is not failing])})
        assert "outcome_unsound" in [p.code for p in check_task(sim, broken)]


def test_outcome_shares_are_configured(tmp_path):
    run = make_run(tmp_path, [shop_tools()])
    build_envs(run, rows=10, workers=1)
    summary = build_tasks(run, TaskConfig(per_domain=12, outcomes={"complete": 1}), workers=1)
    assert summary["outcomes"]["complete"] == summary["tasks"] == 12
    with pytest.raises(ValueError, match="outcomes"):
        TaskConfig(outcomes={"complete": 1, "dance": 1})


def test_a_refusal_can_ask_for_a_value_another_row_holds():
    sim = DomainSimulator(build_domain(0, [
        tool("get_member", {"member_id": s()}, ["member_id"], "Get a member."),
        tool("create_member", {"name": s(), "email": s()}, ["name", "email"], "Create a member."),
    ], rows=6))
    create = sim.spec.tool("create_member")
    plan = sample_refusal(sim, 0, random.Random(1), [create])
    taken = plan.refused.call["arguments"]["email"]
    assert sim.spec.policy.rule(plan.rule).kind == "unique" and taken in {m["email"] for m in sim.rows("members")}
    answer = json.loads(sim.step(plan.refused.call).observation)
    assert answer["rule"] == plan.rule and "already that of" in answer["error"]
