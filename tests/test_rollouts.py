"""Stage 7: episodes on the simulator pool — teacher baseline, resume, user guards, bad calls, actor death."""

from __future__ import annotations

import json

import pytest
import ray
from envs_helpers import make_run, s, shop_tools, tool
from typer.testing import CliRunner

from agentscaler.cli import app
from agentscaler.contracts import Task
from agentscaler.envs import build_domain, build_envs, load_env
from agentscaler.llm import Completion
from agentscaler.rollouts import STOP, RolloutConfig, TeacherAgent, TemplateUser, run_rollouts
from agentscaler.tasks import TaskConfig, build_tasks

CONFIG = RolloutConfig(actors=1, concurrency=8, flush_every=4)


@pytest.fixture
def shop(tmp_path, ray_session):
    run = make_run(tmp_path, [shop_tools(), shop_tools()[:4]])
    build_envs(run, rows=10, workers=1)
    build_tasks(run, TaskConfig(per_domain=6, seed=1), workers=1)
    return run


def check_openai_format(messages: list[dict]) -> None:
    assert messages[0]["role"] == "system" and messages[1]["role"] == "user"
    pending = set()
    for m in messages[1:]:
        if m["role"] == "tool":
            pending.remove(m["tool_call_id"])
            continue
        assert not pending, "a tool call was left unanswered"
        for call in m.get("tool_calls") or []:
            assert call["type"] == "function" and isinstance(call["function"]["arguments"], str)
            pending.add(call["id"])
    assert messages[-1]["role"] == "assistant" and not messages[-1].get("tool_calls")


def test_teacher_reaches_every_gold_state(shop):
    summary = run_rollouts(shop, CONFIG.model_copy(update={"samples": 2}))
    tasks = {t.task_id: t for t in shop.read_tasks("train")}  # held-out tasks are left for evaluation
    rows = shop.read_rollouts()
    assert len(rows) == summary["episodes"] == 2 * len(tasks)
    assert sorted(r["rollout_id"] for r in rows) == sorted(f"{t}-r{k}" for t in tasks for k in range(2))
    assert summary["reached_gold_hash_rate"] == 1.0 and summary["status"] == {"completed": len(rows)}
    for r in rows:
        assert r["final_hash"] == tasks[r["task_id"]].gold_hash and r["agent"] == "teacher"
        check_openai_format(json.loads(r["messages"]))
        calls = [c["function"] for m in json.loads(r["messages"]) for c in m.get("tool_calls") or []]
        assert [{"name": c["name"], "arguments": json.loads(c["arguments"])} for c in calls] == \
            tasks[r["task_id"]].calls
    assert summary["mean_sim_batch"] > 1  # concurrent episodes' calls went to the actors together
    assert summary["nodes"] == [ray.get_runtime_context().get_node_id()] and summary["sim_actors_replaced"] == 0
    assert shop.read_summary(shop.rollouts_summary) == summary


def test_a_killed_run_resumes_without_duplicates_or_gaps(shop):
    tasks = shop.read_tasks("train")
    run_rollouts(shop, CONFIG, tasks=tasks[:3])  # a run stopped after three episodes
    first = {r["rollout_id"]: r for r in shop.read_rollouts()}
    summary = run_rollouts(shop, CONFIG)
    rows = shop.read_rollouts()
    assert summary["skipped_already_written"] == 3 and summary["episodes"] == len(tasks) - 3
    assert sorted(r["rollout_id"] for r in rows) == sorted(f"{t.task_id}-r0" for t in tasks)
    assert all(first[r["rollout_id"]] == r for r in rows if r["rollout_id"] in first)


def test_new_tasks_clear_rollouts_of_the_old_ones(shop):
    run_rollouts(shop, CONFIG)
    build_tasks(shop, TaskConfig(per_domain=6, seed=2), workers=1)
    run_rollouts(shop, CONFIG)
    gold = {t.task_id: t.gold_hash for t in shop.read_tasks()}
    assert all(r["final_hash"] == gold[r["task_id"]] for r in shop.read_rollouts())


class StopsAtOnce:
    """A user that wants to leave before anything was done."""

    name = "impatient"

    async def reply(self, task, messages, seed=0):
        if not any(m["role"] == "user" for m in messages):
            return Completion({"role": "user", "content": task.intent})
        return Completion({"role": "user", "content": STOP})


