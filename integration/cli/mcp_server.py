"""`undertone mcp`: the insights as read-only MCP tools (official `mcp` SDK), one per owner's question,
plus `search_interactions` and `get_interaction`. Parameters are the same pydantic fields the API uses.
On stdio by default; `--http` serves them over streamable HTTP behind an API token (`http_app`)."""
from __future__ import annotations

import inspect
import json
from typing import Annotated

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidationError

from integration.insights import params
from integration.insights.registry import INSIGHTS, answer
from integration.runtime import Runtime

# tool name -> (insight, fixed parameters, when to use it)
TOOLS = {
    "negative_customers": ("customers", {}, "Use to find which customers used negative or frustrated language "
                           "recently (default 7 days), worst first, with their worst quote, flags, phone, e-mail "
                           "and CRM link."),
    "lines_by_negative": ("lines", {}, "Use to find which phone numbers or inboxes (lines) had the most negative "
                          "interactions (default 30 days)."),
    "top_frustration_reasons": ("themes", {"sentiment": "negative"}, "Use to find the top reasons customers "
                                "express frustration: themes among negative interactions with example quotes "
                                "(ask limit=3 for the top three)."),
    "unresolved_callbacks": ("callbacks", {}, "Use to find unresolved interactions (optionally on one line) "
                             "that the same customer called back about within 48 hours, and the issue that kept "
                             "coming up across them."),
    "complaint_compliment_ratio": ("mix", {}, "Use for the ratio of complaints (negative) to compliments "
                                   "(positive), e.g. across all calls this month: channel=call, since=<1st>."),
    "sentiment_mix": ("mix", {}, "Use for the percentage of positive, neutral and negative interactions in a "
                      "period (default 30 days)."),
    "top_topics": ("themes", {"sentiment": "any"}, "Use for the top topics customers contact the business "
                   "about (all sentiments), e.g. this month with since=<1st of month>, limit=5."),
    "negative_issues_by_volume": ("themes", {"sentiment": "negative"}, "Use to rank the issues that appear "
                                  "across negative interactions by volume."),
    "sentiment_trend": ("trend", {}, "Use to see how sentiment moved week over week (default 60 days) and "
                        "whether it is improving, declining or steady (a slope rule, not a hunch)."),
    "unanswered_negative_customers": ("unanswered", {}, "Use to find customers with negative sentiment who have "
                                      "not heard back (no call, text, e-mail or reply) since, default 7 days."),
    "complaint_change": ("change", {}, "Use to tell whether complaints (about one theme, e.g. billing) increased "
                         "or decreased since a date: since=<date>, against the same length before it."),
    "praised_themes": ("themes", {"sentiment": "positive"}, "Use to find what customers consistently praise: "
                       "themes among positive interactions with example quotes."),
    "agent_comparison": ("agents", {}, "Use to compare each agent's conversations for coaching: volume, "
                         "sentiment mix, mean score, escalations, recoveries, top complaint theme."),
    "spiking_issues": ("spikes", {}, "Use to find an issue that is spiking: five or more different customers "
                       "negative about the same theme within 14 days."),
    "open_escalations": ("escalations", {}, "Use to find escalated (flagged) conversations nobody has followed "
                         "up: no call, text, e-mail or reply and no positive interaction since, default 14 days."),
}


def build_server(runtime: Runtime):
    """The MCP server, reading the database `runtime` points at; every tool is read-only."""
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    server = MCPServer("undertone", instructions="Undertone's answers about customer sentiment across calls, "
                       "texts and tickets. Every tool is read-only; times are ISO 8601 UTC, days and weeks are "
                       "counted in the business's TIMEZONE.")
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                open_world_hint=False)
    for tool, (name, fixed, description) in TOOLS.items():
        server.add_tool(_tool(runtime, name, fixed), name=tool, description=description, annotations=read_only)
    server.add_tool(_tool(runtime, "search", {}), name="search_interactions", annotations=read_only,
                    description="Use to find interactions whose words or summary contain some text, with the "
                                "same filters (source, channel, line, agent, sentiment, window); newest first.")
    server.add_tool(_get_interaction(runtime), name="get_interaction", annotations=read_only,
                    description="Use to read one interaction in full (every turn, summary, score, flags, themes, "
                                "contact) by the interaction_id another tool returned.")
    return server


def _tool(runtime: Runtime, name: str, fixed: dict):
    """A function whose signature is the insight's parameter fields (minus the fixed ones)."""
    model = params.SearchQuery if name == "search" else INSIGHTS[name].model

    def run(**arguments) -> dict:
        try:
            query = model.model_validate({**{k: v for k, v in arguments.items() if v is not None}, **fixed})
        except ValidationError as exc:
            raise ToolError(_message(exc)) from None
        if name == "search":
            from integration.insights.lookup import search
            from integration.insights.window import resolve

            with runtime.db.session() as session:
                return search(session, query, resolve(query, runtime.settings.tzinfo), runtime.settings)
        return answer(name, query, runtime.db, runtime.settings)

    fields = {k: Annotated[f.annotation, Field(description=f.description), *f.metadata]
              for k, f in model.model_fields.items() if k not in fixed}
    defaults = {k: inspect.Parameter.empty if f.is_required() else f.default for k, f in model.model_fields.items()}
    run.__signature__ = inspect.Signature(
        [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=defaults[k], annotation=annotation)
         for k, annotation in fields.items()], return_annotation=dict)
    run.__annotations__ = {**fields, "return": dict}
    return run


def _message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ())]
    detail = first.get("msg", "invalid").removeprefix("Value error, ")
    return f"{loc[0]}: {detail}" if loc else detail


def _get_interaction(runtime: Runtime):
    def get_interaction(interaction_id: Annotated[int, Field(description="The interaction's id.", ge=1)]) -> dict:
        from integration.insights.lookup import get_interaction as load

        with runtime.db.session() as session:
            found = load(session, interaction_id, runtime.settings)
        if found is None:
            raise ToolError(f"no interaction {interaction_id}")
        return found

    return get_interaction


def http_app(runtime: Runtime, host: str = "127.0.0.1"):
    """The same server over streamable HTTP at /mcp, for clients elsewhere; every request needs an API token
    (`undertone api-token create`) as `Authorization: Bearer …`, checked as the insights API checks it."""
    from integration.store import api_tokens

    app = build_server(runtime).streamable_http_app(host=host)

    async def guarded(scope, receive, send):
        if scope["type"] == "http":
            header = dict(scope.get("headers") or ()).get(b"authorization", b"").decode("latin-1")
            token = header[7:].strip() if header[:7].lower() == "bearer " else ""
            if not token or await anyio.to_thread.run_sync(api_tokens.verify, runtime.db, token) is None:
                body = json.dumps({"error": "unauthorized", "detail": "send an API token as a bearer token"}).encode()
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"www-authenticate", b'Bearer realm="undertone"'),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded
