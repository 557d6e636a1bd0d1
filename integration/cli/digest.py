"""`undertone digest`: preview the weekly digest in the terminal, or send it now."""
from __future__ import annotations

import json

import click


def register(main: click.Group) -> None:
    main.add_command(digest)
    main.add_command(follow_up_waiting)


@click.command()
@click.option("--preview", "mode", flag_value="preview", default=True, help="Print the digest (the default).")
@click.option("--send", "mode", flag_value="send", help="Send it now to the configured destinations.")
@click.option("--to", "to", type=click.Choice(["slack", "teams", "email", "notion"]), default=None,
              help="With --send: only this destination.")
@click.option("--week", default=None, help="The week: 2026-W48 or a date in it (default: the week the schedule "
                                           "last made due, i.e. last week on the default Monday schedule).")
@click.option("--html", is_flag=True, help="With --preview: print the e-mail's HTML instead of the text.")
def digest(mode: str, to: str | None, week: str | None, html: bool) -> None:
    """The weekly digest: --preview prints it, --send [--to slack|email|notion] sends it now.

    A week already sent to a destination is not sent to it again (a refused or failed send is retried).
    """
    from integration import schedule
    from integration.digest import build, render, sending
    from integration.runtime import Runtime
    from integration.settings import Settings

    rt = Runtime(Settings())
    settings = rt.settings
    try:
        key = schedule.week_key(schedule.week_from_key(week)) if week else sending.due_week(settings)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    if mode == "preview":
        message = render.message(build.build(rt.db, settings, schedule.week_from_key(key)))
        if html:
            from connectors.email.digest_html import render as render_html

            click.echo(render_html(message))
        else:
            click.echo(message.text, nl=False)
        return
    targets = sending.destinations(settings, to)
    if not targets:
        wanted = to or settings.digest_destinations
        raise click.ClickException(f"no configured destination among {wanted}: set SLACK_WEBHOOK_URL, SMTP_URL and "
                                   "DIGEST_EMAIL_TO, or NOTION_TOKEN and NOTION_DATABASE_ID (see the README)")
    result = sending.send(rt.db, settings, key, targets)
    click.echo(json.dumps(result, indent=2))
    if any(not v.startswith(("sent", "skipped")) for v in result["deliveries"].values()):
        raise SystemExit(1)


@click.command("follow-up-waiting")
def follow_up_waiting() -> None:
    """Open a follow-up task for each customer left FOLLOW_UP_AFTER_DAYS without a reply (the daily job, now)."""
    from workers.jobs import follow_up_waiting as run

    click.echo(json.dumps(run()))
