"""Each task outcome judged right and wrong from replayed calls and states, and the teacher playing each one.

Tasks are made by hand (``task_row``) on the real shop environment; ids and values are read from its
synthesized state, never assumed.
"""

from __future__ import annotations

import asyncio
import json

import pyarrow as pa
import pytest
from filters_helpers import rollout, shop_run, simulator, task_row, write_tasks
from test_evaluate import DoesNothing

from agentscaler.contracts import Task
from agentscaler.envs import asks_confirmation, says_yes
from agentscaler.evaluate import EvalConfig, evaluate, judge
from agentscaler.filters import Validity, judges, run_filters
from agentscaler.llm import Completion
from agentscaler.rollouts import STOP, LLMUser, RolloutConfig, TemplateUser, run_rollouts
from agentscaler.rollouts import run as rollout_run
from agentscaler.rollouts.teacher import NO_TOOL

def call(name, **arguments):
    return {"name": name, "arguments": arguments}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return shop_run(tmp_path_factory.mktemp("outcomes"))


@pytest.fixture(scope="module")
def data(shop):
    sim = simulator(shop.path, 0)
    sim.reset(0)
    order = sim.rows("orders")[0]
    user = next(u for u in sim.rows("users") if u["user_id"] == order["user_id"])
    policy = sim.spec.policy
    limit = next(r for r in policy.rules if r.kind == "limit" and r.column == "quantity" and r.owner is None)
    return {"order": order, "user": user, "item": "brass desk lamp", "policy": policy, "limit": limit}


@pytest.fixture(scope="module")
def tasks(shop, data):
    order, user_id = data["order"]["order_id"], data["user"]["user_id"]
    create = call("create_order", user_id=user_id, item=data["item"], quantity=2)
    lookup = call("list_orders", user_id=user_id)
    too_many = int(data["limit"].maximum) + 1
    rows = [
        task_row(shop, 0, 0, [lookup], "refuse", f"I am {user_id}. Make my order {order} {too_many} pieces.",
                 outcome="refuse", scenario={"rule": data["limit"].id, "reason": "wants more than allowed"}),
        task_row(shop, 0, 0, [call("get_user", user_id=user_id), create], "clarify",
                 f"I am {user_id} and I want two of something for my desk.", outcome="clarify",
                 scenario={"withheld": {"item": data["item"]}, "known": {"user id": user_id}}),
        task_row(shop, 0, 0, [], "irrelevant", "What will the weather be in Lisbon tomorrow?", outcome="irrelevant",
                 scenario={"reason": "wants a forecast"}),
        task_row(shop, 0, 0, [call("update_order", order_id=f"{order}0", new_quantity=4), lookup,
                              call("update_order", order_id=order, new_quantity=4)], "recover",
                 f"I am {user_id}; change my order {order}0 to 4 pieces.", outcome="recover",
                 scenario={"first_attempt": {"order number": f"{order}0"}, "known": {"user id": user_id}}),
        task_row(shop, 0, 0, [call("get_user", user_id=f"{user_id}0"), call("get_user", user_id=user_id)],
                 "recover-read", "Show me my profile.", outcome="recover",
                 scenario={"first_attempt": {"user id": f"{user_id}0"}, "known": {"user id": user_id}}),
        task_row(shop, 0, 0, [lookup, create], "complete", "Check my orders, then order two of my usual.",
                 scenario={"known": {"user id": user_id, "item": data["item"]}, "persona": "terse"}),
        task_row(shop, 0, 0, [lookup, call("update_order", order_id=order, new_quantity=8)], "chatty",
                 "Could you change the quantity on my order to 8?",
                 scenario={"known": {"order number": order, "user id": user_id}, "persona": "chatty"}),
        task_row(shop, 0, 0, [lookup, call("cancel_order", order_id=order)], "cancel",
                 f"I am {user_id}; please cancel my order {order}."),
    ]
    rows = [{**row, "policy": data["policy"].text()} for row in rows]  # every task of a domain carries its policy
    write_tasks(shop, rows)
    return {row["task_id"]: row for row in rows}


def verdict(shop, row):
    """(stage, reason, tags) of the row through validity and the judging filters, as the pipeline chains them."""
    out = pa.Table.from_pylist([row])
    for stage in (Validity(), *judges(shop.path)):
        out = stage(out)
    result = out.to_pylist()[0]
    return result["stage"], result["reason"], result["tags"]


