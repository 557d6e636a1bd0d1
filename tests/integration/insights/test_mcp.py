"""The MCP server through an in-process client session from the official SDK."""
from __future__ import annotations

import json

import anyio
from mcp import Client

from integration.cli.mcp_server import TOOLS, build_server
from integration.runtime import Runtime
from tests.integration.insights.dataset import L1


def session(settings, calls):
    """Run `calls(client)` against the server in-process and return its result."""
    server = build_server(Runtime(settings))

    async def main():
        async with Client(server) as client:
            return await calls(client)

    return anyio.run(main)


def result(call) -> dict:
    assert not call.is_error, call.content
    return json.loads(call.content[0].text)


def test_lists_one_read_only_tool_per_question_plus_search_and_get(settings):
    tools = session(settings, lambda c: c.list_tools()).tools
    assert {t.name for t in tools} == set(TOOLS) | {"search_interactions", "get_interaction"}
    assert len(TOOLS) == 15
    assert all(t.annotations.read_only_hint for t in tools)
    reasons = next(t for t in tools if t.name == "top_frustration_reasons")
    assert reasons.description.startswith("Use to") and "sentiment" not in reasons.input_schema["properties"]
    assert "line" in reasons.input_schema["properties"]


def test_tools_answer_the_questions(settings, data):
    async def calls(client):
        return [result(await client.call_tool("top_frustration_reasons", {"limit": 3})),
                result(await client.call_tool("complaint_compliment_ratio", {"channel": "call"})),
                result(await client.call_tool("unresolved_callbacks", {"line": L1})),
                result(await client.call_tool("praised_themes", {})),
                result(await client.call_tool("search_interactions", {"text": "CHARGED twice"})),
                result(await client.call_tool("get_interaction", {"interaction_id": data["I-C6"]}))]

    reasons, ratio, callbacks, praise, found, one = session(settings, calls)
    assert [t["theme"] for t in reasons["themes"]] == ["wait time", "billing", "scheduling"]
    assert ratio["complaint_to_compliment"] == 2.5
    assert callbacks["top_issue"] == "billing"
    assert [t["theme"] for t in praise["themes"]] == ["staff"]
    assert [i["interaction_id"] for i in found["interactions"]] == [data["I-C1"]]
    assert one["turns"][1]["text"] == "Why is there a late fee" and one["contact"]["name"] == "Fay First"


def test_bad_arguments_are_a_tool_error_naming_the_parameter(settings):
    async def calls(client):
        return (await client.call_tool("sentiment_mix", {"days": 7, "since": "2026-01-01"}),
                await client.call_tool("get_interaction", {"interaction_id": 999999}))

    both, missing = session(settings, calls)
    assert both.is_error and "days" in both.content[0].text
    assert missing.is_error and "no interaction 999999" in missing.content[0].text
