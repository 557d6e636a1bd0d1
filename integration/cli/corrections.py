"""`undertone corrections export FILE`: the console's label corrections as labelled training data.

One row per corrected interaction (its latest correction wins), the text being what the scorer scores
(the customer's turns, else unattributed turns, else the summary; `scoring.interaction.texts_to_score`)
joined by spaces with all whitespace runs (tabs, newlines) made one space.

TSV (the default; UTF-8, a header line first, then one row per interaction):
    text  label  source  channel  at  corrected_by  corrected_at  interaction_id  model_label  note
JSON Lines (FILE ending in .jsonl or .json, or --format jsonl): one object per line with the same keys.
`label` is negative, neutral or positive; `at` and `corrected_at` are ISO 8601 UTC; `model_label` is what the
scorer says now (empty when the correction's label is the scorer's own). Interactions whose text is gone
(no customer words any more) are skipped and counted.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import click
from sqlalchemy import select

from integration.settings import Settings
from integration.store.db import Database
from integration.store.models import Interaction, LabelCorrection
from scoring.interaction import texts_to_score

COLUMNS = ("text", "label", "source", "channel", "at", "corrected_by", "corrected_at", "interaction_id",
           "model_label", "note")


def rows(db: Database) -> tuple[list[dict], int]:
    """(one row per corrected interaction, oldest correction first; how many were skipped for lack of text)."""
    latest: dict[int, LabelCorrection] = {}
    with db.session() as session:
        for correction in session.scalars(select(LabelCorrection).order_by(LabelCorrection.created_at,
                                                                           LabelCorrection.id)):
            latest[correction.interaction_id] = correction
        found = {row.id: row for row in session.scalars(select(Interaction).where(Interaction.id.in_(list(latest))))}
        out, skipped = [], 0
        for interaction_id, correction in sorted(latest.items(), key=lambda item: (item[1].created_at, item[1].id)):
            row = found.get(interaction_id)
            selected = texts_to_score(row.turns, row.summary) if row is not None else None
            if selected is None:
                skipped += 1
                continue
            score = row.score
            out.append({
                "text": one_line(" ".join(selected[2])), "label": correction.new_label, "source": row.source,
                "channel": row.channel, "at": _iso(row.occurred_at or row.created_at),
                "corrected_by": correction.user_email, "corrected_at": _iso(correction.created_at),
                "interaction_id": row.id, "model_label": (score.model_label if score else None) or "",
                "note": one_line(correction.note or "")})
        return out, skipped


def one_line(text: str) -> str:
    return " ".join(text.split())


def write(path: str, fmt: str, found: list[dict]) -> None:
    """The rows to `path` ('-': standard output), written whole or not at all."""
    lines = ["\t".join(COLUMNS)] + ["\t".join(str(r[c]) for c in COLUMNS) for r in found] if fmt == "tsv" else \
        [json.dumps({c: r[c] for c in COLUMNS}, ensure_ascii=False) for r in found]
    data = "".join(line + "\n" for line in lines)
    if path == "-":
        sys.stdout.write(data)
        return
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else ""


@click.group()
def corrections() -> None:
    """Label corrections made in the admin console."""


@corrections.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["tsv", "jsonl"]), default=None,
              help="TSV or JSON Lines; default: JSON Lines for a .jsonl/.json FILE, else TSV.")
def export(file: str, fmt: str | None) -> None:
    """Write every corrected interaction (latest correction wins) as labelled training data: text, label, ..."""
    fmt = fmt or ("jsonl" if file.lower().endswith((".jsonl", ".json")) else "tsv")
    if file != "-" and not Path(file).parent.is_dir():
        raise click.UsageError(f"the folder {str(Path(file).parent)!r} does not exist")
    db = Database(Settings().effective_database_url)
    try:
        found, skipped = rows(db)
    finally:
        db.dispose()
    write(file, fmt, found)
    note = f"; {skipped} skipped (no customer text any more)" if skipped else ""
    click.echo(f"Wrote {len(found)} corrected interaction(s) to {file} ({fmt.upper()}){note}.",
               err=file == "-")


def register(main: click.Group) -> None:
    main.add_command(corrections)
