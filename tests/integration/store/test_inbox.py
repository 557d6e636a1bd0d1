"""The inbox's hot path: one INSERT per event, dedupe by (source, event_id), on both databases."""
from __future__ import annotations

import threading

from sqlalchemy import event, select

from connectors.base import InboundEvent
from integration.store import inbox
from integration.store.models import WebhookEvent


def _event(event_id: str, event_type: str = "call.completed") -> InboundEvent:
    return InboundEvent(event_id=event_id, event_type=event_type, body=b'{"id": "%s"}' % event_id.encode())


def _handles(event_type: str) -> bool:
    return event_type != "call.ringing"


def test_new_duplicate_and_ignored_events_are_told_apart(db):
    first = inbox.accept(db, "quo", [_event("a"), _event("b"), _event("a"), _event("r", "call.ringing")], _handles,
                         {"Openphone-Signature": "hmac;1;2;x", "Authorization": "Basic c2VjcmV0"})
    again = inbox.accept(db, "quo", [_event("b"), _event("c")], _handles)
    other_source = inbox.accept(db, "generic", [_event("a")], _handles)
    assert (len(first.new), first.duplicates, first.ignored) == (2, 1, 1)
    assert (len(again.new), again.duplicates) == (1, 1)
    assert len(other_source.new) == 1
    with db.session() as session:
        rows = {(r.source, r.event_id): r for r in session.scalars(select(WebhookEvent))}
    assert set(rows) == {("quo", "a"), ("quo", "b"), ("quo", "r"), ("quo", "c"), ("generic", "a")}
    assert [rows["quo", key].id for key in ("a", "b")] == first.new
    assert rows["quo", "a"].status == "pending" and rows["quo", "a"].processed_at is None
    assert rows["quo", "r"].status == "ignored" and rows["quo", "r"].processed_at is not None
    assert rows["quo", "a"].body == b'{"id": "a"}' and rows["quo", "a"].attempts == 0
    assert rows["quo", "a"].headers == {"openphone-signature": "hmac;1;2;x"}  # the credential is dropped
    assert rows["quo", "a"].received_at.tzinfo is not None


def test_one_event_costs_one_statement(db):
    """The acknowledgement's path: no SELECT before, no SAVEPOINT around the INSERT (BEGIN/COMMIT aside)."""
    statements = []
    listener = lambda conn, cursor, statement, *rest: statements.append(statement.split()[0].upper())  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert len(inbox.accept(db, "quo", [_event("one")], _handles).new) == 1
        assert inbox.accept(db, "quo", [_event("one")], _handles).duplicates == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [s for s in statements if s not in ("BEGIN", "COMMIT")] == ["INSERT", "INSERT"]


def test_concurrent_deliveries_of_one_event_store_it_once(db):
    results, barrier = [], threading.Barrier(6)

    def deliver():
        barrier.wait()
        results.append(inbox.accept(db, "quo", [_event("same")], _handles))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r.new) for r in results) == [0, 0, 0, 0, 0, 1]
    assert sum(r.duplicates for r in results) == 5
    with db.session() as session:
        assert len(list(session.scalars(select(WebhookEvent)))) == 1
