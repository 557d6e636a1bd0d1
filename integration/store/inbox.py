"""The inbox: store each verified event once (the dedupe record), then hand it to the queue.

Store first, enqueue second: if Redis is down the row stays 'pending' and the sweep enqueues it
later. The (source, event_id) unique key recognises a redelivery for as long as the row is kept:
processed and ignored rows are pruned after EVENT_RETENTION_DAYS (what they said lives on in the
interactions); pending and failed rows are never pruned.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Callable, Iterable, Iterator, Mapping

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

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
    """Store each event unless (source, event_id) is already there. Raises on database failure.

    The request's headers are kept beside each event (for support and audit), the event's own on top.
    One `INSERT ... ON CONFLICT DO NOTHING RETURNING id` per event in one short transaction: this is
    the acknowledgement's hot path, so it skips the ORM (a SELECT, a SAVEPOINT and a flush per event).
    """
    result = AcceptResult()
    events = list(events)
    base_headers = _keepable(request_headers or {})
    statement = _insert_statement(db.engine.dialect.name)
    with _transaction(db, single_statement=len(events) == 1) as conn:
        for event in events:
            status = "pending" if handles(event.event_type) else "ignored"
            row_id = conn.execute(statement, _row(source, event, {**base_headers, **_keepable(event.headers)},
                                                  status)).scalar()
            if row_id is None:  # the unique key says an earlier or concurrent delivery stored it
                result.duplicates += 1
            elif status == "ignored":
                result.ignored += 1
            else:
                result.new.append(row_id)
    return result


def _keepable(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers worth keeping, NUL characters removed (they are kept for support only, and JSON
    columns on PostgreSQL refuse them)."""
    return {k.lower().replace("\x00", ""): str(v).replace("\x00", "") for k, v in headers.items()
            if k.lower() not in _DROPPED_HEADERS}


@contextmanager
def _transaction(db: Database, single_statement: bool) -> Iterator[Connection]:
    """A transaction; on PostgreSQL one INSERT runs in autocommit instead, which is just as atomic and
    saves the BEGIN and COMMIT round trips. SQLite keeps its BEGIN IMMEDIATE (see integration/store/db.py)."""
    if single_statement and not db.is_sqlite:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn
    else:
        with db.engine.begin() as conn:
            yield conn


@lru_cache(maxsize=None)
def _insert_statement(dialect: str):
    """INSERT doing nothing on a (source, event_id) clash, returning the new row's id (SQLite 3.35+, PostgreSQL)."""
    table = WebhookEvent.__table__
    insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[dialect]
    return insert(table).on_conflict_do_nothing(index_elements=["source", "event_id"]).returning(table.c.id)


def _row(source: str, event: InboundEvent, headers: dict, status: str) -> dict:
    return {
        "source": source,
        "event_id": event.event_id[:255],
        "event_type": event.event_type[:128],
        "received_at": utcnow(),
        "body": event.body,
        "headers": headers,
        "status": status,
        "attempts": 0,
        "processed_at": utcnow() if status == "ignored" else None,
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
