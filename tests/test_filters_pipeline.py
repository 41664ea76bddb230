"""The filter pipeline on Ray Data end to end: artifacts, funnel, report, JSONL input, export and the CLI."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from envs_helpers import order, user
from filters_helpers import rollout, shop_run, task_row, write_rollouts, write_tasks
from typer.testing import CliRunner

from agentscaler.artifacts import write_jsonl
from agentscaler.cli import app
from agentscaler.failures import code_of
from agentscaler.filters import ExportConfig, export_training_set, run_filters


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


CREATE = [call("create_order", user_id=user(1), item="pen", quantity=2)]
UPDATE = [call("update_order", order_id=order(1), new_quantity=7)]
READ = [call("get_user", user_id=user(1))]
D1_CREATE = [call("create_order", user_id=user(1, domain=1), item="pen", quantity=2)]  # domain 1 has its own users


@pytest.fixture(scope="module")
def run(tmp_path_factory, ray_session):
    run = shop_run(tmp_path_factory.mktemp("filters-pipeline"), domains=2, policy=False)  # see test_outcomes
    tasks = {"create": task_row(run, 0, 0, CREATE, "create"), "update": task_row(run, 0, 1, UPDATE, "update"),
             "read": task_row(run, 0, 0, READ, "read"), "d1-create": task_row(run, 1, 0, D1_CREATE, "d1-create"),
             "d1-update": task_row(run, 1, 0, UPDATE, "d1-update"),
             "refuse": task_row(run, 0, 0, READ, "refuse", "Delete my account, I am user_1.", outcome="refuse",
                                scenario={"rule": "R1"}, policy="R1. Accounts are never deleted."),
             "irrelevant": task_row(run, 1, 0, [], "irrelevant", "Book me a haircut.", outcome="irrelevant")}
    write_tasks(run, list(tasks.values()))
    ok = rollout(run, tasks["create"], CREATE, "create-r0")
    rows = [
        ok,
        {**ok, "rollout_id": "create-r1"},  # exact duplicate
        rollout(run, tasks["update"], UPDATE, "update-r0", final_hash="f" * 32),  # right, recorded hash wrong
        rollout(run, tasks["update"], [call("update_order", order_id=order(1), new_quantity=8)], "update-r1",
                final_hash=tasks["update"]["gold_hash"]),  # a lying hash
        rollout(run, tasks["read"], READ, "read-r0"),
        rollout(run, tasks["read"], [call("get_user", user_id=user(3))], "read-r1"),  # read-only, wrong calls
        rollout(run, tasks["create"], [call("refund", order_id=order(1))], "create-r2"),  # unknown tool
        rollout(run, tasks["d1-create"], [call("create_order", user_id="user_9", item="pen", quantity=2), *D1_CREATE],
                "d1-create-r0"),  # recovers from an error
        rollout(run, tasks["d1-update"], UPDATE, "d1-update-r0"),
        rollout(run, tasks["d1-create"], D1_CREATE, "d1-create-r1", answer="Your pen order is placed."),
        rollout(run, tasks["d1-update"], [call("update_order", order_id=order(1), new_quantity=9), *UPDATE],
                "d1-update-r1"),  # reaches gold another way: kept, not an exact match
        rollout(run, tasks["refuse"], READ, "refuse-r0", answer="I can't: accounts are never deleted."),
        rollout(run, tasks["refuse"], READ + UPDATE, "refuse-r1"),  # a write on a task to refuse
        rollout(run, tasks["irrelevant"], [], "irrelevant-r0", answer="No tool of mine books haircuts, sorry."),
        rollout(run, tasks["irrelevant"], READ, "irrelevant-r1"),  # a call where no tool serves the request
    ]
    write_rollouts(run, rows)
    return run


@pytest.fixture(scope="module")
def report(run):
    return run_filters(run.path)


EXPECTED = {"create-r1": ("dedup", "exact_duplicate"), "update-r1": ("state_alignment", "state_mismatch"),
            "read-r1": ("exact_match", "read_only_mismatch"), "create-r2": ("validity", "unknown_tool"),
            "refuse-r1": ("outcome", "wrote_on_refuse"), "irrelevant-r1": ("outcome", "called_on_irrelevant")}


def test_every_row_leaves_kept_or_rejected_with_its_stage_and_reason(run, report):
    rejected = {r["rollout_id"]: r for r in run.read_rejected().to_pylist()}
    assert {k: (r["stage"], code_of(r["reason"])) for k, r in rejected.items()} == EXPECTED
    assert "claims gold: it is false" in rejected["update-r1"]["reason"]
    kept = {r["rollout_id"]: r for r in run.read_kept().to_pylist()}
    assert sorted(kept) == ["create-r0", "d1-create-r0", "d1-create-r1", "d1-update-r0", "d1-update-r1",
                            "irrelevant-r0", "read-r0", "refuse-r0", "update-r0"]
    assert "exact_match" not in kept["d1-update-r1"]["tags"] and "exact_match" in kept["d1-update-r0"]["tags"]
    assert "recorded_hash_mismatch" in kept["update-r0"]["tags"]
    assert "recovered_from_errors" in kept["d1-create-r0"]["tags"]
    lineage = kept["d1-create-r0"]
    assert (lineage["task_id"], lineage["domain_id"], lineage["source"], lineage["agent"], lineage["user"]) == (
        "d1-create", 1, "test", "teacher", "template")
    assert lineage["filters_passed"] == ["validity", "outcome", "state_alignment", "exact_match", "dedup"]
    assert [r["reward"] for r in json.loads(lineage["rewards"])] == [0.0, 1.0]


def test_report_counts_the_funnel_per_stage_and_domain(run, report, ray_session):
    assert json.loads(run.filter_report.read_text())["kept"] == report["kept"] == 9
    assert report["nodes"] == [ray_session.get_runtime_context().get_node_id()]  # where the batches were filtered
    assert "ray_node" not in run.read_kept().column_names + run.read_rejected().column_names
    assert [(s["stage"], s["in"], s["out"]) for s in report["stages"]] == [
        ("validity", 15, 14), ("outcome", 14, 12), ("state_alignment", 12, 11), ("exact_match", 11, 10),
        ("dedup", 10, 9)]
    assert report["stages"][1]["reasons"] == {"wrote_on_refuse": 1, "called_on_irrelevant": 1}
    assert report["stages"][2]["reasons"] == {"state_mismatch": 1}
    assert report["domains"]["0"] == {"in": 9, "validity": 8, "outcome": 7, "state_alignment": 6, "exact_match": 5,
                                      "dedup": 4}
    assert report["domains"]["1"] == {"in": 6, "validity": 6, "outcome": 5, "state_alignment": 5, "exact_match": 5,
                                      "dedup": 5}
    assert report["recorded_hash_mismatch"] == 2  # the lying row and the honest-but-misrecorded one
    assert report["tags"]["recovered_from_errors"] == 1


def test_export_writes_a_chat_format_training_set_split_by_domain(run, report, tmp_path):
    summary = export_training_set(run.path, tmp_path / "all.parquet")
    # domain 0 keeps two write trajectories (create, update), domain 1 keeps four: domain 1 is vertical
    assert summary["vertical_domains"] == [1] and (summary["general"], summary["vertical"]) == (4, 5)
    rows = pq.read_table(tmp_path / "all.parquet").to_pylist()
    assert {r["rollout_id"]: r["split"] for r in rows}["d1-update-r0"] == "vertical"
    messages = json.loads(next(r for r in rows if r["rollout_id"] == "create-r0")["messages"])
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert messages[2]["tool_calls"][0]["function"] == {"name": "create_order", "arguments": CREATE[0]["arguments"]}
    assert messages[3]["tool_call_id"] == messages[2]["tool_calls"][0]["id"]
    assert json.loads(rows[0]["tools"])[0]["type"] == "function"
    general = export_training_set(run.path, tmp_path / "g.jsonl",
                                  ExportConfig(format="jsonl", split="general", vertical_domains=[0]))
    lines = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text().splitlines()]
    assert general["rows"] == len(lines) == 5 and {r["domain_id"] for r in lines} == {1}
    strict = export_training_set(run.path, tmp_path / "s.parquet", ExportConfig(strict=True))
    assert strict["rows"] == 8 and "d1-update-r1" not in pq.read_table(tmp_path / "s.parquet")["rollout_id"].to_pylist()


def test_cli_filter_from_jsonl_gives_the_same_verdicts_and_export(run, report, tmp_path):
    rows = run.read_rollouts()
    write_jsonl(rows, tmp_path / "x.jsonl")
    settings = tmp_path / "filters.yaml"
    settings.write_text("max_chars: 48001\nbatch_size: 64\n")
    runner = CliRunner()
    result = runner.invoke(app, ["filter", "--run", str(run.path), "--input", str(tmp_path / "x.jsonl"),
                                 "--config", str(settings), "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    assert "validity" in result.output and "15 in, 9 kept" in result.output
    again = json.loads(run.filter_report.read_text())
    assert again["stages"] == report["stages"] and again["input_path"].endswith("x.jsonl")
    assert (again["config"]["max_chars"], again["config"]["batch_size"]) == (48001, 4)  # the file, then the flag
    result = runner.invoke(app, ["export", "--run", str(run.path), "--out", str(tmp_path / "v.jsonl"),
                                 "--format", "jsonl", "--split", "vertical", "--vertical-domain", "0"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == 4
    result = runner.invoke(app, ["export", "--run", str(run.path)])  # by default, where training reads it
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["out"] == str(run.export) and len(pq.read_table(run.export)) == 9


def test_the_agents_generated_token_ids_reach_the_trainer(tmp_path, ray_session):
    """rollouts -> filters -> export -> the trainer's tokenizer: the ids the agent generated are the ids trained
    on (the kept set and the export carry ``assistant_token_ids``; re-tokenizing would give other ids)."""
    from transformers import AutoTokenizer

    from agentscaler.artifacts import read_rows
    from agentscaler.contracts import READS
    from agentscaler.llm.tiny import build_tiny_model
    from agentscaler.train import tokenize_rows

    tiny = build_tiny_model(tmp_path / "tiny")
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    run = shop_run(tmp_path / "run", policy=False)
    task = task_row(run, 0, 0, CREATE, "create")
    write_tasks(run, [task])
    answer = "All done: your request is complete."
    # the answer spelled one character a token for its first word: the same text, other ids than BPE chooses
    generated = [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(ch))[0] for ch in "All"]
    generated += tokenizer.encode(answer[3:], add_special_tokens=False)
    assert generated != tokenizer.encode(answer, add_special_tokens=False)
    write_rollouts(run, [rollout(run, task, CREATE, "r0", answer=answer, token_ids=[None, generated])])

    assert run_filters(run)["kept"] == 1
    assert export_training_set(run)["rows"] == 1
    (row,) = read_rows(run.export)
    assert json.loads(row["assistant_token_ids"]) == [None, generated]
    (sequence,) = tokenize_rows([{key: row.get(key) for key in READS["train", "export"]}], tokenizer)
    trained = [t for t, label in zip(sequence["input_ids"], sequence["labels"]) if label != -100]
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert trained[-len(generated) - 1:] == generated + [im_end]
    # and what `agentscaler export --format tokens` writes is the same sequence
    result = CliRunner().invoke(app, ["export", "--run", str(run.path), "--format", "tokens", "--model", str(tiny),
                                      "--out", str(tmp_path / "tokens.parquet")])
    assert result.exit_code == 0, result.output
    (tokens,) = pq.read_table(tmp_path / "tokens.parquet").to_pylist()
    assert (tokens["input_ids"], tokens["labels"]) == (sequence["input_ids"], sequence["labels"])
