"""Stage 6: tasks of chained sub-goals with data dependencies, gold runs that replay, the user's words, and the
task checker (each outcome's own tests: ``test_tasks_outcomes.py``)."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from envs_helpers import CERTIFICATE_TOOLS, make_run, s, shop_tools, tool, toolbench_groups
from typer.testing import CliRunner

from agentscaler.cli import app
from agentscaler.contracts import Task
from agentscaler.envs import Column, DomainSimulator, ForeignKey, Table, build_domain, build_envs, load_env, spoken
from agentscaler.envs.naming import unglue
from agentscaler.failures import CODES
from agentscaler.tasks import TaskConfig, build_tasks, check_task
from agentscaler.tasks.check import missing_values
from agentscaler.tasks.intent import (_located, _noun, action_verb, field_words, goal_phrase, request_noun,
                                      said_values)
from agentscaler.tasks.plan import Goal, Plan, PlanError, Step, sample_plan


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    run = make_run(tmp_path_factory.mktemp("tasks"), [shop_tools(), shop_tools()[:4]])
    build_envs(run, rows=10, workers=1)
    build_tasks(run, TaskConfig(per_domain=12, seed=3), workers=1)
    return run


def test_tasks_have_the_contract_columns_and_most_write(shop):
    tasks = shop.read_tasks()
    assert len(tasks) >= 16
    assert {"task_id", "domain_id", "state_index", "intent", "gold_calls", "gold_hash", "writes", "outcome",
            "scenario", "policy"} <= set(tasks[0].row())
    assert len({t.task_id for t in tasks}) == len(tasks)
    assert sum(t.writes for t in tasks if t.outcome != "refuse") / len(tasks) >= 0.5
    assert all(t.policy == load_env(shop.path, t.domain_id).policy.text() != "" for t in tasks)
    for t in tasks:
        for call in t.calls:
            assert set(call) == {"name", "arguments"}
    summary = json.loads(shop.tasks_summary.read_text())
    assert summary["tasks"] == len(tasks) and summary["write_tasks"] + summary["read_only_tasks"] == len(tasks)
    assert sum(summary["outcomes"].values()) == len(tasks)


def test_tasks_chain_sub_goals_whose_later_calls_take_values_earlier_calls_returned(shop):
    tasks = [t for t in shop.read_tasks() if t.outcome in ("complete", "clarify")]
    assert sum(len(t.calls) for t in tasks) / len(tasks) >= 3
    assert sum(len(t.calls) >= 4 for t in tasks) >= len(tasks) / 3
    chained = 0
    for t in tasks:
        stated = {json.dumps(v) for field in ("known", "withheld") for v in t.user_scenario[field].values()}
        for i, call in enumerate(t.calls[1:], 1):
            for param, v in call["arguments"].items():
                if param.endswith("_id") and json.dumps(v) not in stated:  # an id the user never gave ...
                    assert any(json.dumps(v) in o for o in t.observations[:i]), (t.task_id, param)  # ... was found
                    chained += 1
    assert chained >= len(tasks)


def test_a_sub_goal_acts_on_the_row_an_earlier_call_returned(shop):
    """The plan's data flow: an order id a lookup returned is what the update takes, and a create's key is
    what the write on the new row takes."""
    spec = load_env(shop.path, 0)
    sim, rng = DomainSimulator(spec), random.Random(1)
    flows = set()
    for _ in range(30):
        try:
            plan = sample_plan(sim, 0, spec.tool(rng.choice(["update_order", "create_order"])), rng, goals=3,
                               tools=[t for t in spec.tools if t.executable])
        except PlanError:  # a draw that cannot be done (the new quantity is the old one): the sampler draws again
            continue
        for step in plan.steps:
            for param, index in step.found.items():
                earlier = plan.steps[index]
                assert index < plan.steps.index(step)
                assert step.arguments[param] in [row.get(param) for row in _rows(earlier.observation)]
                flows.add((earlier.tool.name, earlier.purpose, step.tool.name, param))
    assert ("list_orders", "lookup", "update_order", "order_id") in flows
    assert ("create_order", "goal", "update_order", "order_id") in flows


def _rows(observation: str) -> list[dict]:
    found = json.loads(observation)
    if isinstance(found, dict) and len(found) == 1 and isinstance(next(iter(found.values())), list):
        found = next(iter(found.values()))
    return [r for r in (found if isinstance(found, list) else [found]) if isinstance(r, dict)]


def test_intents_are_a_persons_words(shop):
    tasks = shop.read_tasks()
    names = [t["function"]["name"] for t in tasks[0].tool_schemas]
    for t in tasks:
        scenario = t.user_scenario
        assert not any(name in t.intent or name in scenario["reason"] or name in scenario["behaviour"]
                       for name in names)
        assert set(scenario) >= {"reason", "known", "unknown", "withheld", "behaviour", "persona", "rule"}
        assert scenario["reason"].startswith("You want to ")
    assert sum(t.intent.count('"') // 2 for t in tasks) / len(tasks) <= 0.5
    assert len({t.user_scenario["phrasing"] for t in tasks}) >= 4
    assert {t.user_scenario["persona"] for t in tasks} == {"terse", "chatty", "unsure", "changes_mind"}
    changes = [t for t in tasks if t.user_scenario["persona"] == "changes_mind"]
    assert all(set(t.user_scenario["changes"]) <= set(t.user_scenario["known"]) for t in changes)


def test_gold_calls_piped_into_play_reproduce_the_gold_hash(shop):
    for t in [t for t in shop.read_tasks() if t.writes and t.outcome in ("complete", "clarify")][:4]:
        lines = "".join(json.dumps(c) + "\n" for c in t.calls)
        out = subprocess.run([sys.executable, "-m", "agentscaler.sim.play", "--run", str(shop.path), "--domain",
                              str(t.domain_id), "--state", str(t.state_index)], input=lines,
                             capture_output=True, text=True, timeout=60, check=True)
        answers = [json.loads(line) for line in out.stdout.splitlines()]
        assert not any(a["error"] for a in answers)
        assert answers[-1]["state_hash"] == t.gold_hash != t.initial_hash


def test_held_out_splits_are_whole_domains_and_a_share_of_the_rest(tmp_path):
    run = make_run(tmp_path, [shop_tools()] * 20)
    build_envs(run, rows=10, workers=1)
    summary = build_tasks(run, TaskConfig(per_domain=10, heldout_domains=0.2, heldout_tasks=0.3), workers=1)
    tasks = run.read_tasks()
    by_domain: dict[int, set[str]] = {}
    for t in tasks:
        by_domain.setdefault(t.domain_id, set()).add(t.split)
    held_domains = [d for d, splits in by_domain.items() if "heldout_domain" in splits]
    assert 1 <= len(held_domains) <= 9 and all(by_domain[d] == {"heldout_domain"} for d in held_domains)
    rest = [t for t in tasks if t.domain_id not in held_domains]
    assert 0.15 < sum(t.split == "heldout_task" for t in rest) / len(rest) < 0.45
    assert summary["splits"]["train"] == len(run.read_tasks("train"))
    assert len(run.read_tasks("heldout")) == len(tasks) - len(run.read_tasks("train"))


def test_the_same_seed_gives_the_same_tasks(shop, tmp_path):
    again = make_run(tmp_path, [shop_tools(), shop_tools()[:4]])
    build_envs(again, rows=10, workers=1)
    build_tasks(again, TaskConfig(per_domain=12, seed=3), workers=1)
    assert again.read_tasks() == shop.read_tasks()
    build_tasks(again, TaskConfig(per_domain=12, seed=4), workers=1)
    assert again.read_tasks() != shop.read_tasks()


def _capped(t: dict) -> dict:
    """The task's own copy of update_order's schema caps the new quantity below what the gold call sets."""
    tools = json.loads(t["tools"])
    for schema in tools:
        if schema["function"]["name"] == "update_order":
            schema["function"]["parameters"]["properties"]["new_quantity"]["maximum"] = 0
    return {**t, "tools": json.dumps(tools)}


def _broken(t: dict) -> dict:
    """The task's copy of update_order's schema is not a schema a validator can use."""
    tools = json.loads(t["tools"])
    for schema in tools:
        if schema["function"]["name"] == "update_order":
            schema["function"]["parameters"]["properties"]["new_quantity"]["type"] = "quantity"
    return {**t, "tools": json.dumps(tools)}


def _unsaid(t: dict) -> dict:
    return {**t, "intent": "Please sort out my order.", "scenario": json.dumps({**json.loads(t["scenario"]),
                                                                               "known": {}, "withheld": {}})}


@pytest.mark.parametrize("defect, code, detail", [
    (lambda t: {**t, "gold_hash": "0" * 32}, "state_mismatch", "expected " + "0" * 32),
    (lambda t: {**t, "initial_hash": "0" * 32}, "initial_state_mismatch", "expected " + "0" * 32),
    (lambda t: {**t, "state_index": 99}, "initial_state_mismatch", "state 99 does not exist"),
    (lambda t: {**t, "gold_hash": t["initial_hash"], "gold_calls": json.dumps(json.loads(t["gold_calls"])[:1]),
                "gold_observations": json.dumps(json.loads(t["gold_observations"])[:1])}, "no_change",
     "change nothing"),
    (_unsaid, "intent_lacks_values", "(call "),
    (lambda t: {**t, "intent": t["intent"] + " Use update_order."}, "intent_names_tools", "update_order"),
    (lambda t: {**t, "scenario": t["scenario"].replace('"reason": "', '"reason": "Call update_order. ')},
     "intent_names_tools", "update_order"),
    (lambda t: {**t, "gold_calls": json.dumps([{"name": "update_order", "arguments": {"order_id": "nope",
                                                                                      "new_quantity": 1}}])},
     "call_failed", "call 0 (update_order) fails"),
    (_capped, "schema_invalid", "(update_order): "),
    (_broken, "schema_invalid", "(update_order): the tool's own JSON Schema cannot be used"),
    (lambda t: {**t, "outcome": "refuse"}, "outcome_unsound", "change nothing"),
    (lambda t: {**t, "outcome": "irrelevant"}, "outcome_unsound", "no gold call"),
    (lambda t: {**t, "outcome": "recover"}, "outcome_unsound", "failing first attempt"),
    (lambda t: {**t, "outcome": "clarify"}, "outcome_unsound", "withholds"),
])
def test_the_checker_catches_broken_tasks(shop, defect, code, detail):
    task = next(t for t in shop.read_tasks() if t.writes and t.outcome == "complete" and t.domain_id == 0
                and "update_order" in t.gold_calls and t.calls[0]["name"] in ("list_orders", "search_users"))
    sim = DomainSimulator(load_env(shop.path, 0))
    assert check_task(sim, task) == []
    problems = check_task(sim, Task.from_row(defect(task.row())))
    assert code in CODES and any(p.code == code and detail in p.detail for p in problems), problems
    assert str(problems[0]).startswith(f"{problems[0].code}: ")


def test_dropped_tasks_are_counted_by_failure_code(tmp_path, monkeypatch):
    from agentscaler.tasks import build as task_build

    run = make_run(tmp_path, [[t for t in shop_tools() if t.name != "cancel_order"]])  # every write sets a value
    build_envs(run, rows=10, workers=1)
    monkeypatch.setattr(task_build, "said_values", lambda plan, spec: [])  # the user knows nothing
    summary = build_tasks(run, TaskConfig(per_domain=3, outcomes={"complete": 1}, read_only_share=0), workers=1)
    assert summary["tasks"] == 0 and summary["counts"]["dropped: intent_lacks_values"] == 3


def test_missing_values_ignores_values_returned_by_earlier_calls_and_takes_the_scenarios():
    calls = [{"name": "find", "arguments": {"name": "Ada"}}, {"name": "cancel", "arguments": {"order_id": "o_7"}}]
    observations = ['[{"order_id": "o_7", "name": "Ada"}]', '{}']
    assert missing_values('Cancel the order of "Ada".', calls, observations) == []
    assert missing_values("Cancel my order.", calls, observations) == [(0, "name", "Ada")]
    assert missing_values("Cancel my order.", calls, observations, scenario={"known": {"name": "Ada"}}) == []
    assert missing_values("Cancel my order.", calls, observations, scenario={"withheld": {"name": "Ada"}}) == []
    assert missing_values("Cancel my order.", calls[1:], observations[1:]) == [(0, "order_id", "o_7")]


def test_real_toolbench_domains_give_replayable_tasks(tmp_path, shared_data):
    run = make_run(tmp_path, toolbench_groups(shared_data, limit=40))
    build_envs(run, rows=10, workers=1)
    summary = build_tasks(run, TaskConfig(per_domain=3), workers=1)
    tasks = run.read_tasks()
    assert summary["tasks"] == len(tasks) >= 40
    sims = {}
    for t in tasks:
        sim = sims.setdefault(t.domain_id, DomainSimulator(load_env(run.path, t.domain_id)))
        assert check_task(sim, t) == [], t.task_id


def test_tasks_verb(shop, tmp_path):
    result = CliRunner().invoke(app, ["tasks", "--run", str(shop.path), "--per-domain", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tasks"] == len(shop.read_tasks()) <= 2 * 2
    config = tmp_path / "tasks.yaml"
    config.write_text("per_domain: 3\nread_only_domain: 0\nseed: 5\n")
    result = CliRunner().invoke(app, ["tasks", "--run", str(shop.path), "--config", str(config), "--per-domain", "1",
                                      "--workers", "1"])
    assert result.exit_code == 0, result.output
    written = json.loads(shop.tasks_summary.read_text())["config"]
    assert (written["per_domain"], written["read_only_domain"], written["seed"]) == (1, 0, 5)  # the flag wins
    config.write_text("per_domian: 3\n")
    result = CliRunner().invoke(app, ["tasks", "--run", str(shop.path), "--config", str(config)])
    assert result.exit_code != 0 and "per_domian" in result.output


class Rewriter:
    """A stand-in for an intent LLM: rewrites the template's request by a fixed rule."""

    def __init__(self, rule):
        self.rule, self.name = rule, "rewriter"

    async def chat(self, messages, tools=None, **_):
        from agentscaler.llm.base import Completion

        template = messages[-1]["content"].split("Message: ", 1)[1]
        return Completion({"role": "assistant", "content": self.rule(template)})


