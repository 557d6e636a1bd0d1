"""A real worker and scheduler ride out Redis being stopped and started again, with no supervisor (issue 9)."""
from __future__ import annotations

import re
import time

import pytest
from redis import Redis
from rq import Queue
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from integration import defaults
from integration.cli.embedded_redis import EmbeddedRedis, free_port
from integration.store.models import SinkTask, WebhookEvent
from integration.web.app import create_app
from tests.quo_requests import classic_headers, fixture_body
from tests.workers.processes import Process, environment, wait_until

OUTAGE_S = 4


@pytest.fixture
def own_redis(tmp_path):
    """A Redis this test may stop and start again; append-only, so its data survives the restart."""
    server = EmbeddedRedis(port=free_port(), data_dir=tmp_path / "redis", persist=True).start()
    yield server
    server.stop()


def count(db, model, *where) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_worker_and_scheduler_survive_redis_restart_and_process_new_events(settings, db, own_redis, worker_env,
                                                                           tmp_path):
    settings.redis_url = own_redis.url
    worker_env.setenv("REDIS_URL", own_redis.url)
    env = environment(settings.database_url, own_redis.url, CRM_FLUSH_DELAY_S="1")  # the flush needs the scheduler
    worker = Process(["worker"], env, tmp_path / "worker.log")
    cron = Process(["scheduler", "--config", "tests.workers.fast_cron"], env, tmp_path / "scheduler.log")
    try:
        redis = Redis.from_url(own_redis.url)
        wait_until(lambda: redis.exists("rq:scheduler-lock:crm") and "Enqueued job sweep" in cron.log(), 60,
                   what="worker and scheduler up")
        # Redis goes away while the worker is in the middle of a job and the scheduler is sweeping.
        Queue(defaults.EVENTS_QUEUE, connection=redis).enqueue("tests.workers.outage_fixtures.nap", OUTAGE_S)
        wait_until(lambda: StartedJobRegistry(defaults.EVENTS_QUEUE, connection=redis).count, 30, what="nap started")
        own_redis.stop()
        time.sleep(OUTAGE_S)
        assert worker.alive() and cron.alive()
        own_redis.start()

        client = create_app(settings).test_client()
        body = fixture_body("call_transcript_completed.json")
        answer = client.post("/webhooks/quo", data=body, headers=classic_headers(body))
        assert answer.status_code == 200 and answer.get_json()["queued"] == 1
        # Processed, then written to the CRM sink by a flush delayed through RQ's scheduler (restarted too).
        wait_until(lambda: count(db, SinkTask) == 1, 30, what="event processed and flushed after the outage")
        assert count(db, WebhookEvent, WebhookEvent.status == "processed") == 1
        wait_until(lambda: cron.log().count("Enqueued job sweep") > _sweeps_before_outage(cron.log()), 15,
                   what="a sweep enqueued after the outage")
        assert worker.alive() and cron.alive()
    finally:
        worker_status, cron_status = worker.stop(), cron.stop()
    for process in (worker, cron):
        log = process.log()
        assert "quitting" not in log and "Traceback" not in log, log[-3000:]
    # One line when Redis goes and one when it is back, per process (not one per reconnection attempt).
    # The worker and its scheduler process each log the outage at most once: not at all when a job kept the
    # worker busy through all of it, and without "back" when the scheduler process was stopped meanwhile. The cron
    # scheduler below always meets it. Many lines would mean one per reconnection attempt.
    worker_lost = re.findall(r"(?:Worker|scheduler) \w+: Redis unreachable, retrying", worker.log())
    worker_back = re.findall(r"(?:Worker|scheduler) \w+: Redis back after \d+ s", worker.log())
    assert len(worker_lost) <= 2 and len(worker_back) <= len(worker_lost), worker.log()[-3000:]
    assert "could not connect to Redis instance" not in worker.log()
    assert len(re.findall(r"CronScheduler \S+: Redis unreachable, retrying", cron.log())) == 1, cron.log()[-3000:]
    assert len(re.findall(r"CronScheduler \S+: Redis back after \d+ s", cron.log())) == 1, cron.log()[-3000:]
    assert (worker_status, cron_status) == (0, 0)  # and both still stop cleanly on SIGTERM


def _sweeps_before_outage(log: str) -> int:
    return log[:log.index("Redis unreachable")].count("Enqueued job sweep")
