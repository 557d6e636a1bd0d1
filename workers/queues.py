"""Queue names, enqueue helpers and the retry policy. Imported by the web process: keep it light.

Jobs are named by dotted path so the web process never imports the job modules (or the scorers).
"""
from __future__ import annotations

import random
import uuid
from typing import Sequence

from redis import Redis
from rq import Queue, Retry
from rq.job import Job, JobStatus

from integration import defaults

PROCESS_EVENT = "workers.jobs.process_event"
SYNC_CONTACT = "workers.jobs.sync_contact"
SWEEP = "workers.jobs.sweep"

ACTIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def queue(redis: Redis, name: str) -> Queue:
    return Queue(name, connection=redis)


def jittered(intervals: Sequence[int], fraction: float = defaults.RETRY_JITTER_FRACTION) -> list[int]:
    """Backoff intervals with random jitter, so retries of many jobs do not arrive together."""
    return [round(i * (1 + random.uniform(-fraction, fraction))) if i else 0 for i in intervals]


def event_job_id(event_row_id: int) -> str:
    return f"event-{event_row_id}"


def enqueue_event(redis: Redis, event_row_id: int) -> Job:
    """Queue processing of one stored event. Raises redis errors: the caller leaves the row pending."""
    return queue(redis, defaults.EVENTS_QUEUE).enqueue(
        PROCESS_EVENT,
        event_row_id,
        job_id=event_job_id(event_row_id),
        retry=Retry(max=len(defaults.PROCESS_RETRY_INTERVALS_S), interval=jittered(defaults.PROCESS_RETRY_INTERVALS_S)),
        job_timeout=defaults.PROCESS_JOB_TIMEOUT_S,
        result_ttl=defaults.JOB_RESULT_TTL_S,
        failure_ttl=defaults.JOB_FAILURE_TTL_S,
        description=f"process event {event_row_id}",
    )


def event_job_status(redis: Redis, event_row_id: int) -> JobStatus | None:
    """The RQ status of an event's job, or None when Redis has no such job (lost, expired, never queued)."""
    try:
        return Job.fetch(event_job_id(event_row_id), connection=redis).get_status(refresh=False)
    except Exception:  # rq raises NoSuchJobError; a half-written hash raises others
        return None


def sync_marker_key(contact_id: int) -> str:
    return f"undertone:sync-queued:{contact_id}"


def request_sync(redis: Redis, contact_id: int) -> bool:
    """Queue a CRM sync for a contact unless one is already waiting (coalescing). True when queued."""
    if not redis.set(sync_marker_key(contact_id), "1", nx=True, ex=defaults.SYNC_COALESCE_TTL_S):
        return False
    try:
        queue(redis, defaults.CRM_QUEUE).enqueue(
            SYNC_CONTACT,
            contact_id,
            job_id=f"sync-{contact_id}-{uuid.uuid4().hex[:12]}",
            retry=Retry(max=len(defaults.SYNC_RETRY_INTERVALS_S), interval=jittered(defaults.SYNC_RETRY_INTERVALS_S)),
            job_timeout=defaults.SYNC_JOB_TIMEOUT_S,
            result_ttl=defaults.JOB_RESULT_TTL_S,
            failure_ttl=defaults.JOB_FAILURE_TTL_S,
            description=f"sync contact {contact_id}",
        )
    except Exception:
        redis.delete(sync_marker_key(contact_id))
        raise
    return True
