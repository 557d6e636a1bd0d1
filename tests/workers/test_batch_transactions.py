"""A batch stores its events in shared transactions and writes their scores in shared transactions, a savepoint per
event: fewer transactions, one event's error still its own, a shared transaction that fails as a whole done again
event by event. A job whose event another batch finished reads that without the write lock. Both databases."""
from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from connectors.base import InboundEvent
from integration import defaults
from integration.pipeline import batch, processing
from integration.pipeline.interactions import link_event
from integration.store import claims, inbox
from integration.store.models import Alert, Contact, Interaction, InteractionEvent, InteractionScore, WebhookEvent
from tests.workers.test_batching import count, statuses, store
from workers import context, jobs


@pytest.fixture
def commits(db, worker_env):
    """Transactions the worker's engine commits (the worker code's own Database, built from the environment)."""
    seen = []
    event.listen(context.runtime().db.engine, "commit", lambda _conn: seen.append(1))
    return seen


def process(ids: list[int], commits: list) -> batch.BatchResult:
    """Claim the events as a job does, then count the commits of processing them."""
    rt = context.runtime()
    context.analyzer()
    claimed = claims.claim(rt.db, ids[0], "a job", len(ids), 20)
    commits.clear()
    return batch.process_batch(rt.db, claimed, context.analyzer(), context.connector_for(rt))


def test_a_batch_commits_two_transactions_not_two_per_event(db, worker_env, commits, monkeypatch):
    monkeypatch.setattr(defaults, "BATCH_TRANSACTION_S", 60.0)
    ids = store(db, 8)
    result = process(ids, commits)
    assert sorted(result.outcomes) == ids and not result.errors
    assert statuses(db) == {i: ("processed", 1) for i in ids}
    assert count(db, InteractionScore) == 8
    assert len(commits) == 2  # the 8 events stored, their 8 scores written (one by one: 16)


def test_a_shared_transaction_commits_after_its_time_and_the_next_event_starts_another(db, worker_env, commits,
                                                                                      monkeypatch):
    monkeypatch.setattr(defaults, "BATCH_TRANSACTION_S", 0.0)  # every event its own transaction again
    ids = store(db, 4)
    process(ids, commits)
    assert statuses(db) == {i: ("processed", 1) for i in ids}
    assert len(commits) == 8


