"""Trajectories shaped like the rollout stage's, for the training stage's tests."""

from __future__ import annotations

import json

from agentscaler.train.config import TrainPreset, load_preset

TOOLS = [
    {"type": "function", "function": {
        "name": "get_order", "description": "Look up an order by id.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}},
    {"type": "function", "function": {
        "name": "cancel_order", "description": "Cancel an order.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}},
]


def call(call_id: str, name: str, **arguments) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def tool_reply(call_id: str, name: str, content: str) -> dict:
    return {"role": "tool", "tool_call_id": call_id, "name": name, "content": content}


def trajectory(order: str = "A17", other: str = "B22") -> list[dict]:
    """System, user, a reasoned single call, a parallel pair with two responses in a row, a reply, a final turn."""
    return [
        {"role": "system", "content": "You are a helpful shop assistant."},
        {"role": "user", "content": f"Where is my order {order}?"},
        {"role": "assistant", "content": "<think>\nLook it up first.\n</think>\n\n",
         "tool_calls": [call("c1", "get_order", order_id=order)]},
        tool_reply("c1", "get_order", json.dumps({"order_id": order, "status": "shipped"})),
        {"role": "assistant", "content": f"Order {order} has shipped."},
        {"role": "user", "content": f"Cancel {order} and {other}, please."},
        {"role": "assistant", "content": "",
         "tool_calls": [call("c2", "cancel_order", order_id=order), call("c3", "cancel_order", order_id=other)]},
        tool_reply("c2", "cancel_order", '{"ok": true}'),
        tool_reply("c3", "cancel_order", '{"ok": false, "error": "already delivered"}'),
        {"role": "assistant", "content": f"{order} is cancelled; {other} was already delivered."},
    ]


def export_row(rollout_id: str, split: str, messages: list[dict] | None = None) -> dict:
    """One row of the exported training set (the filters stage's contract)."""
    return {"rollout_id": rollout_id, "split": split, "messages": json.dumps(messages or trajectory()),
            "tools": json.dumps(TOOLS)}


def agent_spans(tokenizer, input_ids: list[int], labels: list[int]) -> list[str]:
    """The decoded runs of trained (unmasked) tokens, in order."""
    runs, current = [], []
    for token, label in zip(input_ids, labels):
        if label != -100:
            assert label == token, "a trained label must be the token itself (the shift happens in the model)"
            current.append(token)
        elif current:
            runs.append(tokenizer.decode(current))
            current = []
    if current:
        runs.append(tokenizer.decode(current))
    return runs


def short_row_preset(**changes) -> TrainPreset:
    """The tiny preset with 2,048-token rows: the short trajectories here then fill several rows, so a run has
    steps to compare and little padding (the shipped preset's rows hold a whole demo trajectory)."""
    preset = load_preset("tiny")
    stages = {name: stage.model_copy(update={"seq_len": 2048}) for name, stage in preset.stages.items()}
    return preset.model_copy(update={"stages": stages, **changes})

