"""`undertone import FILE`: past conversations from a CSV or JSONL export, through the same pipeline.

Each row becomes an inbox event of source `import` whose id is the row's `id` (or a hash of the row),
so importing a file twice adds nothing and an interrupted import resumes where it stopped. The whole
file is validated first: one bad row and nothing is imported (the errors name the lines).
Formats are documented in docs/sources/import.md.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from connectors.base import InboundEvent, MalformedPayload
from connectors.generic import to_interaction
from integration import inbox
from integration.db import Database

SOURCE = "import"
CSV_COLUMNS = ("id", "occurred_at", "channel", "direction", "thread_id", "contact_email", "contact_phone",
               "contact_name", "contact_id", "speaker", "text", "summary", "url", "line", "line_name", "agent",
               "agent_name")
OPTIONAL_COLUMNS = ("line", "line_name", "agent", "agent_name")  # where it came in, who handled it
BATCH = 500


@dataclass
class Row:
    """One import row as a generic document, with where it came from."""

    line: int
    document: dict

    @property
    def event_id(self) -> str:
        if self.document.get("id"):
            return f"row:{self.document['id']}"
        canonical = json.dumps(self.document, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Report:
    stored: list[int] = field(default_factory=list)
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def read_rows(path: Path) -> list[Row]:
    """All rows of a .jsonl/.ndjson or .csv file (by extension; else sniffed from the first byte)."""
    text = path.read_text(encoding="utf-8-sig")
    is_json = path.suffix.lower() in (".jsonl", ".ndjson", ".json") or text.lstrip().startswith("{")
    return list(_jsonl_rows(text) if is_json else _csv_rows(text))


def validate(rows: list[Row]) -> list[str]:
    """Every problem, one line each, naming the file line; empty when all rows are importable."""
    errors = []
    for row in rows:
        if row.document.get("_error"):
            errors.append(f"line {row.line}: {row.document['_error']}")
            continue
        try:
            to_interaction(row.document, SOURCE, row.event_id)
        except MalformedPayload as exc:
            errors.append(f"line {row.line}: {str(exc).removeprefix('generic: ')}")
    return errors


def store(db: Database, rows: list[Row], progress=None) -> Report:
    """Put the rows in the inbox in batches (duplicates skipped); returns the new event row ids."""
    report = Report()
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        events = [InboundEvent(r.event_id, "interaction", json.dumps(r.document).encode()) for r in batch]
        result = inbox.accept(db, SOURCE, events, lambda _type: True)
        report.stored += result.new
        report.duplicates += result.duplicates
        if progress is not None:
            progress.update(len(batch))
    return report


def _jsonl_rows(text: str) -> Iterator[Row]:
    for number, line in enumerate(io.StringIO(text), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except ValueError:
            document = {"_error": "not valid JSON"}
        yield Row(number, document if isinstance(document, dict) else {"_error": "not a JSON object"})


def _csv_rows(text: str) -> Iterator[Row]:
    reader = csv.DictReader(io.StringIO(text))
    unknown = set(reader.fieldnames or ()) - set(CSV_COLUMNS)
    for number, record in enumerate(reader, start=2):  # line 1 is the header
        if unknown:
            yield Row(number, {"_error": f"unknown columns {', '.join(sorted(unknown))}; expected {', '.join(CSV_COLUMNS)}"})
            return
        yield Row(number, _csv_document(record))


def _csv_document(record: dict) -> dict:
    """A CSV row (one turn) as a generic document; rows sharing thread_id append to one interaction."""
    value = {k: (v or "").strip() for k, v in record.items() if k}
    contact = {k: value[f"contact_{k}"] for k in ("email", "phone", "name", "id") if value.get(f"contact_{k}")}
    document = {k: value[k] for k in ("id", "occurred_at", "channel", "direction", "thread_id", "summary", "url",
                                      *OPTIONAL_COLUMNS) if value.get(k)}
    if contact:
        document["contact"] = contact
    if value.get("text"):
        turn = {"speaker": value.get("speaker") or "customer", "text": value["text"]}
        if value.get("occurred_at"):
            turn["at"] = value["occurred_at"]
        if value.get("id"):
            turn["id"] = value["id"]
        document["turns"] = [turn]
    document["append"] = bool(value.get("thread_id"))
    return document