def test_on_sqlite_a_batch_hands_the_write_lock_on_when_a_web_request_waits_for_it(db, worker_env, commits,
                                                                                  monkeypatch, tmp_path):
    """While no web request waits, a batch stores in one transaction (above); once one waits (its shared hurry
    lock beside the database file, as sqlite_turn takes it), each shared transaction ends after
    BATCH_TRANSACTION_YIELD_S. Another worker waiting does not count (tests/integration/store/test_sqlite_turn.py)."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL's writers wait for rows, never for one write lock")
    monkeypatch.setattr(defaults, "BATCH_TRANSACTION_S", 60.0)
    monkeypatch.setattr(defaults, "BATCH_TRANSACTION_YIELD_S", 0.0)
    ids = store(db, 4)
    web = os.open(f"{os.path.realpath(db.engine.url.database)}-turn-hurry", os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        fcntl.flock(web, fcntl.LOCK_SH)  # a web request in a hurry, waiting for the turn
        process(ids, commits)
    finally:
        os.close(web)
    assert statuses(db) == {i: ("processed", 1) for i in ids}
    assert len(commits) == 8  # every event stored and scored in a transaction of its own


def test_one_events_storing_error_rolls_back_its_own_writes_only(db, worker_env, monkeypatch):
    real = processing.store_items
    ids = store(db, 4)

    def breaks_after_writing(session, row_id, *args):
        stored = real(session, row_id, *args)
        if row_id == ids[2]:
            session.flush()  # its interaction, contact and link are written in the shared transaction...
            raise RuntimeError("event 3 met a glitch")  # ...and rolled back with its savepoint
        return stored

    monkeypatch.setattr(processing, "store_items", breaks_after_writing)
    assert jobs.process_event(ids[0])["batch"] == 4
    assert statuses(db) == {ids[0]: ("processed", 1), ids[1]: ("processed", 1), ids[2]: ("pending", 1),
                            ids[3]: ("processed", 1)}
    with db.session() as session:
        assert session.get(WebhookEvent, ids[2]).last_error == "RuntimeError: event 3 met a glitch"
    assert count(db, Interaction) == 3 and count(db, InteractionScore) == 3
    monkeypatch.setattr(processing, "store_items", real)
    assert jobs.process_event(ids[2])["status"] == "processed"
    assert count(db, Interaction) == 4 and count(db, InteractionScore) == 4


def test_a_shared_transaction_that_fails_at_commit_is_done_again_event_by_event(db, worker_env, monkeypatch):
    """The failure is no one event's: none of them gets it as its error, and each is stored once."""
    monkeypatch.setattr(defaults, "BATCH_TRANSACTION_S", 60.0)
    engine = context.runtime().db.engine
    failed = []

    def fail_first_batch_commit(conn):
        if not failed and conn.info.pop("batch", False):
            failed.append(1)
            raise OperationalError("COMMIT", None, RuntimeError("the database went away at commit"))

    def mark(session, row_id, *args):
        session.connection().info["batch"] = True
        return real(session, row_id, *args)

    real = processing.store_items
    monkeypatch.setattr(processing, "store_items", mark)
    event.listen(engine, "commit", fail_first_batch_commit)
    try:
        ids = store(db, 4)
        assert jobs.process_event(ids[0])["batch"] == 4
    finally:
        event.remove(engine, "commit", fail_first_batch_commit)
    assert failed == [1]
    assert statuses(db) == {i: ("processed", 1) for i in ids}
    with db.session() as session:
        assert all(session.get(WebhookEvent, i).last_error is None for i in ids)
    assert count(db, Interaction) == 4 and count(db, InteractionScore) == 4