class Chatty:
    """An agent that never calls a tool."""

    name = "chatty"

    async def chat(self, messages, tools=None, **_):
        return Completion({"role": "assistant", "content": "Sure, all done!"})


def test_the_user_guard_keeps_the_user_from_stopping_before_the_writes(shop, monkeypatch):
    from agentscaler.rollouts import run as rollout_run

    monkeypatch.setattr(rollout_run, "backend_factories", lambda run, agent, user: (lambda t: Chatty(), StopsAtOnce()))
    summary = run_rollouts(shop, CONFIG.model_copy(update={"agent": "chatty", "user": "impatient"}))
    writes = [r for r in shop.read_rollouts() if r["task_id"] in {t.task_id for t in shop.read_tasks() if t.writes}]
    assert writes and all(r["status"] == "user_gave_up" for r in writes)
    assert all(json.loads(r["user_interventions"])["stopped_before_writes"] == 3 for r in writes)
    nudges = [m for m in json.loads(writes[0]["messages"]) if m["role"] == "user"][1:]
    assert len(nudges) == 2 and all("not done yet" in m["content"] for m in nudges)
    assert summary["user_caused_failures"] == len(writes) and summary["user_caused_failure_share"] > 0


class Careless:
    """An agent whose first call names a tool that does not exist, then one with bad JSON."""

    name = "careless"

    async def chat(self, messages, tools=None, **_):
        made = sum(len(m.get("tool_calls") or []) for m in messages if m["role"] == "assistant")
        if made == 0:
            return Completion({"role": "assistant", "content": None, "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "drop_tables", "arguments": "{}"}},
                {"id": "b", "type": "function", "function": {"name": "update_order", "arguments": "{oops"}}]})
        return Completion({"role": "assistant", "content": "I could not do it."})


def test_malformed_calls_get_error_observations_and_change_nothing(shop, monkeypatch):
    from agentscaler.rollouts import run as rollout_run

    monkeypatch.setattr(rollout_run, "backend_factories",
                        lambda run, agent, user: (lambda t: Careless(), TemplateUser()))
    run_rollouts(shop, CONFIG.model_copy(update={"agent": "careless"}))
    tasks = {t.task_id: t for t in shop.read_tasks()}
    for r in shop.read_rollouts():
        tool_messages = [m for m in json.loads(r["messages"]) if m["role"] == "tool"]
        assert [m["tool_call_id"] for m in tool_messages] == ["a", "b"]
        assert all("error" in json.loads(m["content"]) for m in tool_messages)
        assert r["num_tool_errors"] == 2 and r["final_hash"] == tasks[r["task_id"]].initial_hash


class KillsItsActor:
    """The teacher, except that the first time it acts it kills the simulator actor under it."""

    name = "teacher-with-a-crash"
    killed = False

    def __init__(self, pool_ref: dict, task, spec):
        self.pool_ref, self.teacher, self.domain = pool_ref, TeacherAgent(task, spec), task.domain_id

    async def chat(self, messages, tools=None, **kwargs):
        if not KillsItsActor.killed:
            KillsItsActor.killed = True
            ray.kill(self.pool_ref["pool"].actor_for(self.domain))
        return await self.teacher.chat(messages, tools, **kwargs)


def test_episodes_lost_with_an_actor_are_played_again(shop, monkeypatch):
    from agentscaler import sim
    from agentscaler.rollouts import run as rollout_run

    pool_ref: dict = {}
    real_pool = sim.SimulatorPool

    def remembered(*args, **kwargs):
        pool_ref["pool"] = real_pool(*args, **kwargs)
        return pool_ref["pool"]

    monkeypatch.setattr(sim, "SimulatorPool", remembered)
    monkeypatch.setattr(rollout_run, "backend_factories", lambda run, agent, user: (
        lambda t: KillsItsActor(pool_ref, t, load_env(shop, t.domain_id)), TemplateUser()))
    summary = run_rollouts(shop, CONFIG.model_copy(update={"agent": "crash"}))
    assert KillsItsActor.killed and summary["failed_after_retries"] == 0, summary["failures"]
    assert summary["reached_gold_hash_rate"] == 1.0 and summary["episodes"] == len(shop.read_tasks("train"))


