"""Retention: raw bodies of processed and ignored events go after EVENT_RETENTION_DAYS; nothing unfinished does."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from integration.store import inbox
from integration.store.models import Interaction, WebhookEvent, utcnow
from tests.quo_requests import classic_headers, fixture_body
from tests.workers.helpers import drain
from workers import context, jobs


def _store(db, event_id: str, status: str, age_days: float) -> None:
    with db.session() as session:
        session.add(WebhookEvent(source="quo", event_id=event_id, event_type="message.received", body=b"{}",
                                 headers={}, status=status, received_at=utcnow() - timedelta(days=age_days)))


def _left(db) -> set[str]:
    with db.session() as session:
        return set(session.scalars(select(WebhookEvent.event_id)))


def test_prune_takes_only_old_finished_events(db):
    for status in ("processed", "ignored", "pending", "failed"):
        _store(db, f"old-{status}", status, age_days=31)
        _store(db, f"new-{status}", status, age_days=29)
    assert inbox.prune(db, timedelta(days=30), batch=1) == 2  # batch of 1: the loop goes round
    assert _left(db) == {"old-pending", "old-failed", "new-processed", "new-ignored", "new-pending", "new-failed"}
    assert inbox.prune(db, timedelta(days=30), batch=1) == 0


def test_the_job_follows_the_setting_and_keeps_what_was_said(client, db, redis_conn, worker_env):
    body = fixture_body("call_transcript_completed.json")
    assert client.post("/webhooks/quo", data=body, headers=classic_headers(body)).status_code == 200
    drain(redis_conn)
    with db.session() as session:
        session.execute(update(WebhookEvent).values(received_at=utcnow() - timedelta(days=45)))

    worker_env.setenv("EVENT_RETENTION_DAYS", "0")  # 0 keeps everything
    context.reset()
    assert jobs.prune_events() == {"pruned_events": 0, "retention_days": 0}
    assert len(_left(db)) == 1

    worker_env.setenv("EVENT_RETENTION_DAYS", "40")
    context.reset()
    assert jobs.prune_events() == {"pruned_events": 1, "retention_days": 40}
    assert _left(db) == set()
    with db.session() as session:  # the interaction (turns, score) stays
        assert session.scalar(select(Interaction).limit(1)).turns


def test_the_scheduler_timetable_has_the_sweep_and_the_prune(redis_conn):
    from rq.cron import CronScheduler

    from integration import defaults

    cron = CronScheduler(connection=redis_conn)
    cron.load_config_from_file("workers.cron")
    timetable = {job.func_name: job.interval for job in cron.get_jobs()}
    assert timetable == {"workers.jobs.sweep": defaults.SWEEP_INTERVAL_S,
                         "workers.jobs.prune_events": defaults.PRUNE_INTERVAL_S,
                         "workers.jobs.send_digest_if_due": defaults.DIGEST_TICK_INTERVAL_S,
                         "workers.jobs.follow_up_waiting": defaults.FOLLOW_UP_INTERVAL_S}