def test_llm_intents_are_kept_only_when_the_checker_passes_them(tmp_path):
    run = make_run(tmp_path, [shop_tools()])
    build_envs(run, rows=10, workers=1)
    summary = build_tasks(run, TaskConfig(per_domain=6), workers=1,
                          intent_backend=Rewriter(lambda t: "Hi! " + t.replace('"', "")))
    tasks = run.read_tasks()
    assert summary["counts"]["llm_intents"] == len(tasks) and all(t.intent_source == "llm:rewriter" for t in tasks)
    assert all(t.intent.startswith("Hi! ") and '"' not in t.intent for t in tasks)
    sim = DomainSimulator(load_env(run.path, 0))
    assert all(check_task(sim, t) == [] for t in tasks)

    summary = build_tasks(run, TaskConfig(per_domain=6), workers=1,
                          intent_backend=Rewriter(lambda t: "Please call update_order for me."))
    assert summary["counts"]["llm_intents_rejected"] == len(run.read_tasks())
    assert all(t.intent_source == "template" for t in run.read_tasks())

    clarify = next(t for t in build_and_read(run, TaskConfig(per_domain=8, outcomes={"clarify": 1}))
                   if t.outcome == "clarify")
    label, value = next(iter(clarify.user_scenario["withheld"].items()))  # a rewrite that says the withheld value
    summary = build_tasks(run, TaskConfig(per_domain=8, outcomes={"clarify": 1}), workers=1,
                          intent_backend=Rewriter(lambda t: f"{t} The {label} is {value}."))
    rewritten = {t.task_id: t for t in run.read_tasks()}[clarify.task_id]
    assert rewritten.intent_source == "template" and summary["counts"]["llm_intents_rejected"] >= 1