def test_rollout_verb_runs_and_shows(shop):
    runner = CliRunner()
    result = runner.invoke(app, ["rollout", "--run", str(shop.path), "--concurrency", "4"])
    assert result.exit_code == 0, result.output
    rollout_id = shop.read_rollouts()[0]["rollout_id"]
    shown = runner.invoke(app, ["rollout", "--run", str(shop.path), "--show", rollout_id])
    assert shown.exit_code == 0 and rollout_id in shown.stdout and "assistant" in shown.stdout
    config = shop.path / "rollout.yaml"
    config.write_text("samples: 2\nactors: 1\nagent: teacher\nuser: template\n")
    result = runner.invoke(app, ["rollout", "--run", str(shop.path), "--config", str(config), "--concurrency", "4"])
    assert result.exit_code == 0, result.output
    summary = shop.read_summary(shop.rollouts_summary)
    assert summary["config"]["samples"] == 2 and summary["config"]["concurrency"] == 4
    assert summary["episodes"] == summary["skipped_already_written"] == len(shop.read_tasks("train"))
    assert len(shop.read_rollouts()) == 2 * len(shop.read_tasks("train"))


def test_show_prints_plain_text_when_piped(shop):
    run_rollouts(shop, CONFIG, tasks=shop.read_tasks("train")[:1])
    row = shop.read_rollouts()[0]
    shown = CliRunner().invoke(app, ["rollout", "--run", str(shop.path), "--show", row["rollout_id"]])
    assert shown.exit_code == 0, shown.output
    assert "[bold]" not in shown.stdout and "[/]" not in shown.stdout and "[dim]" not in shown.stdout
    assert "\x1b[" not in shown.stdout  # no terminal styles either
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"{row['rollout_id']} task {row['task_id']} ")
    messages = json.loads(row["messages"])
    for m in messages:  # each message's text, brackets and all, comes out as it is
        if m["role"] != "tool" and m.get("content"):
            assert f"{m['role']}: {m['content']}" in shown.stdout
    assert any(line.startswith("tool ") for line in lines) == any(m["role"] == "tool" for m in messages)


@pytest.fixture(scope="module")
def tiny_qwen3(tmp_path_factory):
    from agentscaler.llm.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


SHORT = CONFIG.model_copy(update={"max_turns": 2, "turn_tokens": 12})


def test_tiny_qwen3_plays_agent_and_user_through_transformers(shop, tiny_qwen3):
    tasks = shop.read_tasks()[:3]
    models = SHORT.model_copy(update={"agent": str(tiny_qwen3), "user": str(tiny_qwen3)})
    summary = run_rollouts(shop, models, tasks=tasks)
    rows = shop.read_rollouts()
    assert summary["episodes"] == len(rows) == 3 and summary["tokens"] > 0
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    for r in rows:
        assert r["agent"] == f"transformers:{tiny_qwen3}" and r["user"].startswith("user:transformers:")
        messages = json.loads(r["messages"])
        assistant = [m for m in messages if m["role"] == "assistant"]
        ids = json.loads(r["assistant_token_ids"])
        assert len(ids) == len(assistant) and sum(map(len, ids)) == r["completion_tokens"]
        for m, turn in zip(assistant, ids):  # the kept ids are the generated text
            if not m.get("tool_calls") and m["content"]:
                assert m["content"].strip() in tokenizer.decode(turn, skip_special_tokens=True)
    # the LLM-call cache makes the run replayable exactly
    import shutil

    shutil.rmtree(shop.rollouts)
    run_rollouts(shop, models, tasks=tasks)
    assert sorted(map(json.dumps, shop.read_rollouts()), key=len) == sorted(map(json.dumps, rows), key=len)


def test_tiny_qwen3_as_agent_through_agentscaler_serve(shop, tiny_qwen3, tmp_path, monkeypatch):
    from test_llm_serve import KEY, running_server

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with running_server(tiny_qwen3, tmp_path / "serve.log") as url:
        summary = run_rollouts(shop, SHORT.model_copy(update={"agent": url}), tasks=shop.read_tasks()[:2])
    rows = shop.read_rollouts()
    assert summary["episodes"] == 2 and summary["failed_after_retries"] == 0
    assert all(r["agent"] == f"openai:{url}" and r["completion_tokens"] > 0 for r in rows)
    assert all(json.loads(r["assistant_token_ids"])[0] for r in rows)  # the server sends the ids back


