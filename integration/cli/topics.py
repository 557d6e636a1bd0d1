"""`undertone themes`: the taxonomy's top themes and recurring topics, from the database or from any file."""
from __future__ import annotations

import csv
from pathlib import Path

import click

from integration.settings import Settings


def read_messages(path: Path) -> list[str]:
    """One message per line, or a TSV whose header has a `text` column (blank messages skipped)."""
    with path.open(newline="", encoding="utf-8") as handle:
        first = handle.readline()
        handle.seek(0)
        if "\t" in first and "text" in first.rstrip("\r\n").split("\t"):
            texts = [row.get("text") or "" for row in csv.DictReader(handle, delimiter="\t")]
        else:
            texts = handle.read().splitlines()
    return [t.strip() for t in texts if t.strip()]


def embedder():
    """The packaged MiniLM's `encode`, or None when the model package is not installed (key phrases then)."""
    from scoring.embeddings import ModelMissing, encode, model_path

    try:
        model_path()
    except ModelMissing:
        return None
    return encode


def echo_topics(topics) -> None:
    for topic in topics:
        click.echo(f"  {topic.label:<32}{topic.interactions:>6}  e.g. \"{topic.examples[0][:80]}\"")
    if not topics:
        click.echo("  none yet")


@click.command()
@click.option("--days", default=30, show_default=True, help="Look back this many days.")
@click.option("--top", default=5, show_default=True, help="How many to show.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Find the recurring topics in this file instead (one message per line, or a TSV with a text column).")
def themes(days: int, top: int, path: Path | None) -> None:
    """What customers talk about: the taxonomy's top themes, and recurring topics in their own words."""
    from integration.insights import themes as insights

    if path is not None:
        try:
            messages = read_messages(path)
        except UnicodeDecodeError:
            raise click.ClickException(f"{path}: not UTF-8 text") from None
        except csv.Error as error:
            raise click.ClickException(f"{path}: cannot read it as TSV ({error})") from None
        click.echo(f"Recurring topics in {path.name} ({len(messages)} messages; messages per topic):")
        echo_topics(insights.topics_of(messages, top, embedder()))
        return
    from integration.runtime import Runtime

    runtime, since = Runtime(Settings()), insights.since_days(days)
    counted = insights.top_themes(runtime.db, since, top)
    click.echo(f"Top themes, last {days} days (interactions, of which negative):")
    for row in counted or []:
        click.echo(f"  {row.theme:<16}{row.interactions:>6}{row.negative:>6}")
    if not counted:
        click.echo("  none yet")
    click.echo("Recurring topics in customers' own words:")
    echo_topics(insights.recurring_topics(runtime.db, since, top, embedder()))


def register(main: click.Group) -> None:
    """Add `themes` to `undertone`."""
    main.add_command(themes)
