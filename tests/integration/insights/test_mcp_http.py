"""`undertone mcp --http`: the MCP tools over streamable HTTP on loopback, through the official SDK's client,
behind an API token."""
from __future__ import annotations

import json
import socket
import threading
import time

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from integration.cli.mcp_server import http_app
from integration.runtime import Runtime
from integration.store import api_tokens
from tests.integration.insights.dataset import L1


@pytest.fixture
def server_url(settings):
    """The HTTP app served by uvicorn on a free loopback port, in a thread; stopped after the test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runtime = Runtime(settings)
    server = uvicorn.Server(uvicorn.Config(http_app(runtime), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the MCP HTTP server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp"
    server.should_exit = True
    thread.join(10)
    runtime.db.dispose()


def call(url: str, token: str | None, tool: str, arguments: dict):
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def main():
        async with httpx2.AsyncClient(headers=headers) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                return await client.call_tool(tool, arguments)

    return anyio.run(main)


def test_a_tool_answers_over_http_with_a_token(db, settings, data, server_url):
    token = api_tokens.create(db, "mcp-http")
    got = call(server_url, token, "unresolved_callbacks", {"line": L1})
    assert not got.is_error, got.content
    answer = json.loads(got.content[0].text)
    assert answer["total"] == 1 and answer["top_issue"] == "billing"


def test_no_token_a_bad_one_or_a_revoked_one_gets_401(db, settings, data, server_url):
    token = api_tokens.create(db, "mcp-http")
    api_tokens.revoke(db, "mcp-http")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for headers in ({}, {"Authorization": "Bearer ut_not-a-token"}, {"Authorization": f"Bearer {token}"},
                    {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = httpx2.post(server_url, json=body, headers={"Accept": "application/json, text/event-stream",
                                                               **headers})
        assert response.status_code == 401 and response.json()["error"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
