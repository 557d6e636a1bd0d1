"""The `undertone` command: run everything locally, run a worker or the scheduler, migrate, demo."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from integration.settings import Settings


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="Python logging level.")
def main(log_level: str) -> None:
    """Undertone: customer sentiment from calls, messages and tickets, written back into the CRM."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _register_scoring_commands() -> None:
    """`undertone train`, `score` and `evaluate` (they load torch only when they run)."""
    from scoring.training.commands import calibrate, evaluate, score, train, train_escalations, train_head

    for command in (train, calibrate, score, evaluate, train_escalations, train_head):
        main.add_command(command)


@main.command()
def run() -> None:
    """Migrate, then start web + worker + scheduler (embedded Redis when REDIS_URL is unset)."""
    from integration.cli.devserver import run_all

    raise SystemExit(run_all(Settings()))


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--queues", "queue_names", default="events,crm", show_default=True, help="Queues, taken round-robin.")
@click.option("--fork", is_flag=True, help="Run each job in a forked work horse (isolation; about 3x slower).")
def worker(burst: bool, queue_names: str, fork: bool) -> None:
    """An RQ worker, with RQ's scheduler for delayed retries, the scorer and rules loaded once.

    By default jobs run in the worker process itself (RQ's SimpleWorker): no fork per job, so a loaded
    model is used as is and a job costs ~20 ms of overhead instead of ~70. A job that kills the process
    is retried by RQ once the worker's registration expires. A Redis outage of any length is waited out
    (backoff, one log line when Redis goes and one when it is back); the worker then registers again and
    carries on, with no supervisor. Queues are taken round-robin, so a flood of events never starves the
    CRM flush (or the reverse).
    """
    from rq.worker import DequeueStrategy

    from workers import context
    from workers.worker import TolerantSimpleWorker, TolerantWorker, lower_priority

    runtime = context.runtime()
    lower_priority(runtime.base.worker_nice)
    context.score_on_own_thread(idle=runtime.base.worker_scoring_idle)
    context.warm()  # forked work horses (--fork) share what is loaded here too
    names = [n.strip() for n in queue_names.split(",") if n.strip()]
    worker_class = TolerantWorker if fork else TolerantSimpleWorker
    worker_class(names, connection=runtime.worker_redis).run(
        burst=burst, with_scheduler=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)


@main.command()
@click.option("--config", "config", default="workers.cron", show_default=True,
              help="Module that registers the periodic jobs (rq.cron.register).")
def scheduler(config: str) -> None:
    """The periodic jobs (sweep of pending events and unsynced contacts), via RQ's cron scheduler.

    It waits out a Redis outage of any length and resumes when Redis is back.
    """
    from workers import context
    from workers.cron_loop import run_cron

    run_cron(context.runtime().worker_redis, config)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations up to the newest (safe to run on every deploy)."""
    from integration.store.migrate import upgrade

    settings = Settings()
    upgrade(settings.effective_database_url)
    click.echo("database is up to date")


@main.group()
def admin() -> None:
    """Admin console users."""


@admin.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "viewer"]), default="admin", show_default=True,
              help="A viewer sees everything and changes nothing.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
def admin_create(email: str, role: str, password_stdin: bool) -> None:
    """Create a console user; the password is prompted (twice) or read from stdin."""
    from integration.store import users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = users.create(_runtime().db, email, password, role)
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {user.role} {user.email}")


@main.group()
def hubspot() -> None:
    """HubSpot commands."""


@hubspot.command("setup")
def hubspot_setup() -> None:
    """Create the `undertone` property group and properties (idempotent) and check the token's scopes."""
    from connectors.crm import CRMError
    from connectors.hubspot.api import HubSpotAPI
    from connectors.hubspot.setup import REQUIRED_SCOPES, setup

    settings = Settings()
    if settings.hubspot_access_token is None:
        raise click.ClickException("set HUBSPOT_ACCESS_TOKEN (a private app's access token) first")
    token = settings.hubspot_access_token.get_secret_value()
    try:
        report = setup(HubSpotAPI(token, settings.hubspot_api_base), token, settings.hubspot_api_base)
    except CRMError as exc:
        raise click.ClickException(f"HubSpot refused: {exc}") from None
    for label, names in (("created", report.created), ("updated", report.updated), ("unchanged", report.unchanged)):
        if names:
            click.echo(f"{label:<10}{', '.join(names)}")
    if report.scopes is None:
        click.echo(f"scopes    could not be read; make sure the token has {', '.join(REQUIRED_SCOPES)}")
    elif report.missing_scopes:
        raise click.ClickException(f"the token lacks required scopes: {', '.join(report.missing_scopes)}")
    else:
        click.echo("scopes    ok" + (f" (recommended, missing: {', '.join(report.missing_recommended)})"
                                     if report.missing_recommended else ""))


@main.command()
def sweep() -> None:
    """Run one sweep now (the scheduler runs it every 30 s)."""
    from workers.jobs import sweep as run_sweep

    click.echo(json.dumps(run_sweep()))


@main.command("prune-events")
def prune_events() -> None:
    """Delete processed and ignored events older than EVENT_RETENTION_DAYS now (the scheduler runs it hourly)."""
    from workers.jobs import prune_events as run_prune

    click.echo(json.dumps(run_prune()))


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--inline", is_flag=True, help="Score and sync here, without workers or Redis.")
def import_history(file: Path, inline: bool) -> None:
    """Import past conversations from a CSV or JSONL file (idempotent, resumable)."""
    from integration.cli import backfill
    from integration.cli.backfill_run import finish_inline, pending_ids, queue_all

    rows = backfill.read_rows(file)
    errors = backfill.validate(rows)
    if errors:
        for line in errors[:50]:
            click.echo(line, err=True)
        more = f" (and {len(errors) - 50} more)" if len(errors) > 50 else ""
        raise click.ClickException(f"{len(errors)} invalid rows{more}; nothing was imported")
    runtime = _runtime()
    with click.progressbar(length=len(rows), label="storing  ") as bar:
        report = backfill.store(runtime.db, rows, bar)
    pending = pending_ids(runtime.db)
    click.echo(f"{len(rows)} rows: {len(report.stored)} new, {report.duplicates} already imported; "
               f"{len(pending)} waiting to be scored")
    with click.progressbar(length=len(pending), label="scoring  " if inline else "queueing ") as bar:
        done = finish_inline(runtime, pending, bar) if inline else queue_all(runtime, pending, bar)
    click.echo(done)


def _runtime():
    from integration.runtime import Runtime

    return Runtime(Settings())


@main.command("demo")
@click.option("--url", default=None, help="Service base URL (default http://127.0.0.1:$PORT).")
@click.option("--wait", default=180.0, show_default=True, help="Seconds to wait for the results.")
@click.option("--history/--no-history", default=True, show_default=True,
              help="First send sixty days of past conversations (once: their ids are fixed).")
def demo_command(url: str | None, wait: float, history: bool) -> None:
    """Send signed sample Quo webhooks to the running service and show what it made of them."""
    from integration.cli.demo import run_demo

    settings = Settings()
    raise SystemExit(run_demo(settings, url or f"http://127.0.0.1:{settings.port}", wait, history))


_register_scoring_commands()
from integration.cli.insights import register as _register_insights  # noqa: E402

_register_insights(main)
from integration.cli.digest import register as _register_digest  # noqa: E402

_register_digest(main)
from integration.cli.corrections import register as _register_corrections  # noqa: E402

_register_corrections(main)
from integration.cli.topics import register as _register_topics  # noqa: E402

_register_topics(main)
