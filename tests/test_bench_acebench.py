"""ACEBench English through `agentscaler bench acebench`: the oracle passes, each scoring rule can fail, and the tiny
random-weight Qwen3 served by `agentscaler serve` gets a well-formed report."""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from agentscaler.bench.acebench import AceBenchConfig, oracle_turns, run_acebench
from agentscaler.bench.acebench_data import CATEGORIES, load_items, parse_calls
from agentscaler.bench.acebench_score import check_normal, check_special, process_score
from agentscaler.cli import app
from agentscaler.llm.tiny import build_tiny_model
from test_llm_serve import KEY, running_server


@pytest.fixture(scope="module")
def data(shared_data):
    return shared_data / "acebench"


def items_of(data, category):
    return {item.id: item for item in load_items(data, category)}


def test_oracle_scores_at_least_95_percent_on_every_category(data, tmp_path):
    report = run_acebench(AceBenchConfig(agent="oracle", data=data), tmp_path)
    assert report["items"] == 1023 and set(report["categories"]) == set(CATEGORIES)
    for name, block in report["categories"].items():
        assert block["accuracy"] >= 0.95, (name, block)
        assert 0 <= block["ci95"][0] <= block["accuracy"] <= block["ci95"][1] <= 1
    assert report["overall"] >= 0.95 and report["backend_errors"] == 0
    assert set(report["not_scorable"]) == {"agent_multi_step", "agent_multi_turn"}
    rows = [json.loads(line) for line in (tmp_path / "items.jsonl").read_text().splitlines()]
    assert len(rows) == 1023 and {r["category"] for r in rows} == set(CATEGORIES)