def code(reason):
    return reason.split(":")[0] if reason else None


def test_a_refuse_task_passes_with_lookups_and_no_write(shop, tasks):
    right = rollout(shop, tasks["refuse"], json.loads(tasks["refuse"]["gold_calls"]), "ok",
                    answer="I'm sorry, I can't: that is more than an order may hold.")
    assert verdict(shop, right)[:2] == (None, None)
    assert judge(shop.path, right) is None
    words_only = rollout(shop, tasks["refuse"], [], "words", answer="I can't make the order that large.")
    assert verdict(shop, words_only)[:2] == (None, None)  # the lookups are a courtesy, not the verdict


@pytest.mark.parametrize("answer", ["", '":":":":', "Done.", "I'm sorry, I can't."])
def test_a_refuse_task_fails_when_the_last_answer_does_not_decline_citing_the_rule(shop, tasks, answer):
    silent = rollout(shop, tasks["refuse"], [], "silent", answer=answer)
    assert code(judge(shop.path, silent)) == "not_declined"  # making no write is not enough to pass eval
    stage, reason, _ = verdict(shop, silent)  # the filters: an empty answer is no answer at all (validity)
    assert (stage, code(reason)) == ("outcome", "not_declined") or not answer and stage == "validity"


def test_a_refuse_task_fails_on_any_write_even_one_the_simulator_refused(shop, tasks, data):
    lookup, order = json.loads(tasks["refuse"]["gold_calls"]), data["order"]["order_id"]
    breaking = call("update_order", order_id=order, new_quantity=int(data["limit"].maximum) + 1)
    refused = simulator(shop.path, 0).replay(0, [*lookup, breaking])
    assert json.loads(refused.observations[1].observation)["rule"] == data["limit"].id
    assert refused.final_hash == tasks["refuse"]["gold_hash"]  # the state is right, the attempt is not
    attempted = rollout(shop, tasks["refuse"], [*lookup, breaking], "tried")
    stage, reason, _ = verdict(shop, attempted)
    assert (stage, code(reason)) == ("outcome", "wrote_on_refuse") and "update_order" in reason
    assert code(judge(shop.path, attempted)) == "wrote_on_refuse"  # evaluation judges the same way
    done = rollout(shop, tasks["refuse"], [*lookup, call("update_order", order_id=order, new_quantity=3)], "wrote")
    assert code(verdict(shop, done)[1]) == "wrote_on_refuse"


def test_a_clarify_task_passes_when_the_agent_asks_before_the_call(shop, tasks, data):
    calls = json.loads(tasks["clarify"]["gold_calls"])
    asked = rollout(shop, tasks["clarify"], calls, "asked",
                    exchange=["Which item would you like?", f"The item is {data['item'].upper()}."])
    assert verdict(shop, asked)[:2] == (None, None)


def test_a_clarify_task_fails_when_the_agent_guesses_the_withheld_value(shop, tasks, data):
    calls = json.loads(tasks["clarify"]["gold_calls"])
    guessed = rollout(shop, tasks["clarify"], calls, "guessed")
    stage, reason, _ = verdict(shop, guessed)
    assert (stage, code(reason)) == ("outcome", "guessed_withheld_value") and "the item" in reason
    # the user says it, but only after the call used it
    late = json.loads(guessed["messages"])
    late.insert(-1, {"role": "user", "content": f"The item is {data['item']}."})
    assert code(verdict(shop, {**guessed, "messages": json.dumps(late)})[1]) == "guessed_withheld_value"
    # asked, but another value used: the state says so
    other = [calls[0], call("create_order", **{**calls[1]["arguments"], "item": "lamp"})]
    stage, reason, _ = verdict(shop, rollout(shop, tasks["clarify"], other, "wrong",
                                             exchange=["Which item?", "The item is lamp."]))
    assert (stage, code(reason)) == ("state_alignment", "state_mismatch")


def test_an_irrelevant_task_passes_without_a_call_and_fails_with_one(shop, tasks, data):
    quiet = rollout(shop, tasks["irrelevant"], [], "quiet", answer=NO_TOOL)
    assert verdict(shop, quiet)[:2] == (None, None)
    lookup = rollout(shop, tasks["irrelevant"], [call("get_user", user_id=data["user"]["user_id"])], "busy")
    stage, reason, _ = verdict(shop, lookup)
    assert (stage, code(reason)) == ("outcome", "called_on_irrelevant")
    for answer in ("", "Sure, here it is."):  # no call, yet no word that it cannot be done
        silent = rollout(shop, tasks["irrelevant"], [], "silent", answer=answer)
        assert code(judge(shop.path, silent)) == "not_declined"