def test_the_teacher_asks_for_three_missing_values_at_a_time():
    """Four values for a second request in one question would repeat "for the second request" four times (the
    validity filter's repetition check); the fourth is asked for once the first three are answered."""
    labels = [f"new task {field} for the second request" for field in ("due", "etag", "kind", "notes")]
    assert TeacherAgent._ask(labels) == ("Could you tell me the new task due for the second request, new task etag "
                                         "for the second request and new task kind for the second request?")
    assert TeacherAgent._ask(labels[3:]) == "Could you tell me the new task notes for the second request?"


def teacher_for(spec, gold: list[dict], intent: str, *, writes: bool = True, scenario: str = "{}"):
    """A teacher for a one-off task of ``gold`` calls, and the conversation so far: its system and user turns."""
    task = Task(task_id="t", domain_id=0, state_index=0, intent=intent, gold_calls=json.dumps(gold),
                gold_observations="[]", gold_hash="", initial_hash="", writes=writes, tools="[]",
                intent_source="template", source=None, seed=0, split="train", scenario=scenario)
    return TeacherAgent(task, spec), [{"role": "system", "content": ""}, {"role": "user", "content": intent}]


def test_the_teacher_asks_which_row_before_it_takes_its_key_and_narrates_in_words():
    """After listing the user's lists it asks for the title the user knows (never picks a row the user did not
    name), then says what it does ("look up the list"), not the tool's name, and names the row as the user does."""
    spec = build_domain(0, [
        tool("tasklists_list", {}, [], "Lists the tasklists.", http_method="GET", http_path="/users/@me/lists"),
        tool("tasklists_get", {"tasklist": s()}, ["tasklist"], "Returns a tasklist.", http_method="GET",
             http_path="/users/@me/lists/{tasklist}"),
    ], rows=3)
    lists = [{"list_id": "L1", "title": "Groceries"}, {"list_id": "L2", "title": "Work"}]
    gold = [{"name": "tasklists_list", "arguments": {}}, {"name": "tasklists_get", "arguments": {"tasklist": "L2"}}]
    teacher, messages = teacher_for(spec, gold, "Could you look up my list?", writes=False,
                                    scenario=json.dumps({"known": {"list title": "Work"}, "unknown": ["list id"]}))
    first = teacher.next_message(messages)
    assert first["content"] == "I'll list the lists." and first["tool_calls"][0]["function"]["name"] == "tasklists_list"
    messages += [first, {"role": "tool", "tool_call_id": "call_0", "content": json.dumps(lists)}]
    question = teacher.next_message(messages)
    assert question == {"role": "assistant", "content": "Could you tell me the list title?"}
    messages += [question, {"role": "user", "content": "The list title is Work."}]
    second = teacher.next_message(messages)
    assert second["content"] == 'I\'ll look up the list "Work".'  # the key said as the row's name
    assert json.loads(second["tool_calls"][0]["function"]["arguments"]) == {"tasklist": "L2"}


def test_the_teachers_summary_names_a_row_by_its_name_and_says_only_what_the_call_set():
    """The call is narrated as the row it names, then what it sets (several words in quotes); the summary names
    the row by its name and says what the call set, not every column."""
    spec = build_domain(0, [
        tool("tasklists_get", {"tasklist": s()}, ["tasklist"], "Returns a tasklist.", http_method="GET",
             http_path="/users/@me/lists/{tasklist}"),
        tool("tasklists_patch", {"tasklist": s(), "title": s(), "color": s(), "notes": s()}, ["tasklist"],
             "Updates a tasklist.", http_method="PATCH", http_path="/users/@me/lists/{tasklist}"),
    ], rows=3)
    gold = [{"name": "tasklists_patch", "arguments": {"tasklist": "L2", "color": "teal", "notes": "For the office"}}]
    teacher, messages = teacher_for(spec, gold, "Could you make my Work list teal?")
    messages.append(teacher.next_message(messages))
    narration = 'I\'ll change the list (task list L2), setting color to teal and notes to "For the office".'
    assert messages[-1]["content"] == narration
    row = {"list_id": "L2", "title": "Work", "color": "teal", "notes": "For the office", "updated": "2025-05-27"}
    messages.append({"role": "tool", "tool_call_id": messages[-1]["tool_calls"][0]["id"],
                     "content": json.dumps({"updated": [row]})})
    assert teacher.next_message(messages)["content"] == ('All done. The list "Work" now has color teal and notes '
                                                         '"For the office".')


