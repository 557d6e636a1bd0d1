"""Claims on pending events: a worker that processes a batch of events takes them for a lease first.

The inbox stays the truth. A `process_event` job claims its own event and up to BATCH - 1 other pending events
(first attempts only, oldest first) in one short transaction; the jobs of the events it took then find them
claimed (or processed) and do nothing. A claim is a lease (`claimed_until`) held by a job: a worker killed
mid-batch leaves claims that the killed job's retry takes back at once, and that anyone takes after the lease
(the jobs of the events, or the sweep's requeue of them). The lease is short and renewed while its batch
runs (`renew`, from a heartbeat in the worker), so it says whether the claimer is alive, not how long a batch takes.
Claims only keep two workers from doing the same work twice; what makes an event stored once is the
processing itself (the event row is locked and its status checked before anything is written).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from connectors.base import InboundEvent
from integration.store.db import Database
from integration.store.models import WebhookEvent, utcnow

DONE = ("processed", "ignored")


@dataclass(frozen=True)
class Claimed:
    """One claimed event, copied out of the claiming transaction."""

    row_id: int
    source: str
    event: InboundEvent


def claim(db: Database, own_id: int, token: str, batch: int, lease_s: float) -> list[Claimed] | str:
    """Claim event `own_id` and up to `batch - 1` other pending, never attempted, unclaimed (or lease-expired)
    events, oldest first, for `lease_s` seconds. Returns the claimed events (`own_id` first), or what the own
    event's job should report instead: "missing", its done status, or "claimed" (another worker's live lease).

    `token` names the claimer: the RQ job's id, so that the retry of a job whose worker was killed mid-batch
    takes back at once every claim of that batch, its own event's included, instead of waiting out the lease."""
    now = utcnow()
    seen = _without_lock(db, own_id, token, now)
    if seen is not None:
        return seen
    until = now + timedelta(seconds=lease_s)
    with db.session() as session:
        own = session.get(WebhookEvent, own_id, with_for_update=True)
        if own is None:
            return "missing"
        if own.status in DONE:
            return own.status
        if own.claimed_until is not None and own.claimed_until > now and own.claimed_by != token:
            return "claimed"
        rows = [own] + (_others(session, token, batch - 1, now, exclude=own_id) if batch > 1 else [])
        return _claimed(rows, token, until)


def _without_lock(db: Database, own_id: int, token: str, now) -> str | None:
    """What `claim` would answer for an event that is done or in another job's live batch, read without the write
    lock (most jobs of a burst find their event done by another job's batch: on SQLite they no longer queue
    for the lock, and hold up the web's inserts, only to read that); None when it must be claimed under it."""
    with db.read_session() as session:
        seen = session.execute(select(WebhookEvent.status, WebhookEvent.claimed_by, WebhookEvent.claimed_until)
                               .where(WebhookEvent.id == own_id)).first()
    if seen is None:
        return None  # let the locked read say "missing"
    if seen.status in DONE:
        return seen.status
    if seen.claimed_until is not None and seen.claimed_until > now and seen.claimed_by != token:
        return "claimed"
    return None


def claim_pending(db: Database, token: str, batch: int, lease_s: float) -> list[Claimed]:
    """Claim up to `batch` pending first attempts that no one holds (no event of the caller's own): work for a job
    whose event is in another worker's batch, while that batch runs."""
    now = utcnow()
    with db.session() as session:
        return _claimed(_others(session, token, batch, now), token, now + timedelta(seconds=lease_s))


def _others(session, token: str, limit: int, now, exclude: int | None = None) -> list[WebhookEvent]:
    """Pending, never attempted events no live lease of another job holds, oldest first, locked."""
    query = (select(WebhookEvent)
             .where(WebhookEvent.status == "pending", WebhookEvent.attempts == 0,
                    or_(WebhookEvent.claimed_until.is_(None), WebhookEvent.claimed_until <= now,
                        WebhookEvent.claimed_by == token))
             .order_by(WebhookEvent.received_at, WebhookEvent.id)
             .limit(limit)
             .with_for_update(skip_locked=True))  # PostgreSQL: another worker's claim in progress is skipped
    if exclude is not None:
        query = query.where(WebhookEvent.id != exclude)
    return list(session.scalars(query))


def _claimed(rows: list[WebhookEvent], token: str, until) -> list[Claimed]:
    for row in rows:
        row.claimed_by, row.claimed_until = token, until
    return [Claimed(row.id, row.source, InboundEvent(row.event_id, row.event_type, row.body, row.headers or {}))
            for row in rows]


def renew(db: Database, row_ids: list[int], token: str, lease_s: float) -> int:
    """Extend this job's claims on those of `row_ids` still pending to `lease_s` from now (a batch still running
    keeps its events however long it takes; a killed one's claims end one short lease after its last renewal).
    Claims taken by another job meanwhile are left alone. Returns how many were renewed."""
    if not row_ids:
        return 0
    with db.session() as session:
        return session.execute(update(WebhookEvent)
                               .where(WebhookEvent.id.in_(row_ids), WebhookEvent.claimed_by == token,
                                      WebhookEvent.status == "pending")
                               .values(claimed_until=utcnow() + timedelta(seconds=lease_s))
                               .execution_options(synchronize_session=False)).rowcount


def release(db: Database, row_ids: list[int], token: str) -> None:
    """Give up this worker's claims (e.g. after an attempt failed), so the next job takes the event at once."""
    if not row_ids:
        return
    with db.session() as session:
        session.execute(update(WebhookEvent)
                        .where(WebhookEvent.id.in_(row_ids), WebhookEvent.claimed_by == token)
                        .values(claimed_by=None, claimed_until=None))