def test_a_recover_task_passes_after_the_failing_attempt_or_without_it(shop, tasks):
    gold = json.loads(tasks["recover"]["gold_calls"])
    stage, reason, tags = verdict(shop, rollout(shop, tasks["recover"], gold, "fails-first"))
    assert (stage, reason) == (None, None) and {"recovered_from_errors", "exact_match"} <= set(tags)
    stage, reason, tags = verdict(shop, rollout(shop, tasks["recover"], gold[1:], "straight"))
    assert (stage, reason) == (None, None) and "exact_match" in tags  # the failing attempt is not required
    stage, reason, _ = verdict(shop, rollout(shop, tasks["recover"], gold[:2], "gave-up"))
    assert (stage, code(reason)) == ("state_alignment", "state_mismatch")


def test_a_read_only_recover_task_must_match_the_golds_successful_calls(shop, tasks, data):
    gold = json.loads(tasks["recover-read"]["gold_calls"])
    assert verdict(shop, rollout(shop, tasks["recover-read"], gold, "a"))[:2] == (None, None)
    assert verdict(shop, rollout(shop, tasks["recover-read"], gold[1:], "b"))[:2] == (None, None)
    other = [gold[0], call("get_user", user_id=next(u["user_id"] for u in simulator(shop.path, 0).rows("users")
                                                     if u["user_id"] != data["user"]["user_id"]))]
    stage, reason, _ = verdict(shop, rollout(shop, tasks["recover-read"], other, "c"))
    assert (stage, code(reason)) == ("exact_match", "read_only_mismatch")


def test_a_write_before_the_user_is_identified_is_rejected(shop, tasks, data):
    lookup, create = json.loads(tasks["complete"]["gold_calls"])
    assert verdict(shop, rollout(shop, tasks["complete"], [lookup, create], "ok"))[:2] == (None, None)
    stage, reason, _ = verdict(shop, rollout(shop, tasks["complete"], [create], "blind"))
    assert (stage, code(reason)) == ("outcome", "unidentified_write")
    # a lookup whose recorded result was made up: the replay, not the record, says it failed
    user_id = data["user"]["user_id"]
    liar = rollout(shop, tasks["complete"], [call("get_user", user_id=f"{user_id}0"), create], "liar")
    messages = json.loads(liar["messages"])
    assert "error" in json.loads(messages[3]["content"])
    messages[3]["content"] = json.dumps(data["user"])
    stage, reason, _ = verdict(shop, {**liar, "messages": json.dumps(messages)})
    assert (stage, code(reason)) == ("outcome", "unidentified_write")


def test_a_destructive_write_needs_a_confirmation_question_and_a_yes(shop, tasks, data):
    calls = json.loads(tasks["cancel"]["gold_calls"])
    question = f"I will cancel order {data['order']['order_id']}. Shall I go ahead?"
    confirmed = rollout(shop, tasks["cancel"], calls, "yes", exchange=[question, "Yes, please."])
    assert verdict(shop, confirmed)[:2] == (None, None)
    for name, exchange in (("unasked", []), ("no", [question, "No, leave it."]),
                           ("not-a-question", ["I will cancel it now.", "Yes."])):
        stage, reason, _ = verdict(shop, rollout(shop, tasks["cancel"], calls, name, exchange=exchange))
        assert (stage, code(reason)) == ("outcome", "unconfirmed_destructive_write"), name


@pytest.fixture(scope="module")
def played(shop, tasks, ray_session):
    summary = run_rollouts(shop, RolloutConfig(actors=1, concurrency=8), tasks=shop.read_tasks())
    return summary, {r["task_id"]: r for r in shop.read_rollouts()}


def dialogue(row):
    messages = json.loads(row["messages"])
    calls = [c["function"] for m in messages for c in m.get("tool_calls") or []]
    return messages, [(c["name"], json.loads(c["arguments"])) for c in calls]


def made(messages, name):
    """The index of the message that calls ``name``."""
    return next(i for i, m in enumerate(messages) for c in m.get("tool_calls") or [] if c["function"]["name"] == name)


