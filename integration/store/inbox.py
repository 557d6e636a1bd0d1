"""The inbox: store each verified event once (the dedupe record), then hand it to the queue.

Store first, enqueue second: if Redis is down the row stays 'pending' and the sweep enqueues it
later. The (source, event_id) unique key recognises a redelivery for as long as the row is kept:
processed and ignored rows are pruned after EVENT_RETENTION_DAYS (what they said lives on in the
interactions); pending and failed rows are never pruned.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable, Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connectors.base import InboundEvent
from integration.store.db import Database, add_unless_exists
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
    """
    result = AcceptResult()
    base_headers = _keepable(request_headers or {})
    with db.session() as session:
        for event in events:
            headers = {**base_headers, **_keepable(event.headers)}
            status = "pending" if handles(event.event_type) else "ignored"
            row = _insert_once(session, source, event, headers, status)
            if row is None:
                result.duplicates += 1
            elif row.status == "ignored":
                result.ignored += 1
            else:
                result.new.append(row.id)
    return result


def _keepable(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers worth keeping, NUL characters removed (they are kept for support only, and JSON
    columns on PostgreSQL refuse them)."""
    return {k.lower().replace("\x00", ""): str(v).replace("\x00", "") for k, v in headers.items()
            if k.lower() not in _DROPPED_HEADERS}


def _insert_once(session: Session, source: str, event: InboundEvent, headers: dict, status: str) -> WebhookEvent | None:
    """Insert in a savepoint; a unique-key clash (a concurrent or earlier delivery) means duplicate."""
    exists = session.scalar(
        select(WebhookEvent.id).where(WebhookEvent.source == source, WebhookEvent.event_id == event.event_id)
    )
    if exists is not None:
        return None
    row = WebhookEvent(
        source=source,
        event_id=event.event_id[:255],
        event_type=event.event_type[:128],
        body=event.body,
        headers=headers,
        status=status,
        processed_at=utcnow() if status == "ignored" else None,
    )
    return row if add_unless_exists(session, row) else None


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
