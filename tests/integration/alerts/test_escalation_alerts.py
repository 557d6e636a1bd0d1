"""Escalation alerts end to end: webhook -> real RQ worker -> one Slack message, on both databases."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from rq import Queue, SimpleWorker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select

from integration import defaults
from integration.alerts import delivery
from integration.settings import Settings
from integration.store.models import Alert
from tests.quo_requests import classic_headers, fixture_body
from tests.servers.slack import SlackServer
from workers import context


def drain(redis, rounds: int = 3) -> None:
    """Every queued job (events, CRM, alerts) with a real RQ worker in this process, until idle."""
    for _ in range(rounds):
        queues = [defaults.EVENTS_QUEUE, defaults.CRM_QUEUE, defaults.ALERTS_QUEUE]
        SimpleWorker(queues, connection=redis).work(burst=True)


def send(client, event_id: str | None = None) -> None:
    body = fixture_body("call_transcript_completed.json", event_id=event_id)
    response = client.post("/webhooks/quo", data=body, headers=classic_headers(body))
    assert response.status_code == 200, response.get_json()


def alerts(db) -> list[Alert]:
    with db.session() as session:
        rows = list(session.scalars(select(Alert).order_by(Alert.id)))
        session.expunge_all()
    return rows


@pytest.fixture
def slack(worker_env):
    with SlackServer() as server:
        url = server.hook_url()
        worker_env.setenv("SLACK_WEBHOOK_URL", url)
        worker_env.setenv("PUBLIC_BASE_URL", "https://undertone.example")
        worker_env.delenv("QUIET_HOURS", raising=False)
        context.reset()
        server.url = url
        yield server


def test_escalation_is_one_slack_message_despite_redeliveries(client, db, redis_conn, slack):
    started = time.monotonic()
    send(client, event_id="evt-1")
    drain(redis_conn)
    elapsed = time.monotonic() - started
    send(client, event_id="evt-1")  # the same delivery again: deduplicated at the inbox
    send(client, event_id="evt-2")  # the provider redelivers under a new id: same interaction, same flags
    drain(redis_conn)
    rows = alerts(db)
    assert rows and all(r.kind == "escalation" for r in rows)
    assert len({r.key for r in rows}) == len(rows)
    assert [r.status for r in rows] == ["sent"] * len(rows)
    assert len(slack.messages) == len(rows) == len({(r.interaction_id, r.reason) for r in rows})
    assert elapsed < 10, f"alert took {elapsed:.1f}s"
    blocks = slack.messages[0]["blocks"]
    text = str(blocks)
    assert "Escalation" in blocks[0]["text"]["text"]
    assert "undertone.example/admin/interactions/" in text
    assert slack.url.rsplit("/", 1)[-1] not in text  # the webhook URL (a secret) never appears in the alert


def test_rate_limited_then_delivered_once(client, db, redis_conn, slack):
    slack.fail_next(429, count=1, retry_after=1)
    send(client, event_id="evt-429")
    drain(redis_conn)
    rows = alerts(db)
    assert rows and rows[0].status == "retrying" and "429" in rows[0].last_error
    scheduled = ScheduledJobRegistry(defaults.ALERTS_QUEUE, connection=redis_conn)
    assert scheduled.count == 1  # RQ's backoff retry
    queue = Queue(defaults.ALERTS_QUEUE, connection=redis_conn)
    for job_id in scheduled.get_job_ids():  # run the retry now instead of waiting for the scheduler
        scheduled.remove(job_id)
        queue.enqueue_job(queue.fetch_job(job_id))
    drain(redis_conn)
    assert [r.status for r in alerts(db)] == ["sent"] * len(rows)
    assert len(slack.messages) == len(rows)


def test_revoked_hook_is_recorded_and_not_retried(client, db, redis_conn, slack):
    slack.revoke(slack.url, 410)
    send(client, event_id="evt-410")
    drain(redis_conn)
    rows = alerts(db)
    assert rows and all(r.status == "refused" and "410" in r.deliveries["slack"] for r in rows)
    assert ScheduledJobRegistry(defaults.ALERTS_QUEUE, connection=redis_conn).count == 0
    assert FailedJobRegistry(defaults.ALERTS_QUEUE, connection=redis_conn).count == 0
    assert slack.messages == []


def test_quiet_hours_hold_then_one_message(client, db, redis_conn, slack, worker_env):
    now = datetime.now(timezone.utc)
    start, end = (now.hour - 1) % 24, (now.hour + 2) % 24
    worker_env.setenv("QUIET_HOURS", f"{start:02d}:00-{end:02d}:00")
    context.reset()
    send(client, event_id="evt-q1")
    drain(redis_conn)
    rows = alerts(db)
    assert rows and all(r.status == "held" and r.deliver_after > now for r in rows)
    assert slack.messages == []
    scheduled = ScheduledJobRegistry(defaults.ALERTS_QUEUE, connection=redis_conn)
    assert scheduled.count == 1
    # quiet hours end: the scheduled job runs (here, at once) and sends everything held in one message
    worker_env.setenv("QUIET_HOURS", "")
    context.reset()
    later = max(r.deliver_after for r in rows)
    result = delivery.deliver_held(db, Settings(_env_file=None), now=later)
    assert result["status"] == "sent"
    assert len(slack.messages) == 1
    assert "quiet hours" in slack.messages[0]["blocks"][0]["text"]["text"]
    assert [r.status for r in alerts(db)] == ["sent"] * len(rows)
    assert str(len(rows)) in slack.messages[0]["blocks"][0]["text"]["text"]