def test_the_teacher_says_a_parent_task_apart_from_the_task_it_moves():
    """Google Tasks' move takes two tasks: the one it moves, said after the verb, and its new parent, said as the
    parent task (it said 'move the task "Buy milk" (task "Call mum")', the parent as if it were the moved task)."""
    path = "/lists/{tasklist}/tasks"
    spec = build_domain(0, [
        tool("tasks_list", {"tasklist": s()}, ["tasklist"], "Lists a tasklist's tasks.", http_method="GET",
             http_path=path),
        tool("tasks_move", {"tasklist": s(), "parent": s("Parent task identifier."), "task": s()},
             ["tasklist", "task"], "Moves the task.", http_method="POST", http_path=path + "/{task}/move")], rows=3)
    rows = [{"task_id": "T1", "list_id": "L1", "title": "Call mum"},
            {"task_id": "T2", "list_id": "L1", "title": "Buy milk"}]
    gold = [{"name": "tasks_list", "arguments": {"tasklist": "L1"}},
            {"name": "tasks_move", "arguments": {"tasklist": "L1", "parent": "T2", "task": "T1"}}]
    teacher, messages = teacher_for(spec, gold, "Put Call mum under Buy milk.")
    messages.append(teacher.next_message(messages))
    messages.append({"role": "tool", "tool_call_id": messages[-1]["tool_calls"][0]["id"], "content": json.dumps(rows)})
    narration = 'I\'ll move the task "Call mum" (task list L1, parent task "Buy milk").'
    assert teacher.next_message(messages)["content"] == narration


def test_the_template_user_gives_a_value_in_a_sentence_a_person_would_write():
    """Text of several words in quotes, and the verb agrees with the label: "The notes are "Buy milk today".",
    "The status is pending."."""
    task = Task(task_id="t", domain_id=0, state_index=0, intent="Please update my list.", gold_calls="[]",
                gold_observations="[]", gold_hash="", initial_hash="", writes=True, tools="[]",
                intent_source="template", source=None, seed=0, split="train",
                scenario=json.dumps({"known": {"notes": "Buy milk today", "status": "pending"}}))
    opening = [{"role": "system", "content": ""}, {"role": "user", "content": task.intent}]
    asked = opening + [{"role": "assistant", "content": "Could you tell me the notes and the status?"}]
    assert TemplateUser.answer(task, asked) == 'The notes are "Buy milk today". The status is pending.'


def test_the_teacher_asks_for_a_list_the_user_knows_and_the_user_says_it_in_words():
    """A function's tags are the user's to give: the teacher asks for them before the create (it had passed the
    gold list without asking, as no scalar of the call was the list), and the user says them as words."""
    tags = [{"key": "team", "value": "billing"}, {"key": "env", "value": "prod"}]
    spec = build_domain(0, [tool("create_function", {"name": s(), "tags": {"type": "array", "items": {
        "type": "object", "properties": {"key": s(), "value": s()}}}}, ["name"], "Creates a function.")], rows=3)
    gold = [{"name": "create_function", "arguments": {"name": "resize", "tags": tags}}]
    task = Task(task_id="t", domain_id=0, state_index=0, intent="Could you create a function called resize?",
                gold_calls=json.dumps(gold), gold_observations="[]", gold_hash="", initial_hash="", writes=True,
                tools="[]", intent_source="template", source=None, seed=0, split="train",
                scenario=json.dumps({"known": {"function name": "resize", "function tags": tags}}))
    teacher = TeacherAgent(task, spec)
    messages = [{"role": "system", "content": ""}, {"role": "user", "content": task.intent}]
    question = teacher.next_message(messages)
    assert question == {"role": "assistant", "content": "Could you tell me the function tags?"}
    answer = TemplateUser.answer(task, messages + [question])
    assert answer == "The function tags are key team, value billing; key env, value prod."
    messages += [question, {"role": "user", "content": answer}]
    assert json.loads(teacher.next_message(messages)["tool_calls"][0]["function"]["arguments"])["tags"] == tags
