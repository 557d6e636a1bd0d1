"""The inbox: store each verified event once (the dedupe record), then hand it to the queue.

Store first, enqueue second: if Redis is down the row stays 'pending' and the sweep enqueues it
later. The (source, event_id) unique key recognises a redelivery for as long as the row is kept:
processed and ignored rows are pruned after EVENT_RETENTION_DAYS (what they said lives on in the
interactions); pending and failed rows are never pruned.
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Iterable, Iterator, Mapping

from sqlalchemy import delete, select

from connectors.base import InboundEvent
from integration.store.db import Database
from integration.store.models import WebhookEvent, utcnow

log = logging.getLogger(__name__)

# Headers never kept with a stored event: credentials (Freshdesk's shared token travels in a header).
_DROPPED_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-undertone-token"}


@dataclass
class AcceptResult:
    """What happened to each event of one request."""

    new: list[int] = field(default_factory=list)  # row ids to enqueue
    ignored: int = 0
    duplicates: int = 0


def accept(db: Database, source: str, events: Iterable[InboundEvent], handles: Callable[[str], bool],
           request_headers: Mapping[str, str] | None = None) -> AcceptResult:
    """Store each event unless (source, event_id) is already there. Raises on database failure (SQLAlchemy's errors).

    The request's headers are kept beside each event (for support and audit), the event's own on top.
    One `INSERT ... ON CONFLICT DO NOTHING RETURNING id` per event, on the thread's kept driver connection: this is
    the acknowledgement's hot path, so it skips the ORM (a SELECT, a SAVEPOINT and a flush per event) and
    SQLAlchemy's statement machinery; values go through the columns' own bind processors, so each row is
    stored exactly as SQLAlchemy would store it. One event is one statement and one round trip, atomic by
    itself; several events share one transaction, so a refused event stores none of them.
    """
    result = AcceptResult()
    events = list(events)
    if not events:
        return result
    base_headers = _keepable(request_headers or {})
    insert = _driver_insert(db.engine.dialect)
    with _driver_transaction(db, single_statement=len(events) == 1) as cursor:
        for event in events:
            status = "pending" if handles(event.event_type) else "ignored"
            cursor.execute(insert.sql, insert.values(_row(source, event, {**base_headers, **_keepable(event.headers)},
                                                          status)))
            found = cursor.fetchone()
            if found is None:  # the unique key says an earlier or concurrent delivery stored it
                result.duplicates += 1
            elif status == "ignored":
                result.ignored += 1
            else:
                result.new.append(found[0])
    return result


def _keepable(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers worth keeping, NUL characters removed (they are kept for support only, and JSON
    columns on PostgreSQL refuse them)."""
    return {k.lower().replace("\x00", ""): str(v).replace("\x00", "") for k, v in headers.items()
            if k.lower() not in _DROPPED_HEADERS}


@contextmanager
def _driver_transaction(db: Database, single_statement: bool) -> Iterator[Any]:
    """A driver cursor in a transaction. One statement runs without BEGIN and COMMIT (autocommit), which is just
    as atomic and saves their round trips; on SQLite it takes the write lock at once, as BEGIN IMMEDIATE does
    (see integration/store/db.py), after the file's write turn (integration/store/sqlite_turn.py: the wait is
    bounded so that it and SQLite's own busy timeout after it stay within a web request's database deadline)."""
    with db.driver_connection() as conn:
        if db.is_sqlite:
            conn.take_turn()
            try:
                yield from _sqlite_transaction(conn, single_statement)
            finally:
                conn.end_turn()
        else:
            yield from _postgresql_transaction(conn, single_statement)


def _sqlite_transaction(conn, single_statement: bool) -> Iterator[Any]:
    """The connection is in the driver's autocommit mode (isolation_level None, see db.py)."""
    cursor = conn.cursor()
    try:
        if not single_statement:
            cursor.execute("BEGIN IMMEDIATE")
        yield cursor
        if conn.in_transaction:
            cursor.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            cursor.execute("ROLLBACK")
        raise
    finally:
        cursor.close()


def _postgresql_transaction(conn, single_statement: bool) -> Iterator[Any]:
    """The connection is in psycopg's autocommit mode (db.py keeps it so): several statements are wrapped in
    BEGIN and COMMIT here, as psycopg itself would send them outside autocommit."""
    cursor = conn.cursor()
    try:
        if not single_statement:
            cursor.execute("BEGIN")
        yield cursor
        if not single_statement:
            conn.commit()
    except BaseException:
        if not conn.closed:
            conn.rollback()  # sends ROLLBACK only inside a transaction
        raise
    finally:
        cursor.close()


_COLUMNS = ("source", "event_id", "event_type", "received_at", "body", "headers", "status", "attempts", "processed_at")


@dataclass(frozen=True)
class _DriverInsert:
    """The inbox INSERT in the driver's own parameter style, and the columns' bind processors for its values."""

    sql: str
    processors: tuple[tuple[str, Callable | None], ...]

    def values(self, row: dict) -> dict:
        return {name: process(row[name]) if process else row[name] for name, process in self.processors}


# Built on first use per (dialect, driver): placeholders and bind processors depend on both. gunicorn threads share
# it, so it is filled under a lock.
_driver_inserts: dict[tuple[str, str], _DriverInsert] = {}
_driver_inserts_lock = threading.Lock()


def _driver_insert(dialect) -> _DriverInsert:
    """INSERT doing nothing on a (source, event_id) clash, returning the new row's id (SQLite 3.35+, PostgreSQL)."""
    key = (dialect.name, dialect.driver)
    with _driver_inserts_lock:
        if key not in _driver_inserts:
            _driver_inserts[key] = _build_driver_insert(dialect)
        return _driver_inserts[key]


def _build_driver_insert(dialect) -> _DriverInsert:
    placeholder = {"sqlite": ":{}", "postgresql": "%({})s"}[dialect.name]  # sqlite3 and psycopg take named values
    table = WebhookEvent.__table__
    sql = (f"INSERT INTO {table.name} ({', '.join(_COLUMNS)}) VALUES ({', '.join(placeholder.format(c) for c in _COLUMNS)})"
           " ON CONFLICT (source, event_id) DO NOTHING RETURNING id")
    processors = tuple((c, table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in _COLUMNS)
    return _DriverInsert(sql, processors)


def _row(source: str, event: InboundEvent, headers: dict, status: str) -> dict:
    now = utcnow()
    return {
        "source": source,
        "event_id": event.event_id[:255],
        "event_type": event.event_type[:128],
        "received_at": now,
        "body": event.body,
        "headers": headers,
        "status": status,
        "attempts": 0,
        "processed_at": now if status == "ignored" else None,
    }


def pending_for_sweep(db: Database, grace_s: int, limit: int) -> list[int]:
    """Ids of events still pending after the grace period, oldest first."""
    cutoff = utcnow() - timedelta(seconds=grace_s)
    with db.session() as session:
        return list(
            session.scalars(
                select(WebhookEvent.id)
                .where(WebhookEvent.status == "pending", WebhookEvent.received_at <= cutoff)
                .order_by(WebhookEvent.received_at)
                .limit(limit)
            )
        )


def mark_failed(db: Database, event_id: int, error: str) -> None:
    """Give up on an event whose job exhausted its retries (visible and requeueable from the admin)."""
    with db.session() as session:
        row = session.get(WebhookEvent, event_id)
        if row is not None and row.status == "pending":
            row.status = "failed"
            row.last_error = error[:4000]


PRUNABLE = ("processed", "ignored")


def prune(db: Database, older_than: timedelta, batch: int) -> int:
    """Delete processed and ignored events received before now - `older_than`, `batch` rows per transaction."""
    cutoff = utcnow() - older_than
    total = 0
    while True:
        with db.session() as session:
            ids = list(session.scalars(
                select(WebhookEvent.id)
                .where(WebhookEvent.status.in_(PRUNABLE), WebhookEvent.received_at < cutoff)
                .order_by(WebhookEvent.id)
                .limit(batch)
            ))
            if ids:
                session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(ids), WebhookEvent.status.in_(PRUNABLE)))
        total += len(ids)
        if len(ids) < batch:
            return total
