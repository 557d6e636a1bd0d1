"""Job functions for tests only: they crash work horses at chosen points (imported by real workers)."""
from __future__ import annotations

import os
import signal

from integration.pipeline import processing
from workers import context, jobs


def process_then_die(event_row_id: int) -> dict:
    """Do the work and commit it, then die like a kill -9 before the sync is queued; fine on retry."""
    rt = context.runtime()
    if rt.worker_redis.set(f"test:died:{event_row_id}", "1", nx=True):
        processing.process_event(rt.db, event_row_id, context.analyzer())
        os.kill(os.getpid(), signal.SIGKILL)
    return jobs.process_event(event_row_id)


def claim_then_die(event_row_id: int) -> dict:
    """Claim a batch as `process_event` does (as this job, for a 60 s lease), then die like a kill -9 before
    storing anything; fine on retry."""
    from rq import get_current_job

    from integration.store import claims

    rt = context.runtime()
    if rt.worker_redis.set(f"test:died:{event_row_id}", "1", nx=True):
        claims.claim(rt.db, event_row_id, get_current_job().id, rt.settings.process_batch, lease_s=60)
        os.kill(os.getpid(), signal.SIGKILL)
    return jobs.process_event(event_row_id)  # its retry, once RQ finds it abandoned
