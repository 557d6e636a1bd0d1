"""The inbox's hot path: one INSERT per event, dedupe by (source, event_id), on both databases."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest
from psycopg import pq
from sqlalchemy import select
from sqlalchemy.exc import DataError, OperationalError

from connectors.base import InboundEvent
from integration import defaults
from integration.store import inbox, pg_waits, sqlite_turn
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


def test_one_event_costs_one_round_trip(db, tmp_path):
    """The acknowledgement's path: one INSERT and nothing else reaches the database, no BEGIN or COMMIT, no SELECT
    before it, no SAVEPOINT around it. Counted by the driver itself (SQLite's statement trace, libpq's protocol
    trace), since the inbox goes round SQLAlchemy's statement events."""
    sent: list[str] = []
    trace_path = tmp_path / "libpq.trace"
    with db.driver_connection() as conn:  # the thread's kept connection, made (and the dialect set up) before watching
        pass
    with open(trace_path, "w") as trace:
        if db.is_sqlite:
            conn.set_trace_callback(lambda statement: sent.append(statement.split()[0].upper()))
        else:
            conn.pgconn.trace(trace.fileno())
            conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            assert len(inbox.accept(db, "quo", [_event("one")], _handles).new) == 1
            assert inbox.accept(db, "quo", [_event("one")], _handles).duplicates == 1
        finally:
            if db.is_sqlite:
                conn.set_trace_callback(None)
            else:
                conn.pgconn.untrace()
    if not db.is_sqlite:  # each message the client sent: "F <length> <type> ..."; Sync or Query ends a round trip
        messages = [line.split("\t")[2] for line in trace_path.read_text().splitlines() if line.startswith("F")]
        sent = [m for m in messages if m in ("Sync", "Query")]
        assert [m for m in messages if m in ("Parse", "Bind", "Execute")].count("Execute") == 2
        assert sent == ["Sync", "Sync"]
    else:
        assert sent == ["INSERT", "INSERT"]


def test_rows_read_back_as_sqlalchemy_wrote_them(db):
    """The driver INSERT goes through the columns' own bind processors: the ORM reads the same values back,
    including a timestamp on a whole second (SQLite stores text) and headers as JSON."""
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    [row_id] = inbox.accept(db, "quo", [InboundEvent("whole", "call.completed", b"\x00\xffraw", {"X-A": "1"})],
                            _handles).new
    with db.session() as session:
        row = session.get(WebhookEvent, row_id)
        assert (row.body, row.headers, row.status, row.attempts) == (b"\x00\xffraw", {"x-a": "1"}, "pending", 0)
        assert abs((row.received_at - datetime.now(timezone.utc)).total_seconds()) < 60
        row.received_at = stamp  # the ORM's own write of the same column, read back by the same query below
    with db.session() as session:
        assert session.scalar(select(WebhookEvent.received_at).where(WebhookEvent.id == row_id)) == stamp
        assert session.scalar(select(WebhookEvent.id).where(WebhookEvent.received_at > stamp)) is None


def test_refused_event_stores_none_of_the_request(db):
    """Several events share one transaction: a value the database refuses (PostgreSQL: a NUL in text) stores
    none of them, the error is SQLAlchemy's DataError (the webhook's 400), and the connection stays usable."""
    if db.is_sqlite:
        pytest.skip("SQLite stores a NUL in text")
    with pytest.raises(DataError):
        inbox.accept(db, "quo", [_event("first"), InboundEvent("bad", "call.completed", b"{}", {"x": "a"}),
                                 InboundEvent("nul\x00", "call.completed", b"{}")], _handles)
    with db.session() as session:
        assert list(session.scalars(select(WebhookEvent))) == []
    assert len(inbox.accept(db, "quo", [_event("after")], _handles).new) == 1


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


def test_sqlite_writers_of_one_process_wait_their_turn_within_the_deadline(db):
    """gunicorn threads queue for the file's write turn (integration/store/sqlite_turn.py); the wait leaves
    SQLite's busy timeout inside the request's deadline, and ends in SQLAlchemy's OperationalError (the webhook's
    503)."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL has no single writer")
    turn = sqlite_turn.turn_for(db.engine.url.database)
    taken, done = threading.Event(), threading.Event()

    def hold():  # another thread of this process, in the middle of its write
        turn.take(timeout_s=5)
        taken.set()
        done.wait(10)
        turn.release()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(5)
        started = time.monotonic()
        with pg_waits.deadline(defaults.SQLITE_BUSY_TIMEOUT_S + 0.3), pytest.raises(OperationalError):
            inbox.accept(db, "quo", [_event("waits")], _handles)
        assert 0.25 <= time.monotonic() - started < 1.5
    finally:
        done.set()
        holder.join()
    assert len(inbox.accept(db, "quo", [_event("waits")], _handles).new) == 1


def test_gunicorn_threads_build_the_insert_once(db, monkeypatch):
    """The INSERT is built on first use; threads that all need it at once get one and the same statement."""
    monkeypatch.setattr(inbox, "_driver_inserts", {})
    built, barrier = [], threading.Barrier(8)
    real_build = inbox._build_driver_insert

    def slow_build(dialect):
        time.sleep(0.05)  # widen the window two unguarded threads would both build in
        built.append(dialect.name)
        return real_build(dialect)

    monkeypatch.setattr(inbox, "_build_driver_insert", slow_build)
    got = []

    def first_use():
        barrier.wait()
        got.append(inbox._driver_insert(db.engine.dialect))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == [db.engine.dialect.name]
    assert len({id(statement) for statement in got}) == 1 and len(got) == 8
