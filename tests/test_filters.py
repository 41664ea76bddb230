"""The filters row by row: each check fails for its known reason, and the trajectories that should pass do."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from envs_helpers import order, user
from filters_helpers import rollout, shop_run, task_row, write_tasks

from agentscaler.filters import DedupIndex, DedupKeys, FilterConfig, Validity, judges
from agentscaler.filters.trajectory import call_key, normalize


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


GOLD_CREATE = [call("create_order", user_id=user(1), item="pen", quantity=2)]
THREE_PENS = [call("create_order", user_id=user(1), item="pen", quantity=3)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = shop_run(tmp_path_factory.mktemp("filters"), policy=False)  # the rules are test_outcomes' subject
    write_tasks(run, [
        task_row(run, 0, 0, [call("get_user", user_id=user(1))], "read"),
        task_row(run, 0, 0, [call("create_order", user_id=user(1), item="pen", quantity=2)], "create"),
        task_row(run, 0, 0, [call("update_order", order_id=order(1), new_quantity=17),
                             call("cancel_order", order_id=order(2))], "update-cancel"),
        # the environment changed under these two: the start no longer hashes as recorded, or the gold calls
        # no longer reach the gold hash (here: the hash of three pens, the calls order two)
        {**task_row(run, 0, 0, GOLD_CREATE, "moved-start"), "initial_hash": "0" * 32},
        {**task_row(run, 0, 0, GOLD_CREATE, "broken-gold"),
         "gold_hash": task_row(run, 0, 0, THREE_PENS, "x")["gold_hash"]},
    ])
    return run


@pytest.fixture(scope="module")
def tasks(run):
    return {t.task_id: t.row() for t in run.read_tasks()}


def verdicts(run, row):
    """The row through the four filters on their own, as the pipeline chains them: (stage, reason, tags, row)."""
    out = pa.Table.from_pylist([row])
    for stage in (Validity(), *judges(run.path)):
        out = stage(out)
    result = out.to_pylist()[0]
    return result["stage"], result["reason"], result["tags"], result


def messages(row):
    return json.loads(row["messages"])


def with_messages(row, msgs):
    return {**row, "messages": json.dumps(msgs)}




def test_gold_following_trajectory_passes_every_filter_with_exact_match(run, tasks):
    stage, reason, tags, row = verdicts(run, rollout(run, tasks["create"], GOLD_CREATE, "ok"))
    assert (stage, reason) == (None, None)
    assert row["filters_passed"] == ["validity", "outcome", "state_alignment", "exact_match"]
    assert tags == ["exact_match"] and row["recomputed_hash"] == tasks["create"]["gold_hash"]
    assert row["source"] == "test" and row["writes"] is True
    assert [r["reward"] for r in json.loads(row["rewards"])] == [1.0]


def test_a_lying_recorded_hash_is_caught(run, tasks):
    wrong = [call("create_order", user_id=user(1), item="pen", quantity=3)]
    liar = rollout(run, tasks["create"], wrong, "liar", final_hash=tasks["create"]["gold_hash"])
    stage, reason, tags, row = verdicts(run, liar)
    assert stage == "state_alignment" and reason.startswith("state_mismatch")
    assert "claims gold: it is false" in reason and "recorded_hash_mismatch" in tags
    assert row["recomputed_hash"] != tasks["create"]["gold_hash"]


def test_a_wrong_recorded_hash_on_a_right_trajectory_is_kept_and_reported(run, tasks):
    stage, _, tags, _ = verdicts(run, rollout(run, tasks["create"], GOLD_CREATE, "r", final_hash="0" * 32))
    assert stage is None and "recorded_hash_mismatch" in tags


@pytest.mark.parametrize("calls, code, detail", [
    ([call("refund_order", order_id=order(1))], "unknown_tool", "'refund_order'"),
    ([call("create_order", user_id=user(1), item="pen", quantity="two")], "schema_invalid", "'two' is not of type"),
    ([call("create_order", user_id=user(1), item="pen")], "schema_invalid", "'quantity' is a required property"),
    ([call("get_user", user_id=user(1))] * 3, "repetition", "made 3 times"),
])
def test_validity_rejects_bad_calls(run, tasks, calls, code, detail):
    stage, reason, _, _ = verdicts(run, rollout(run, tasks["create"], calls, "bad"))
    assert stage == "validity" and reason.startswith(code + ":") and detail in reason


@pytest.mark.parametrize("schema", [{"type": "object", "properties": {"user_id": {"type": "strin"}}},
                                    {"type": "object", "properties": {"user_id": {"$ref": "#/nowhere"}}},
                                    {"type": "object", "properties": {"user_id": {"pattern": "(["}}}])
def test_a_broken_tool_schema_rejects_the_call_instead_of_crashing(run, tasks, schema):
    tools = [{"type": "function", "function": {"name": "get_user", "parameters": schema}}]
    row = {**rollout(run, tasks["read"], [call("get_user", user_id=user(1))], "x"), "tools": json.dumps(tools)}
    assert Validity().check(row).reason.startswith("schema_invalid: call 0 (get_user): the tool's own JSON Schema")


def test_validity_rejects_arguments_that_are_not_an_object(run, tasks):
    row = rollout(run, tasks["create"], GOLD_CREATE, "x")
    msgs = messages(row)
    msgs[2]["tool_calls"][0]["function"]["arguments"] = "{not json"
    assert verdicts(run, with_messages(row, msgs))[1].startswith("bad_arguments")


def test_validity_rejects_broken_turns(run, tasks):
    row = rollout(run, tasks["create"], GOLD_CREATE, "x")
    msgs = messages(row)
    orphan = msgs[:-1] + [{"role": "tool", "tool_call_id": "call_9", "content": "{}"}] + msgs[-1:]
    assert verdicts(run, with_messages(row, orphan))[1].startswith("orphan_tool_message: message 4")
    unanswered = msgs[:3] + msgs[4:]
    assert verdicts(run, with_messages(row, unanswered))[1].startswith("unanswered_call")
    assistant_first = msgs[:1] + msgs[2:]
    assert verdicts(run, with_messages(row, assistant_first))[1].startswith("turn_order")
    assert verdicts(run, {**row, "messages": "not json"})[1].startswith("malformed")


def test_validity_requires_a_final_answer(run, tasks):
    row = rollout(run, tasks["create"], GOLD_CREATE, "x")
    stage, reason, _, _ = verdicts(run, with_messages(row, messages(row)[:-1]))
    assert stage == "validity" and reason.startswith("no_final_answer")


def test_validity_rejects_repeated_sentences_and_degenerate_text(run, tasks):
    calls = [call("get_user", user_id=f"user_{n}") for n in (1, 2, 3)]
    row = rollout(run, tasks["create"], calls, "x", answer="Let me look that up for you.")
    msgs = messages(row)
    for m in msgs[2:-1:2]:  # the three tool-call turns narrate too
        m["content"] = "Let me look that up for you."
    assert verdicts(run, with_messages(row, msgs))[1] == (
        "repetition: the assistant says 'let me look that up for you' 4 times (at most 3)")
    msgs[2]["content"] = "One moment."
    assert Validity().check(with_messages(row, msgs)).reason is None  # three times is not a loop
    babble = "and then the order was placed " * 5
    assert verdicts(run, rollout(run, tasks["create"], GOLD_CREATE, "x", answer=babble))[1] == (
        "repetition: message 4 repeats 'and then the order was placed' 5 times (at most 3)")


def test_validity_enforces_budgets_and_rollout_errors(run, tasks):
    row = rollout(run, tasks["create"], GOLD_CREATE, "x")
    tight = Validity(FilterConfig(max_messages=4)).check(row)
    assert tight.reason == "budget: 5 messages (at most 4)"
    assert Validity().check({**row, "status": "error", "error": "engine died"}).reason == "rollout_error: engine died"


def test_wrong_final_state_is_rejected(run, tasks):
    wrong = [call("update_order", order_id=order(1), new_quantity=8), call("cancel_order", order_id=order(2))]
    stage, reason, tags, _ = verdicts(run, rollout(run, tasks["update-cancel"], wrong, "x"))
    assert stage == "state_alignment" and reason.startswith("state_mismatch") and "claims gold" not in reason
    assert "recorded_hash_mismatch" not in tags


def test_read_only_task_with_wrong_calls_fails_exact_match(run, tasks):
    stage, reason, _, _ = verdicts(run, rollout(run, tasks["read"], [call("get_user", user_id=user(2))], "x"))
    assert stage == "exact_match"
    assert reason.startswith("read_only_mismatch") and f'"{user(2)}"' in reason and f'"{user(1)}"' in reason
    assert verdicts(run, rollout(run, tasks["read"], [], "x"))[1].endswith('is missing, gold has ["get_user",'
                                                                           f'{{"user_id":"{user(1)}"}}]')


def test_erroring_then_recovering_trajectory_is_kept_and_tagged(run, tasks):
    calls = [call("create_order", user_id="user_999", item="pen", quantity=2), *GOLD_CREATE]
    stage, _, tags, row = verdicts(run, rollout(run, tasks["create"], calls, "x"))
    assert stage is None and "recovered_from_errors" in tags and "exact_match" in tags
    assert json.loads(row["call_errors"]) == [True, False]
    assert [(r["error"], r["reward"]) for r in json.loads(row["rewards"])] == [(True, 0.0), (False, 1.0)]


def test_write_task_reached_another_way_is_kept_without_exact_match(run, tasks):
    other_order = [call("cancel_order", order_id=order(2)), call("update_order", order_id=order(1), new_quantity=17)]
    stage, _, tags, row = verdicts(run, rollout(run, tasks["update-cancel"], other_order, "x"))
    assert stage is None and "exact_match" not in tags
    assert [r["reward"] for r in json.loads(row["rewards"])] == [0.5, 0.5]


def test_harmful_writes_get_negative_rewards_and_reads_zero(run, tasks):
    from agentscaler.envs import DomainSimulator, load_env

    sim = DomainSimulator(load_env(run.path, 0))
    original = next(o["quantity"] for o in sim.rows("orders") if o["order_id"] == order(3))
    calls = [*GOLD_CREATE, call("update_order", order_id=order(3), new_quantity=original + 5),
             call("list_orders", user_id=user(1)), call("update_order", order_id=order(3), new_quantity=original)]
    stage, _, _, row = verdicts(run, rollout(run, tasks["create"], calls, "x"))
    assert stage is None
    assert [r["reward"] for r in json.loads(row["rewards"])] == [1.0, -1.0, 0.0, 1.0]


def test_tasks_the_environment_no_longer_reproduces_are_rejected(run, tasks):
    stage, reason, _, row = verdicts(run, rollout(run, tasks["moved-start"], GOLD_CREATE, "x"))
    assert stage == "state_alignment" and reason.startswith("initial_state_mismatch: state 0 of domain 0 hashes to")
    assert row["recomputed_hash"] is None
    stage, reason, _, row = verdicts(run, rollout(run, tasks["broken-gold"], THREE_PENS, "x"))
    assert (stage, reason) == ("state_alignment", "gold_not_reproducible: the gold calls of broken-gold no longer "
                                                  "reach its gold_hash")
    assert row["recomputed_hash"] == tasks["broken-gold"]["gold_hash"] and row["rewards"] is None


def test_unknown_task_is_rejected_by_the_first_judge(run, tasks):
    row = {**rollout(run, tasks["create"], GOLD_CREATE, "x"), "task_id": "nope"}
    stage, reason, _, _ = verdicts(run, row)
    assert stage == "outcome" and reason.startswith("unknown_task")


def test_normalization_of_values():
    assert normalize({"b": 1.0, "a": " x ", "c": None, "d": [2.0, True]}) == {"a": "x", "b": 1, "d": [2, True]}
    assert call_key("f", {"q": 1, "p": "A"}) == call_key("f", {"p": " A", "q": 1.0, "r": None})
    assert call_key("f", {"p": "A"}) != call_key("f", {"p": "a"})


def test_dedup_catches_exact_and_near_copies_and_keeps_distinct_ones(run, tasks):
    answer = ("I placed an order for two pens for user one. It will ship from our warehouse within three "
              "business days, and you will get an email with the tracking number as soon as it leaves. "
              "Is there anything else I can help you with today?")
    first = rollout(run, tasks["create"], GOLD_CREATE, "a", answer=answer)
    copy = {**first, "rollout_id": "b"}
    near = rollout(run, tasks["create"], GOLD_CREATE, "c", answer=answer.replace("three", "four"))
    other = rollout(run, tasks["update-cancel"], json.loads(tasks["update-cancel"]["gold_calls"]), "d", answer=answer)
    different_values = rollout(run, tasks["create"], [call("create_order", user_id=user(2), item="lamp",
                                                           quantity=9)], "e", intent="Buy nine lamps for user two.",
                               answer="Nine lamps are on their way to user two.")
    keyed = DedupKeys()(pa.Table.from_pylist([first, copy, near, other, different_values])).to_pylist()
    index = DedupIndex()
    reasons = [index.check(r["rollout_id"], r["exact_key"], r["dedup_block"], r["minhash"]) for r in keyed]
    assert reasons[0] is None and reasons[3] is None and reasons[4] is None
    assert reasons[1] == "exact_duplicate: the same dialogue and calls as a"
    assert reasons[2].startswith("near_duplicate: estimated Jaccard")
    assert reasons[2].endswith("with a (same calls create_order)")