def build_and_read(run, config: TaskConfig) -> list:
    build_tasks(run, config, workers=1)
    return run.read_tasks()


def test_an_intent_model_over_https_gets_the_api_key_and_the_call_cache(tmp_path, monkeypatch):
    from agentscaler.llm import CachedBackend, Completion
    from agentscaler.llm.openai_backend import OpenAIBackend

    keys = []

    async def chat(self, messages, tools=None, **_):  # the server: rewrites as Rewriter does
        keys.append(self.client.api_key)
        return Completion({"role": "assistant", "content": "Hi! " + messages[-1]["content"].split("Message: ", 1)[1]})

    monkeypatch.setattr(OpenAIBackend, "chat", chat)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    run = make_run(tmp_path, [shop_tools()])
    build_envs(run, rows=10, workers=1)
    config = TaskConfig(per_domain=4, intent_model="https://llm.example/v1")
    summary = build_tasks(run, config, workers=1)
    tasks = run.read_tasks()
    assert keys == ["sk-test"] * len(tasks) and summary["intent_backend"] == "openai:https://llm.example/v1"
    assert all(t.intent_source == "llm:openai:https://llm.example/v1" for t in tasks)
    cache = CachedBackend(OpenAIBackend("https://llm.example/v1"), run.llm_cache)
    assert len(cache) == len(tasks)
    cache.close()
    again = build_tasks(run, config, workers=1)  # a rerun replays the cached replies: no request is sent
    assert len(keys) == len(tasks) and run.read_tasks() == tasks and again["counts"] == summary["counts"]


