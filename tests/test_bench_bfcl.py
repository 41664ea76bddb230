"""BFCL's multi-turn categories through `agentscaler bench bfcl`, judged by bfcl-eval's own checker: the ground truth
passes, an agent that replays it through the tool-calling loop passes, one that never calls fails, and the tiny
random-weight Qwen3 served by `agentscaler serve` gets a well-formed report."""

from __future__ import annotations

import ast
import json

import pytest
from typer.testing import CliRunner

from agentscaler.cli import app
from agentscaler.llm import Completion
from agentscaler.llm.tiny import build_tiny_model
from test_llm_serve import KEY, running_server

pytest.importorskip("bfcl_eval", reason="bfcl-eval is not installed (pip install --no-deps bfcl-eval)")

import agentscaler.bench.bfcl as bfcl  # noqa: E402


def test_the_ground_truth_passes_every_multi_turn_base_entry(tmp_path):
    report = bfcl.run_bfcl(bfcl.BfclConfig(agent="oracle"), tmp_path)
    assert report["entries"] == 200 and report["accuracy"] == 1.0 and report["errors"] == {}
    assert report["pass_hat_k"] == {"1": 1.0} and report["pass_hat_k_ci95"] == {"1": [1.0, 1.0]}
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 200


class Replay:
    """A backend that makes each user turn's ground-truth calls as tool calls, then answers in words."""

    name = "replay"

    def __init__(self, truth: dict[str, list[list[str]]], entry_of_first_question: dict[str, str]):
        self.truth, self.entry_of = truth, entry_of_first_question

    async def chat(self, messages, tools=None, **_):
        entry = self.entry_of[messages[0]["content"]]
        turn = sum(m["role"] == "user" for m in messages) - 1
        if messages[-1]["role"] == "tool" or not self.truth[entry][turn]:
            return Completion({"role": "assistant", "content": "Done."})
        params = {t["function"]["name"]: list(t["function"]["parameters"]["properties"]) for t in tools}
        calls = []
        for i, text in enumerate(self.truth[entry][turn]):
            call = ast.parse(text, mode="eval").body  # positional arguments too: sort('final_report.pdf')
            arguments = {**dict(zip(params[call.func.id], map(ast.literal_eval, call.args))),
                         **{k.arg: ast.literal_eval(k.value) for k in call.keywords}}
            calls.append({"id": f"call_{i}", "type": "function",
                          "function": {"name": call.func.id, "arguments": json.dumps(arguments)}})
        return Completion({"role": "assistant", "content": None, "tool_calls": calls})


def test_an_agent_replaying_the_ground_truth_through_the_loop_passes(tmp_path, monkeypatch):
    entries, truth = bfcl.load_entries("multi_turn_base", 5)
    replay = Replay(truth, {e["question"][0][0]["content"]: e["id"] for e in entries})
    monkeypatch.setattr(bfcl, "make_backend", lambda spec: replay)
    report = bfcl.run_bfcl(bfcl.BfclConfig(agent="replay", limit=5, seeds=[1, 2]), tmp_path)
    assert report["accuracy"] == 1.0 and report["pass_hat_k"] == {"1": 1.0, "2": 1.0}, report["errors"]
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    names = [[[[c.split("(")[0] for c in step] for step in turn] for turn in r["calls"]]
             for r in rows if r["trial"] == 0]
    assert names == [[[[c.split("(")[0] for c in turn]] if turn else [] for turn in truth[e["id"]]] for e in entries]


def test_an_agent_that_never_calls_fails_every_entry(tmp_path, monkeypatch):
    class Hello:
        name = "hello"

        async def chat(self, messages, tools=None, **_):
            return Completion({"role": "assistant", "content": "Hello! How can I help?"})

    monkeypatch.setattr(bfcl, "make_backend", lambda spec: Hello())
    result = CliRunner().invoke(app, ["bench", "bfcl", "--agent", "hello", "--limit", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["accuracy"] == 0 and report["errors"] == {"multi_turn:empty_turn_model_response": 3}


@pytest.mark.slow
def test_the_served_tiny_model_gets_a_well_formed_report(tmp_path_factory, monkeypatch):
    model = build_tiny_model(tmp_path_factory.mktemp("tiny"))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with running_server(model, tmp_path_factory.mktemp("serve") / "serve.log") as url:
        report = bfcl.run_bfcl(bfcl.BfclConfig(agent=url, limit=2, max_tokens=8, temperature=1.0),
                               tmp_path_factory.mktemp("out"))
    assert report["entries"] == 2 and set(report["valid"]) == {"multi_turn_base_0", "multi_turn_base_1"}
    assert 0 <= report["accuracy"] <= 1 and sum(report["errors"].values()) == 2 - round(2 * report["accuracy"])