def test_a_job_whose_event_is_done_does_not_wait_for_the_write_lock(db, database_url, worker_env):
    ids = store(db, 2)
    assert jobs.process_event(ids[0])["batch"] == 2
    other = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with other.connect() as conn:  # another writer holds the lock (SQLite) or the event's row (PostgreSQL)
        if database_url.startswith("sqlite"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
            conn.execute(text("SELECT id FROM webhook_events WHERE id = :id FOR UPDATE"), {"id": ids[1]})
        try:
            started = time.monotonic()
            assert claims.claim(db, ids[1], "a later job", 16, 20) == "processed"
            assert time.monotonic() - started < 1.0  # the locked read waited 2 s (SQLite) or 4 s (PostgreSQL)
        finally:
            conn.exec_driver_sql("ROLLBACK")
    other.dispose()


def test_writing_a_batchs_scores_reads_its_contacts_once(db, worker_env, monkeypatch):
    """The write's first step locks and reads the batch's contacts; marking each for a sync and each alert's facts
    use those rows (held for the transaction), not one more read of its contact per event."""
    monkeypatch.setattr(defaults, "BATCH_TRANSACTION_S", 60.0)
    ids = store(db, 12)  # the first shared transaction reads ahead for the whole batch, not for its first 4
    reads = []
    real = batch._write

    def counting(*args, **kwargs):
        engine = context.runtime().db.engine
        listener = lambda _c, _cur, statement, *_: reads.append(statement) if "FROM contacts " in statement + " " else None  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            return real(*args, **kwargs)
        finally:
            event.remove(engine, "before_cursor_execute", listener)

    monkeypatch.setattr(batch, "_write", counting)
    assert jobs.process_event(ids[0])["batch"] == 12
    assert statuses(db) == {i: ("processed", 1) for i in ids}
    assert len(reads) == 1, reads  # one SELECT ... FROM contacts ... FOR UPDATE for the twelve
    with db.session() as session:
        assert all(contact.needs_sync_at is not None for contact in session.scalars(select(Contact)))


def test_an_events_link_to_its_interaction_is_stored_once(db, worker_env):
    ids = store(db, 1)
    assert jobs.process_event(ids[0])["status"] == "processed"
    with db.session() as session:
        interaction_id = session.scalar(select(Interaction.id))
        link_event(session, interaction_id, ids[0])  # a second run of the same event: nothing new
    with db.session() as session:
        assert session.execute(select(InteractionEvent.interaction_id, InteractionEvent.event_id)).all() == [
            (interaction_id, ids[0])]


def thread_events(db, texts: list[str], thread: str) -> list[int]:
    """Generic events that add turns to one thread each (`{thread}-{i}`), stored as the webhook stores them."""
    events = []
    for i, text_ in enumerate(texts):
        document = {"id": uuid.uuid4().hex, "channel": "sms", "text": text_, "thread_id": f"{thread}-{i}",
                    "append": True, "occurred_at": datetime.now(timezone.utc).isoformat(),
                    "contact": {"phone": f"+1415555{i:04d}"}}
        events.append(InboundEvent(document["id"], "interaction", json.dumps(document).encode()))
    return inbox.accept(db, "generic", events, lambda _type: True).new


def test_a_rescored_interaction_is_not_alerted_twice_and_no_alert_is_looked_up_per_event(db, worker_env, monkeypatch):
    """The write reads the alert keys of the interactions it locks once; a re-score raising the same escalation
    (a second event adding to the thread) adds no alert, a new interaction's escalation adds one."""
    monkeypatch.setattr(defaults, "BATCH_TRANSACTION_S", 60.0)
    angry = "This is ridiculous, I want a refund and I will cancel my contract."
    first = thread_events(db, [angry] * 3, "t")
    assert jobs.process_event(first[0])["batch"] == 3
    with db.session() as session:
        alerted = set(session.scalars(select(Alert.key)))
    assert len({key.split(":")[1] for key in alerted}) == 3  # each of the three interactions alerted
    lookups = []

    def listener(_conn, _cursor, statement, *_):
        if "alerts.key = " in statement.replace('"', ""):
            lookups.append(statement)

    event.listen(context.runtime().db.engine, "before_cursor_execute", listener)
    try:
        again = thread_events(db, ["Still nothing. " + angry] * 3, "t")
        assert jobs.process_event(again[0])["batch"] == 3
    finally:
        event.remove(context.runtime().db.engine, "before_cursor_execute", listener)
    assert statuses(db) == {i: ("processed", 1) for i in first + again}
    assert count(db, Interaction) == 3 and not lookups
    with db.session() as session:
        assert set(session.scalars(select(Alert.key))) == alerted  # the same escalations of the same three


def test_a_shared_transaction_locks_and_reads_its_events_in_one_statement(db, worker_env, monkeypatch):
    """Storing and writing each lock and read the events their transaction will hold at its start, in id order; each
    event's savepoint checks its status on the row held (a done event is still left alone: see the tests above)."""
    monkeypatch.setattr(defaults, "BATCH_TRANSACTION_S", 60.0)
    ids = store(db, 12)  # the first shared transaction reads ahead for the whole batch, not for its first 4
    rt = context.runtime()
    claimed = claims.claim(rt.db, ids[0], "a job", 12, 20)
    reads = []
    listener = lambda _c, _cur, statement, *_: reads.append(" ".join(statement.split())) if (  # noqa: E731
        "FROM webhook_events" in statement) else None
    event.listen(rt.db.engine, "before_cursor_execute", listener)
    try:
        result = batch.process_batch(rt.db, claimed, context.analyzer(), context.connector_for(rt))
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", listener)
    assert sorted(result.outcomes) == ids and statuses(db) == {i: ("processed", 1) for i in ids}
    assert len(reads) == 2 and all(" IN (" in r for r in reads), reads  # storing's and writing's, not 2 per event