def test_an_agent_that_never_calls_a_tool_scores_zero_everywhere(data, tmp_path, monkeypatch):
    """Through the CLI, with a scripted backend the harness cannot tell from a model: 'Hello' to everything."""
    import agentscaler.bench.acebench as acebench
    from agentscaler.llm import Completion

    class Hello:
        name = "hello"

        async def chat(self, messages, tools=None, **_):
            return Completion({"role": "assistant", "content": "Hello! How can I help?"})

    monkeypatch.setattr(acebench, "make_backend", lambda spec: Hello())
    result = CliRunner().invoke(app, ["bench", "acebench", "--agent", "hello", "--out", str(tmp_path),
                                      "--data", str(data), "--limit", "3"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["agent"] == "hello" and report["overall"] == 0
    assert all(block["accuracy"] == 0 and block["units"] == 3 for block in report["categories"].values())


def test_a_call_that_cannot_be_decoded_fails_its_item(data):
    import asyncio

    from agentscaler.bench.acebench import play
    from agentscaler.llm import Completion

    class Garbled:
        async def chat(self, messages, tools=None, **_):
            return Completion({"role": "assistant", "content": None, "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "vr_explore", "arguments": "[1, 2]"}}]})

    item = items_of(data, "normal_similar_api")["normal_similar_api_0"]
    row = asyncio.run(play(item, Garbled(), AceBenchConfig(agent="garbled", data=data)))
    assert not row["passed"] and row["reason"].startswith("malformed tool call") and not row["backend_error"]


def oracle_calls(item):
    (turn,) = oracle_turns(item)
    return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in turn["tool_calls"]]


def test_each_normal_rule_fails_a_wrong_answer(data):
    single = items_of(data, "normal_single_turn_single_function")["normal_single_turn_single_function_0"]
    calls = oracle_calls(single)
    assert check_normal(single.functions, calls, single.answer) is None
    (name, args), = calls

    def fails(broken_calls, strict=False):
        return check_normal(single.functions, broken_calls, single.answer, strict)

    assert "function mismatch" in fails([("AudioPerformanceOptimizer_optimizeMicrophoneSettings", args)])
    assert "wrong number of calls" in fails(calls + calls) and "wrong number of calls" in fails([])
    assert "required parameters missing" in fails([(name, {k: v for k, v in args.items() if k != "location"})])
    assert "not in the schema" in fails([(name, {**args, "timezone": "UTC"})])
    assert "wrong value" in fails([(name, {**args, "eclipseType": "partial"})])  # a string
    assert "wrong type" in fails([(name, {**args, "eclipseType": 3})])
    deep = copy.deepcopy(args)
    deep["dateRange"]["endDate"] = "2030-01-01"
    assert "wrong value for dateRange.endDate" in fails([(name, deep)])  # inside an object
    short = copy.deepcopy(args)
    del short["dateRange"]["endDate"]
    assert "wrong object" in fails([(name, short)])

    listed = items_of(data, "normal_atom_list")["normal_atom_list_0"]
    (lname, largs), = oracle_calls(listed)
    key = next(k for k, v in largs.items() if isinstance(v, list) and v and isinstance(v[0], str))
    assert check_normal(listed.functions, [(lname, {**largs, key: largs[key][::-1] + ["extra"]})],
                        listed.answer) is not None

    parallel = items_of(data, "normal_single_turn_parallel_function")["normal_single_turn_parallel_function_0"]
    pcalls = oracle_calls(parallel)
    assert len(pcalls) > 1 and check_normal(parallel.functions, pcalls[:-1], parallel.answer) is not None


def test_numbers_are_compared_only_when_strict(data):
    """ACEBench checks a number's type, not its value: a wrong latitude passes unless strict_scalars."""
    item = items_of(data, "normal_single_turn_single_function")["normal_single_turn_single_function_0"]
    (name, args), = oracle_calls(item)
    wrong = copy.deepcopy(args)
    wrong["location"]["latitude"] = 10.5
    assert check_normal(item.functions, [(name, wrong)], item.answer) is not None  # inside an object: as text
    number = items_of(data, "normal_atom_number")
    for item in number.values():
        (name, args), = oracle_calls(item)
        key = next((k for k, v in args.items() if type(v) is int), None)
        if key:
            wrong = [(name, {**args, key: args[key] + 7})]
            assert check_normal(item.functions, wrong, item.answer) is None
            assert "wrong value" in check_normal(item.functions, wrong, item.answer, strict_scalars=True)
            assert check_normal(item.functions, oracle_calls(item), item.answer, strict_scalars=True) is None
            return
    pytest.fail("no integer argument in normal_atom_number")


def test_each_special_rule_fails_a_wrong_answer(data):
    incomplete = items_of(data, "special_incomplete")["special_incomplete_1"]
    right = oracle_turns(incomplete)[0]["content"]
    assert check_special("special_incomplete", incomplete.answer, right) is None
    assert "does not say" in check_special("special_incomplete", incomplete.answer, "I need the time_period.")
    assert "does not name" in check_special("special_incomplete", incomplete.answer,
                                            right.replace("time_period", "region"))
    assert "does not name the function" in check_special("special_incomplete", incomplete.answer,
                                                         right.replace("analyze_diplomatic_impact", "some_api"))
    error = items_of(data, "special_error_param")["special_error_param_0"]
    right = oracle_turns(error)[0]["content"]
    assert check_special("special_error_param", error.answer, right) is None
    assert check_special("special_error_param", error.answer, right.replace("1234WrongID", "1234")) is not None
    assert check_special("special_error_param", error.answer, "Missing necessary parameters (plan_id)") is not None
    irrelevant = items_of(data, "special_irrelevant")["special_irrelevant_0"]
    assert check_special("special_irrelevant", irrelevant.answer, oracle_turns(irrelevant)[0]["content"]) is None
    assert check_special("special_irrelevant", irrelevant.answer, "Sure, here is the eclipse.") is not None


def test_agent_process_accuracy_counts_milestones_in_order(data):
    item = items_of(data, "agent_multi_turn")["agent_multi_turn_0"]
    steps = [parse_calls(stone) for stone in item.milestones[0]]
    total = len(steps)
    assert process_score(item.milestones, steps) == (total, total)
    assert process_score(item.milestones, []) == (0, total)
    assert process_score(item.milestones, steps[1:]) == (0, total)  # the first milestone never comes: none after
    assert process_score(item.milestones, steps[:-1]) == (total - 1, total)
    detour = steps[:1] + [[("get_latest_message_id", {})]] + steps[1:]
    assert process_score(item.milestones, detour) == (total, total)
    wrong_value = steps[:-1] + [[(steps[-1][0][0], {**steps[-1][0][1], "message": "Lunch?"})]]
    assert process_score(item.milestones, wrong_value) == (total - 1, total)


def test_milestones_with_bare_apostrophes_parse(data):
    item = items_of(data, "agent_multi_step")["agent_multi_step_0"]
    (name, args), = parse_calls(item.milestones[0][1])
    assert name == "add_food_delivery_order" and args["merchant_name"] == "Domino's"
    assert args["items"] == [{"product": "Super Supreme", "quantity": 1}]


@pytest.mark.slow
def test_tiny_served_model_gets_a_well_formed_report(data, tmp_path, monkeypatch):
    model = build_tiny_model(tmp_path / "tiny")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with running_server(model, tmp_path / "serve.log") as url:
        report = run_acebench(AceBenchConfig(agent=url, data=data, limit=1, max_tokens=4, max_steps=2,
                                             concurrency=4), tmp_path / "out")
    assert report["agent"] == url and set(report["categories"]) == set(CATEGORIES)
    assert report["backend_errors"] < report["items"]  # the server answered
    for block in report["categories"].values():
        assert 0 <= block["ci95"][0] <= block["accuracy"] <= block["ci95"][1] <= 1 and block["units"] == 1
    assert 0 <= report["overall_ci95"][0] <= report["overall"] <= report["overall_ci95"][1] <= 1
