"""Qwen3 output parsing: good turns come out as OpenAI messages, broken ones never crash or vanish."""

from __future__ import annotations

import json

import pytest

from agentscaler.llm.toolcalls import parse_call, parse_qwen3


def arguments(turn, index=0):
    return json.loads(turn.tool_calls[index]["function"]["arguments"])


def test_plain_answer():
    turn = parse_qwen3("The weather is sunny.<|im_end|>")
    assert turn.content == "The weather is sunny." and turn.tool_calls == [] and turn.errors == []
    assert turn.message() == {"role": "assistant", "content": "The weather is sunny."}


def test_one_call_with_reasoning():
    text = ('<think>\nThe user wants Paris.\n</think>\n\n'
            '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>')
    turn = parse_qwen3(text)
    assert turn.reasoning == "The user wants Paris." and turn.content is None and turn.errors == []
    call = turn.tool_calls[0]
    assert call["type"] == "function" and call["function"]["name"] == "get_weather"
    assert arguments(turn) == {"city": "Paris"} and call["id"].startswith("call_")
    assert turn.message()["tool_calls"] == turn.tool_calls


def test_several_calls_and_text_in_one_turn():
    text = ('Let me check both.\n<tool_call>\n{"name": "a", "arguments": {"x": 1}}\n</tool_call>\n'
            '<tool_call>\n{"name": "b", "arguments": {"y": "é"}}\n</tool_call>')
    turn = parse_qwen3(text)
    assert [c["function"]["name"] for c in turn.tool_calls] == ["a", "b"]
    assert arguments(turn, 1) == {"y": "é"} and turn.content == "Let me check both."
    assert len({c["id"] for c in turn.tool_calls}) == 2


def test_ids_are_deterministic_and_depend_on_context():
    text = '<tool_call>{"name": "a", "arguments": {}}</tool_call>'
    assert parse_qwen3(text, context="t1").tool_calls == parse_qwen3(text, context="t1").tool_calls
    assert parse_qwen3(text, context="t1").tool_calls[0]["id"] != parse_qwen3(text, context="t2").tool_calls[0]["id"]


@pytest.mark.parametrize("body, expected", [
    ('{"name": "a", "arguments": "{\\"x\\": 1}"}', {"x": 1}),  # arguments as JSON text
    ('{"name": "a", "arguments": ""}', {}),
    ('{"name": "a"}', {}),  # no arguments
    ('{"name": "a", "arguments": null}', {}),
    ('{"name": "a", "parameters": {"x": 2}}', {"x": 2}),
    ("{'name': 'a', 'arguments': {'x': True}}", {"x": True}),  # a Python literal
    ('{"name": "a", "arguments": {"x": 3}}}', {"x": 3}),  # a stray brace after the object
    ('{"type": "function", "function": {"name": "a", "arguments": {"x": 4}}}', {"x": 4}),
])
def test_tolerated_variants(body, expected):
    assert parse_call(body) == ("a", expected)


@pytest.mark.parametrize("body, error", [
    ('{"name": "a", "arguments": {"x": 1', "not JSON"),  # truncated
    ('{"arguments": {"x": 1}}', "no name"),
    ('{"name": "", "arguments": {}}', "no name"),
    ('{"name": 7, "arguments": {}}', "no name"),
    ('["a", {"x": 1}]', "not an object"),
    ('{"name": "a", "arguments": [1, 2]}', "not an object"),
    ('{"name": "a", "arguments": "x=1"}', "not JSON"),
    ("", "empty"),
    ("call a with x=1", "not JSON"),
])
def test_broken_blocks_are_errors_kept_in_content(body, error):
    text = f"Trying.\n<tool_call>\n{body}\n</tool_call>"
    turn = parse_qwen3(text)
    assert turn.tool_calls == [] and len(turn.errors) == 1 and error in turn.errors[0]
    assert turn.content == text  # nothing generated is lost


def test_good_call_survives_a_broken_neighbour():
    text = ('<tool_call>\n{"name": "a", "arguments": {oops}}\n</tool_call>\n'
            '<tool_call>\n{"name": "b", "arguments": {"k": "v"}}\n</tool_call>')
    turn = parse_qwen3(text)
    assert [c["function"]["name"] for c in turn.tool_calls] == ["b"]
    assert turn.errors[0].startswith("tool call 0:") and "{oops}" in turn.content and '"b"' not in turn.content


def test_unterminated_blocks():
    complete = parse_qwen3('<tool_call>\n{"name": "a", "arguments": {"x": 1}}\n')  # cut before </tool_call>
    assert arguments(complete) == {"x": 1} and complete.errors == []
    cut = parse_qwen3('Sure.\n<tool_call>\n{"name": "a", "argu')
    assert cut.tool_calls == [] and "unterminated" in cut.errors[0] and cut.content.startswith("Sure.")
    thinking = parse_qwen3("<think>\nI am still thinking about <tool_call>")
    assert thinking.reasoning == "I am still thinking about <tool_call>" and thinking.tool_calls == []
    assert "unterminated <think>" in thinking.errors[0] and thinking.content == ""


def test_calls_inside_reasoning_are_not_calls():
    turn = parse_qwen3('<think>maybe <tool_call>{"name": "a"}</tool_call></think>Done.')
    assert turn.tool_calls == [] and turn.content == "Done." and "tool_call" in turn.reasoning


def test_empty_thinking_block_and_end_markers():
    turn = parse_qwen3("<think>\n\n</think>\n\nHello<|im_end|>garbage after the end")
    assert turn.reasoning is None and turn.content == "Hello" and turn.errors == []
    assert parse_qwen3("").content == "" and parse_qwen3("").tool_calls == []


def test_unknown_tool_is_kept_and_reported():
    text = ('<tool_call>{"name": "launch", "arguments": {}}</tool_call>'
            '<tool_call>{"name": "a", "arguments": {}}</tool_call>')
    turn = parse_qwen3(text, tool_names=["a"])
    assert [c["function"]["name"] for c in turn.tool_calls] == ["launch", "a"]
    assert turn.errors == ["tool call 0: unknown tool 'launch'"]