def test_intents_say_run_together_api_words_as_words():
    """ToolBench's glued names read as a person says them; a word or a split into fragments stays whole."""
    assert [spoken(w) for w in ("normalizecity", "tournamentallevents", "accept_language", "otts", "adjustment")] == [
        "normalize city", "tournament all events", "accept language", "otts", "adjustment"]
    assert _noun("finance_inflation_adjustment") == "finance inflation adjustment"  # not "finance inflation ment"
    assert _noun("getcustomer") == "customer"


def test_a_read_named_by_an_odd_verb_is_asked_for_in_plain_words():
    """ToolBench's ``random_crypto_by_id`` and ``users_id_for_rate_limit_test`` read: "look up my crypto" and
    "check my user", not "random my crypto" or "test my user"."""
    spec = build_domain(0, [tool("random_crypto_by_id", {"crypto_id": s()}, ["crypto_id"]),
                            tool("test_user", {"user_id": s()}, ["user_id"]),
                            tool("search_users", {"name": s()}, [])], rows=3)
    assert [action_verb(spec.tool(n)) for n in ("random_crypto_by_id", "test_user", "search_users")] == [
        "look up", "check", "search for"]


def test_an_irrelevant_request_borrows_only_everyday_words_from_another_domains_tool():
    """"Check the quarterly earnings for me", never "look up the that phone", "check the ovo" or "the whois": two or
    three everyday English words, none a function word, a coinage or a repeat."""
    assert request_noun("get_quarterly_earnings") == "quarterly earnings"
    assert request_noun("getVeganRestaurantNearby") == "vegan restaurant nearby"
    for name in ("get_that_phone", "get_ovo_status", "whois_lookup", "imtired_check", "get_anchors_anchor", "echo",
                 "get_json_schema"):
        assert request_noun(name) is None, name


