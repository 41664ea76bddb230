"""`agentscaler play` over a pipe: JSON lines in, JSON lines out."""

from __future__ import annotations

import json
import subprocess
import sys

from envs_helpers import make_run, shop_tools, user
from typer.testing import CliRunner

from agentscaler.cli import app
from agentscaler.envs import build_envs


def test_play_verb_is_registered(tmp_path):
    build_envs(make_run(tmp_path, [shop_tools()]), rows=3, workers=1)
    call = json.dumps({"name": "get_user", "arguments": {"user_id": user(2)}})
    result = CliRunner().invoke(app, ["play", "--run", str(tmp_path), "--domain", "0"], input=call + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(json.loads(result.stdout)["observation"])["user_id"] == user(2)


def test_play_answers_each_json_line(tmp_path):
    build_envs(make_run(tmp_path, [shop_tools()]), rows=3, workers=1)
    calls = [{"name": "get_user", "arguments": {"user_id": user(1, state=1)}},
             {"name": "create_order", "arguments": {"user_id": user(1, state=1), "item": "pen", "quantity": 2}},
             {"name": "nope", "arguments": {}}]
    lines = "\n".join(json.dumps(c) for c in calls) + "\nnot json\n"
    out = subprocess.run([sys.executable, "-m", "agentscaler.sim.play", "--run", str(tmp_path), "--domain", "0",
                          "--state", "1"], input=lines, capture_output=True, text=True, timeout=60, check=True)
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert [a["error"] for a in answers] == [False, False, True, True]
    assert json.loads(answers[0]["observation"])["user_id"] == user(1, state=1)
    assert json.loads(answers[1]["observation"])["created"][0]["item"] == "pen"
    assert answers[0]["state_hash"] != answers[1]["state_hash"] == answers[2]["state_hash"] == answers[3]["state_hash"]
