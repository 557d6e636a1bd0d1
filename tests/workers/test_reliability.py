"""At-least-once delivery made exactly-once in effect: duplicates, concurrency, and Redis outages."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from redis import Redis
from sqlalchemy import func, select
from werkzeug.serving import make_server

from integration import defaults
from integration.cli.embedded_redis import EmbeddedRedis, free_port
from integration.store.models import (
    CrmWrite,
    FollowUpTask,
    Interaction,
    SinkTask,
    WebhookEvent,
)
from integration.web.app import create_app
from tests.quo_requests import classic_headers, fixture_body
from tests.workers.helpers import drain
from workers import context, jobs


def count(db, model, *where) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def live_server(app):
    """The app behind a real threaded HTTP server, for concurrent deliveries."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_same_delivery_ten_times_concurrently_gives_one_of_everything(live_server, db, redis_conn, worker_env):
    body = fixture_body("call_transcript_completed.json")
    headers = classic_headers(body)

    def deliver(_):
        return requests.post(f"{live_server}/webhooks/quo", data=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(deliver, range(10)))
    assert [a.status_code for a in answers] == [200] * 10
    assert sum(a.json()["accepted"] for a in answers) == 1
    assert sum(a.json()["duplicates"] for a in answers) == 9
    # Every delivery also asks again through the sweep and a second sync: still one of each.
    drain(redis_conn)
    jobs.sweep()
    drain(redis_conn)
    assert count(db, WebhookEvent) == 1
    assert count(db, Interaction) == 1
    assert count(db, CrmWrite, CrmWrite.operation == "update_contact") == 1
    assert count(db, FollowUpTask) == 1
    assert count(db, SinkTask) == 1


def test_redis_down_at_ingest_then_back_nothing_lost(settings, db, worker_env, monkeypatch):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    settings.redis_url = url
    worker_env.setenv("REDIS_URL", url)
    context.reset()
    client = create_app(settings).test_client()

    body = fixture_body("call_transcript_completed.json")
    response = client.post("/webhooks/quo", data=body, headers=classic_headers(body))
    assert response.status_code == 200 and response.get_json()["queued"] == 0
    assert client.get("/healthz").get_json()["status"] == "degraded"

    monkeypatch.setattr(defaults, "SWEEP_GRACE_S", 0)
    with EmbeddedRedis(port=port):
        swept = jobs.sweep()
        assert swept["requeued_events"] == 1
        drain(Redis.from_url(url))
        assert jobs.sweep() == {"requeued_events": 0, "failed_events": 0, "contacts_behind": 0, "flush_requested": False,
                                "alerts_requeued": 0}
    assert count(db, WebhookEvent, WebhookEvent.status == "processed") == 1
    assert count(db, SinkTask) == 1


def test_sync_lost_with_redis_is_requested_again_by_the_sweep(client, db, redis_conn, worker_env, monkeypatch):
    body = fixture_body("call_transcript_completed.json")
    client.post("/webhooks/quo", data=body, headers=classic_headers(body))
    # Process the event, then lose the queued sync as if Redis had been flushed.
    from rq import SimpleWorker

    SimpleWorker([defaults.EVENTS_QUEUE], connection=redis_conn).work(burst=True)
    redis_conn.flushall()
    assert count(db, SinkTask) == 0
    monkeypatch.setattr(defaults, "SWEEP_GRACE_S", 0)
    assert jobs.sweep()["flush_requested"]
    drain(redis_conn)
    assert count(db, SinkTask) == 1
    assert jobs.sweep()["contacts_behind"] == 0
