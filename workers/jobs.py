"""RQ job functions: load, call the library code, store. They raise on failure so RQ records it."""
from __future__ import annotations

import logging
from datetime import timedelta

from redis.exceptions import RedisError
from rq import get_current_job
from sqlalchemy import func, select

from connectors.crm import CRMError
from integration import defaults, inbox, processing, writeback
from integration.models import Contact, utcnow
from workers import context, queues

log = logging.getLogger(__name__)


class SyncBusy(Exception):
    """Another worker is syncing this contact; the retry comes back later."""


def process_event(event_row_id: int) -> dict:
    """Parse, score and store one event, then ask for a CRM sync of each contact it touched."""
    rt = context.runtime()
    try:
        outcome = processing.process_event(rt.db, event_row_id, context.analyzer(), context.connector_for(rt))
    except Exception as exc:
        processing.record_failure(rt.db, event_row_id, f"{type(exc).__name__}: {exc}")
        raise
    for contact_id in sorted(outcome.contacts):
        _request_sync(rt, contact_id)
    return {"status": outcome.status, "interactions": outcome.interactions, "contacts": sorted(outcome.contacts)}


def sync_contact(contact_id: int) -> dict:
    """Write one contact's sentiment to the CRM; one sync per contact at a time across all workers."""
    rt = context.runtime()
    redis = rt.worker_redis
    redis.delete(queues.sync_marker_key(contact_id))  # changes from now on queue a fresh sync
    lock = redis.lock(f"undertone:lock:sync:{contact_id}", timeout=defaults.SYNC_LOCK_TIMEOUT_S, blocking_timeout=30)
    if not lock.acquire():
        raise SyncBusy(f"contact {contact_id} is being synced by another worker")
    try:
        outcome = writeback.sync_contact(rt.db, context.crm_writer(rt), contact_id)
    except CRMError as exc:
        _apply_retry_policy(exc)
        raise
    finally:
        lock.release()
    return {"status": outcome.status, "properties_written": outcome.properties_written, "tasks": outcome.tasks_opened}


def sweep() -> dict:
    """Enqueue what Redis lost or never got: pending events, and contacts whose sync never ran."""
    rt = context.runtime()
    redis = rt.worker_redis
    requeued = failed = 0
    for row_id in inbox.pending_for_sweep(rt.db, defaults.SWEEP_GRACE_S, defaults.SWEEP_BATCH):
        status = queues.event_job_status(redis, row_id)
        if status in queues.ACTIVE_STATUSES:
            continue
        if status == queues.JobStatus.FAILED:
            inbox.mark_failed(rt.db, row_id, "retries exhausted; requeue it from the failed jobs")
            failed += 1
            continue
        queues.enqueue_event(redis, row_id)
        requeued += 1
    syncs = sum(_request_sync(rt, cid) for cid in _contacts_behind(rt))
    return {"requeued_events": requeued, "failed_events": failed, "requested_syncs": syncs}


def _contacts_behind(rt) -> list[int]:
    cutoff = utcnow() - timedelta(seconds=defaults.SWEEP_GRACE_S)
    with rt.db.session() as session:
        stmt = select(Contact.id).where(
            Contact.needs_sync_at.is_not(None),
            Contact.needs_sync_at <= cutoff,
            func.coalesce(Contact.synced_at < Contact.needs_sync_at, True),
        ).limit(defaults.SWEEP_BATCH)
        return list(session.scalars(stmt))


def _request_sync(rt, contact_id: int) -> bool:
    try:
        return queues.request_sync(rt.worker_redis, contact_id)
    except RedisError as exc:  # the contact stays marked; the sweep asks again
        log.warning("could not queue sync of contact %s: %s", contact_id, exc)
        return False


def _apply_retry_policy(exc: CRMError) -> None:
    """A permanent error is not retried; a Retry-After longer than the next interval stretches it."""
    job = get_current_job()
    if job is None or job.retries_left is None:
        return
    if not exc.retryable:
        job.retries_left = 0
        return
    if exc.retry_after_s and job.retry_intervals:
        index = max(len(job.retry_intervals) - job.retries_left, 0)
        intervals = list(job.retry_intervals)
        if index < len(intervals) and intervals[index] < exc.retry_after_s:
            intervals[index] = int(exc.retry_after_s) + 1
            job.retry_intervals = intervals
