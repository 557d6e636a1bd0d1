"""A work horse killed mid-job: the retry and the sweep still end with the work done once in effect."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from rq import Queue, Retry
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from integration import defaults
from integration.store.models import FollowUpTask, Interaction, SinkTask, WebhookEvent
from tests.quo_requests import classic_headers, fixture_body
from workers import jobs

ROOT = Path(__file__).resolve().parents[2]


def worker_burst(settings, *flags: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url, "CRM_FLUSH_DELAY_S": "0",
           "PYTHONPATH": str(ROOT)}
    env.pop("HUBSPOT_ACCESS_TOKEN", None)
    undertone = Path(sys.executable).with_name("undertone")
    return subprocess.run([str(undertone), "worker", "--burst", *flags], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_horse_killed_after_commit_before_sync(client, settings, db, redis_conn, worker_env, monkeypatch):
    body = fixture_body("call_transcript_completed.json")
    client.post("/webhooks/quo", data=body, headers=classic_headers(body))
    with db.session() as session:
        event_id = session.scalar(select(WebhookEvent.id))
    events = Queue(defaults.EVENTS_QUEUE, connection=redis_conn)
    events.empty()  # replace the normal job by the one that dies
    events.enqueue("tests.workers.fixtures.process_then_die", event_id, retry=Retry(max=2))

    result = worker_burst(settings, "--fork")  # the forking mode: only the work horse dies
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stderr + result.stdout
    assert "terminated unexpectedly" in log or "Work-horse" in log or "SIGKILL" in log, log[-3000:]
    with db.session() as session:
        assert session.scalar(select(WebhookEvent.status)) == "processed"
    assert count(db, Interaction) == 1
    assert count(db, SinkTask) == 0  # the sync request died with the horse

    monkeypatch.setattr(defaults, "SWEEP_GRACE_S", 0)
    swept = jobs.sweep()  # the contact is marked in the database, not only in Redis
    assert swept["contacts_behind"] == 1 and swept["flush_requested"]
    assert worker_burst(settings, "--fork").returncode == 0
    assert count(db, Interaction) == 1
    assert count(db, FollowUpTask) == 1
    assert count(db, SinkTask) == 1


def test_worker_killed_mid_job_is_retried_after_its_registration_expires(client, settings, db, redis_conn, worker_env,
                                                                          monkeypatch):
    """The default mode runs jobs in the worker process: killing the job kills the worker."""
    body = fixture_body("call_transcript_completed.json")
    client.post("/webhooks/quo", data=body, headers=classic_headers(body))
    with db.session() as session:
        event_id = session.scalar(select(WebhookEvent.id))
    events = Queue(defaults.EVENTS_QUEUE, connection=redis_conn)
    events.empty()
    events.enqueue("tests.workers.fixtures.process_then_die", event_id, retry=Retry(max=2))

    died = worker_burst(settings)
    assert died.returncode == -9  # SIGKILL took the whole worker
    registry = StartedJobRegistry(defaults.EVENTS_QUEUE, connection=redis_conn)
    assert registry.count == 1  # the job is left "started" until RQ finds it abandoned
    registry.cleanup(timestamp=time.time() + 10_000)  # what RQ's maintenance does once it has expired
    assert events.count == 1  # retried: it had retries left

    assert worker_burst(settings).returncode == 0
    monkeypatch.setattr(defaults, "SWEEP_GRACE_S", 0)
    jobs.sweep()
    assert worker_burst(settings).returncode == 0
    assert count(db, Interaction) == 1
    assert count(db, SinkTask) == 1