def test_teacher_rollouts_do_what_each_outcome_asks_and_pass_the_filters(shop, tasks, played):
    summary, rows = played
    assert summary["reached_gold_hash_rate"] == 1.0 and summary["status"] == {"completed": len(tasks)}
    assert summary["outcomes"]["recover"] == {"episodes": 2, "reached_gold_hash": 2}
    report = run_filters(shop.path)
    assert report["kept"] == len(tasks), report["stages"]
    for row in rows.values():
        answer = json.loads(row["messages"])[-1]["content"]
        assert "{" not in answer and "[" not in answer  # words, not a JSON dump


def test_the_teacher_refuses_citing_the_rule_after_the_lookups(played, tasks, data):
    messages, calls = dialogue(played[1]["refuse"])
    assert calls == [(c["name"], c["arguments"]) for c in json.loads(tasks["refuse"]["gold_calls"])]
    assert data["limit"].text in messages[-1]["content"] and "can't" in messages[-1]["content"]
    assert data["policy"].text() in messages[0]["content"]  # the policy is in the agent's system prompt


def test_the_teacher_asks_for_the_withheld_value_before_the_call(played, data):
    messages, calls = dialogue(played[1]["clarify"])
    question = made(messages, "create_order") - 2
    assert made(messages, "get_user") < question and "item" in messages[question]["content"]
    assert messages[question + 1] == {"role": "user", "content": f'The item is "{data["item"]}".'}
    assert data["item"] not in messages[1]["content"] and calls[1][1]["item"] == data["item"]
    assert "user id" not in messages[question]["content"]  # the intent said it


def test_the_teacher_confirms_before_a_destructive_write(played, data):
    messages, _ = dialogue(played[1]["cancel"])
    cancel = made(messages, "cancel_order")
    question, answer = messages[cancel - 2], messages[cancel - 1]
    assert asks_confirmation(question["content"]) and data["order"]["order_id"] in question["content"]
    assert answer["role"] == "user" and says_yes(answer["content"])
    assert messages[-1]["content"] == f"All done. The order {data['order']['order_id']} is deleted."


def test_the_teacher_makes_no_call_on_an_irrelevant_task(played):
    messages, calls = dialogue(played[1]["irrelevant"])
    assert calls == [] and messages[-2]["role"] == "user" and messages[-1]["content"] == NO_TOOL


def test_the_teacher_recovers_from_the_failing_attempt(played, data):
    messages, calls = dialogue(played[1]["recover"])
    tool = [json.loads(m["content"]) for m in messages if m["role"] == "tool"]
    assert "error" in tool[0] and all("error" not in t for t in tool[1:])
    assert messages[-1]["content"] == f"All done. The order {data['order']['order_id']} now has quantity 4."


def test_a_user_gives_the_out_of_date_value_first_and_the_right_one_when_it_fails(played, data):
    messages, _ = dialogue(played[1]["recover-read"])
    user_id = data["user"]["user_id"]
    assert [m["content"] for m in messages if m["role"] == "user"][1:3] == [
        f"The user id is {user_id}0.", f"The user id is {user_id}."]
    retry = messages[made(messages, "get_user") + 2]
    assert retry["content"].startswith("That did not work: ") and retry["content"].endswith(
        "Could you tell me the user id?")


def test_terse_and_chatty_users_say_known_values_when_asked_or_at_once(played, data, tasks):
    terse, _ = dialogue(played[1]["complete"])  # the lookup needs the user id: asked for before it
    assert [m["role"] for m in terse[:5]] == ["system", "user", "assistant", "user", "assistant"]
    assert terse[2]["content"] == "Could you tell me the user id?" and not terse[2].get("tool_calls")
    assert terse[3]["content"] == f"The user id is {data['user']['user_id']}."
    assert terse[4]["tool_calls"] and terse[6]["content"] == "Could you tell me the item?"
    assert terse[7]["content"] == f'The item is "{data["item"]}".'
    chatty, _ = dialogue(played[1]["chatty"])
    assert data["order"]["order_id"] in chatty[1]["content"] and data["user"]["user_id"] in chatty[1]["content"]
    assert chatty[2].get("tool_calls") and chatty[-1]["content"].endswith("now has quantity 8.")


def test_the_template_user_answers_confirmations_with_yes_and_unknowns_plainly(tasks):
    task = Task.from_row({**tasks["clarify"],
                          "scenario": json.dumps({"withheld": {"item": "lamp"}, "unknown": ["order number"]})})
    opening = [{"role": "system", "content": "s"}, {"role": "user", "content": task.intent}]

    def answer(text):
        return TemplateUser.answer(task, opening + [{"role": "assistant", "content": text}])

    assert answer("I will order 2. Shall I go ahead?") == "Yes, please go ahead."
    assert answer("What is your order number?") == "Sorry, I don't know the order number."
    assert answer("Can you confirm the item is lamp?") == "Yes, please go ahead."  # it names the value: no question
    assert answer("Which item?") == "The item is lamp."
    assert answer("Your order is placed.").endswith(STOP)
    two = Task.from_row({**tasks["clarify"], "scenario": json.dumps({"known": {
        "order item": "pen", "order item for the third request": "lamp"}})})
    assert TemplateUser.answer(two, opening + [{"role": "assistant", "content": "The order item for the third "
                                                "request?"}]) == "The order item for the third request is lamp."
    stale = Task.from_row({**tasks["clarify"], "scenario": json.dumps({"known": {"item": "desk"},
                                                                       "first_attempt": {"item": "dsek"}})})
    gave_stale = opening + [{"role": "assistant", "content": "Which item?"}, {"role": "user", "content": "dsek"}]
    assert TemplateUser.answer(stale, gave_stale + [{"role": "assistant", "content": "I'll order the item dsek, "
                                                     "shall I go ahead?"}]) == "Yes, please go ahead."
    assert TemplateUser.answer(stale, gave_stale + [{"role": "assistant", "content": "That did not work. Which "
                                                     "item?"}]) == "The item is desk."
    mind = Task.from_row({**tasks["clarify"], "scenario": json.dumps({"known": {"item": "desk"},
                                                                      "changes": {"item": "lamp"}})})
    assert TemplateUser.answer(mind, opening + [{"role": "assistant", "content": "Which item?"}]) == (
        "The item is lamp. Sorry, I changed my mind: the item is desk.")


def test_evaluation_reports_pass_rates_per_outcome(shop, tasks, played, monkeypatch):
    settings = EvalConfig(agent="teacher", split="train", concurrency=8, rollouts=RolloutConfig(actors=1))
    report = evaluate(shop, settings)
    assert report["pass_rate"] == 1.0 and report["by_outcome"]["recover"]["tasks"] == 2
    assert set(report["by_outcome"]) == {"complete", "refuse", "clarify", "irrelevant", "recover"}
    monkeypatch.setattr(rollout_run, "backend_factories", lambda run, agent, user: (lambda t: DoesNothing(),
                                                                                     TemplateUser()))
    report = evaluate(shop, settings.model_copy(update={"agent": "nothing"}))
    rates = {outcome: block["pass_rate"] for outcome, block in report["by_outcome"].items()}
    # "done" without a call is wrong everywhere: where nothing may change, the answer must say no (and why)
    assert rates == {"complete": 0.0, "refuse": 0.0, "clarify": 0.0, "irrelevant": 0.0, "recover": 0.0}


class Recorder:
    """A chat backend that keeps the messages it was sent and answers with a fixed line."""

    name = "recorder"

    def __init__(self):
        self.sent = []

    async def chat(self, messages, tools=None, **_):
        self.sent.append(messages)
        return Completion({"role": "assistant", "content": "The item is a lamp."})


def test_the_llm_user_is_told_its_scenario(tasks, data):
    backend = Recorder()
    task = Task.from_row({**tasks["clarify"], "scenario": json.dumps({
        "reason": "wants a desk lamp", "known": {"user id": data["user"]["user_id"]}, "unknown": ["order id"],
        "withheld": {"item": data["item"]}, "behaviour": "Short answers.", "persona": "terse"})})
    asyncio.run(LLMUser(backend).reply(task, [{"role": "system", "content": "s"}]))
    system = backend.sent[0][0]["content"]
    assert task.intent in system and "Why you get in touch: wants a desk lamp" in system
    assert f"What you know (say it when it is needed): user id: {data['user']['user_id']}" in system
    assert f"What you say only when the agent asks for it, never before: item: {data['item']}" in system
    assert "What you do not know: order id" in system and "How you behave (terse): Short answers." in system