def test_a_moment_or_a_flag_named_by_a_participle_is_said_as_a_date_or_a_flag():
    """Google's task fields: "change the updated date and deleted flag of my task", not "the updated and deleted"."""
    columns = [Column(name="task_id", type="TEXT", json_type="string"),
               Column(name="updated", type="TEXT", json_type="string", format="date-time"),
               Column(name="deleted", type="INTEGER", json_type="boolean"),
               Column(name="created_at", type="TEXT", json_type="string", format="date-time"),
               Column(name="startdate", type="TEXT", json_type="string", format="date"),
               Column(name="is_active", type="INTEGER", json_type="boolean"),
               Column(name="status", type="TEXT", json_type="string"),
               Column(name="flag_enabled", type="INTEGER", json_type="boolean")]
    table = Table(name="tasks", entity="task", columns=columns, primary_key="task_id")
    assert [field_words(table, c.name) for c in columns[1:]] == [
        "updated date", "deleted flag", "created at", "start date", "is active", "status", "flag enabled"]


def test_a_reference_to_another_row_of_the_table_is_said_as_that_row():
    """"move my task under another parent task", not "move the parent id of my task"; other references keep
    their words."""
    columns = [Column(name="task_id", type="TEXT", json_type="string"),
               Column(name="parent_id", type="TEXT", json_type="string"),
               Column(name="list_id", type="TEXT", json_type="string"),
               Column(name="parent_task_id", type="TEXT", json_type="string")]
    table = Table(name="tasks", entity="task", columns=columns, primary_key="task_id",
                  foreign_keys=[ForeignKey(column="parent_id", table="tasks", ref_column="task_id"),
                                ForeignKey(column="list_id", table="lists", ref_column="list_id"),
                                ForeignKey(column="parent_task_id", table="tasks", ref_column="task_id")])
    assert [field_words(table, c.name) for c in columns[1:]] == ["parent task", "list id", "parent task"]


def test_an_update_names_every_field_it_changes_up_to_four_then_counts_the_rest():
    """A user asks for each change they want ("change the title, notes, due date and color of my task"); past
    four, the fifth on is a count, and the agent asks for their values."""
    fields = ["title", "notes", "due", "color", "priority", "owner"]
    spec = build_domain(0, [tool("get_task", {"task_id": s()}, ["task_id"]),
                            tool("update_task", {"task_id": s(), **{f: s() for f in fields}}, ["task_id"])], rows=3)
    update = spec.tool("update_task")

    def phrase(n: int) -> str:
        plan = Plan([Step(update, {"task_id": "t1", **{f: "x" for f in fields[:n]}})],
                    [Goal(spec.table(update.table), 0, "first")])
        return goal_phrase(plan, spec, plan.goals[0], None)

    assert phrase(4) == "update the title, notes, due date and color of my task"
    assert phrase(6) == "update the title, notes, due date and 3 other details of my task"


