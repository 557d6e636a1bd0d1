"""The fault suite's counts: read from the inbox and from the CRM's own records (here the sink tables)."""
from __future__ import annotations

from datetime import datetime, timezone

from bench.faultlib.census import CensusTaker
from bench.faultlib.traffic import marker
from integration.store.models import Contact, SinkNote, SinkTask, WebhookEvent

NOW = datetime(2026, 11, 30, tzinfo=timezone.utc)


def note(contact_id: int, delivery: str, ref: str) -> SinkNote:
    return SinkNote(contact_id=contact_id, body=f"Summary: {marker(delivery)}\n(Undertone ref {ref})", at=NOW)


def task(contact_id: int, ref: str) -> SinkTask:
    return SinkTask(contact_id=contact_id, subject="Call back", body=f"x\n(Undertone ref {ref})", priority="HIGH",
                    task_type="CALL", due_at=NOW)


def test_counts_stored_processed_written_lost_and_duplicated(db, database_url):
    with db.session() as session:
        contact = Contact(name="Dana")
        session.add(contact)
        session.flush()
        for number, status in enumerate(["processed", "processed", "processed", "pending", "failed"]):
            session.add(WebhookEvent(source="generic", event_id=f"flt-x-{number:05d}", event_type="interaction",
                                     body=b"{}", headers={}, status=status, last_error="boom" if status == "failed" else None))
        session.add_all([note(contact.id, "flt-x-00000", "note-1"), note(contact.id, "flt-x-00001", "note-2"),
                         note(contact.id, "flt-x-00001", "note-2"),  # written twice after a crash
                         task(contact.id, "task-1"), task(contact.id, "task-1"), task(contact.id, "task-2")])
    taker = CensusTaker(database_url)
    try:
        census = taker.take()
    finally:
        taker.close()
    assert (census.stored, census.processed, census.pending, census.failed) == (5, 3, 1, 1)
    assert census.written == 2
    assert census.lost(["flt-x-00000", "flt-x-00001", "flt-x-00002"]) == ["flt-x-00002"]
    assert census.duplicated == 2  # one note and one task twice
    assert census.failed_errors == ["boom"]
