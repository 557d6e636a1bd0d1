"""`undertone insights <name>`, `undertone insights refresh`, `undertone api-token create|revoke|list` and `undertone mcp`."""
from __future__ import annotations

import json
import time

import click
from pydantic import ValidationError

from integration.settings import Settings
from integration.store import api_tokens


def _runtime():
    from integration.runtime import Runtime

    return Runtime(Settings())


@click.group()
def insights() -> None:
    """Answers to the owner's questions (the same as /api/v1/insights/<name> and the MCP tools)."""


def _command(name: str):
    from integration.insights.registry import INSIGHTS

    insight = INSIGHTS[name]

    @click.pass_context
    def command(ctx, as_json: bool, **options) -> None:
        from integration.insights.registry import answer
        from integration.insights.render import render

        given = {key: value for key, value in options.items() if value is not None}
        try:
            query = insight.model.model_validate(given)
        except ValidationError as exc:
            raise click.UsageError(_message(exc), ctx) from None
        runtime = _runtime()
        result = answer(name, query, runtime.db, runtime.settings)
        click.echo(json.dumps(result, indent=2, ensure_ascii=False) if as_json else render(name, result))

    params = [click.Option([f"--{field.replace('_', '-')}", field], default=None, help=info.description)
              for field, info in insight.model.model_fields.items()]
    params.append(click.Option(["--json", "as_json"], is_flag=True, help="JSON instead of a table."))
    help_text = insight.summary + "\n\n" + "\n\n".join(insight.questions)
    short = insight.summary.split(":")[0].split(". ")[0].rstrip(".")
    return click.Command(name, callback=command, params=params, help=help_text, short_help=short)


def _message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ())]
    detail = first.get("msg", "invalid").removeprefix("Value error, ")
    return f"--{loc[0].replace('_', '-')}: {detail}" if loc else f"--{detail}"


def register(main: click.Group) -> None:
    """Add the insights, api-token and mcp commands to `undertone`."""
    from integration.insights.registry import INSIGHTS

    for name in INSIGHTS:
        insights.add_command(_command(name))
    insights.add_command(refresh)
    main.add_command(insights)
    main.add_command(api_token)
    main.add_command(mcp)


@click.command(short_help="Bring the insight tables up to date now")
@click.option("--rebuild", is_flag=True, help="Forget them and re-read every interaction.")
def refresh(rebuild: bool) -> None:
    """Bring the insight tables up to date now, with no time limit on its statements.

    Every answer does this first, within the time a request's statements get (a few seconds). After a bulk
    import or a TIMEZONE change on a large database the catch-up takes longer: run this once instead.
    --rebuild forgets the tables and re-reads everything (after a restore, or a change made outside Undertone).
    """
    from integration.insights import rollup

    runtime = _runtime()
    started = time.perf_counter()
    count = (rollup.rebuild if rebuild else rollup.refresh)(runtime.db, runtime.settings.tzinfo, 0)
    click.echo(f"re-read {count} interactions in {time.perf_counter() - started:.1f} s")


@click.group("api-token")
def api_token() -> None:
    """Bearer tokens for the insights API."""


@api_token.command("create")
@click.argument("name")
def token_create(name: str) -> None:
    """Create a token; it is printed once, alone on the last line, and stored only as a hash."""
    try:
        token = api_tokens.create(_runtime().db, name)
    except api_tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created API token {name!r}. It is shown only now; send it as Authorization: Bearer <token>.")
    click.echo(token)


@api_token.command("revoke")
@click.argument("name")
def token_revoke(name: str) -> None:
    """Revoke a token by name; it stops working at once."""
    try:
        api_tokens.revoke(_runtime().db, name)
    except api_tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"revoked {name!r}")


@api_token.command("list")
def token_list() -> None:
    """Token names, when each was made and whether it is revoked."""
    for name, created, revoked in api_tokens.names(_runtime().db):
        click.echo(f"{name:<24}created {created:%Y-%m-%d %H:%M}  " + (f"revoked {revoked:%Y-%m-%d %H:%M}"
                                                                       if revoked else "active"))


@click.command()
@click.option("--http", "http", is_flag=True, help="Serve streamable HTTP at /mcp (API token required) instead.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --http: the address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="With --http: the port.")
def mcp(http: bool, host: str, port: int) -> None:
    """An MCP server on stdio (for Claude Desktop / Claude Code): the insights as read-only tools.

    With --http, the same tools over streamable HTTP at http://HOST:PORT/mcp; every request must carry an
    API token (`undertone api-token create NAME`) as `Authorization: Bearer <token>`. Put TLS in front of it
    (a reverse proxy) when it listens beyond this machine."""
    from integration.cli.mcp_server import build_server, http_app

    if not http:
        build_server(_runtime()).run("stdio")
        return
    import uvicorn

    uvicorn.run(http_app(_runtime(), host), host=host, port=port, log_level="info")