def test_a_setter_without_an_identifier_is_asked_for_by_what_its_name_is_about():
    """Setters with no identifier write the one row of settings; a user says what they are about ("pause my
    heartbeats", "set my volume", "rename my server"), never "my setting"."""
    integer, text = {"type": "integer"}, {"type": "string"}
    spec = build_domain(0, [tool("pause_heartbeats", {"duration": integer}, ["duration"], "Pause heartbeats."),
                            tool("set_volume", {"level": integer}, ["level"], "Set the global volume."),
                            tool("rename_server", {"current_name": text, "new_name": text}, ["new_name"],
                                 "Rename the server.")], rows=3)
    assert all(spec.table(spec.tool(n).table).singleton for n in ("pause_heartbeats", "set_volume"))

    def phrase(name: str, arguments: dict) -> str:
        update = spec.tool(name)
        plan = Plan([Step(update, arguments)], [Goal(spec.table(update.table), 0, "first")])
        return goal_phrase(plan, spec, plan.goals[0], None)

    assert phrase("pause_heartbeats", {"duration": 5}) == "pause my heartbeats"
    assert phrase("set_volume", {"level": 7}) == "set my volume"
    assert phrase("rename_server", {"current_name": "a", "new_name": "b"}).endswith("of my server")


def test_a_latitude_and_a_longitude_are_said_as_one_location():
    assert _located(["language", "lat", "lon"]) == ["language", "location"]
    assert _located(["name", "latitude", "city", "longitude"]) == ["name", "location", "city"]
    assert _located(["lat", "name"]) == ["lat", "name"]  # half a position is said as it is
    assert unglue("minutelies") == ["minutelies"] and unglue("tournamentallevents") == ["tournament", "all", "events"]


def test_a_computation_is_asked_for_as_a_person_asks_not_by_its_tool_name():
    """The field and the calculator are no part of the request: "work out the gcd", not "look up the math gcd";
    its inputs are "the first number", not "the gcd num1"."""
    number = {"type": "number"}
    integer = {"type": "integer"}
    tools = [tool("math_gcd", {"num1": {**integer, "description": "The first number."}, "num2": integer},
                  ["num1", "num2"], "Greatest common divisor of two numbers."),
             tool("emailFormatValidator", {"email": {"type": "string"}}, ["email"], "Validate an email's format."),
             tool("converter_for_currency_converter_v3", {"amount": number, "source": {"type": "string"}},
                  ["amount", "source"], "Convert an amount between currencies."),
             tool("kinematics_calculate_final_speed", {"initial_speed": number, "time": number}, ["initial_speed"],
                  "Calculate the final speed of an object.")]
    spec = build_domain(0, tools, rows=3)
    phrases = {}
    for t in tools:
        compiled = spec.tool(t.name)
        assert compiled.compute is not None, t.name
        plan = Plan([Step(compiled, {})], [Goal(spec.table(compiled.table), 0, "first")])
        phrases[t.name] = goal_phrase(plan, spec, plan.goals[0], None)
    assert phrases == {"math_gcd": "work out the gcd", "emailFormatValidator": "check the email format",
                       "converter_for_currency_converter_v3": "convert the currency",
                       "kinematics_calculate_final_speed": "calculate the final speed"}
    gcd = spec.tool("math_gcd")  # its inputs are named as the spec describes them, else by their own words
    plan = Plan([Step(gcd, {"num1": 12, "num2": 18})], [Goal(spec.table(gcd.table), 0, "first")])
    assert [(v.label, v.value) for v in said_values(plan, spec)] == [("first number", 12), ("num2", 18)]


def test_a_list_filter_is_asked_for_as_the_values_it_lists():
    """A gold call ``GetCertificates(ids=[...])`` needs the certificate ids: the user knows them under that plural
    label, and the task checker finds the task sound (the intent or scenario states every value it needs)."""
    from agentscaler.tasks.build import domain_tasks

    spec = build_domain(0, CERTIFICATE_TOOLS, rows=12, states=2)
    tasks = domain_tasks(spec, TaskConfig(per_domain=8, seed=1))[0]
    listed = [t for t in tasks if t.calls and t.calls[0]["name"] == "GetCertificates" and t.outcome == "complete"]
    assert listed
    sim = DomainSimulator(spec)
    for task in listed:
        ids = task.calls[0]["arguments"]["ids"]
        assert task.user_scenario["known"]["certificate ids"] == ids and check_task(sim, task) == []

