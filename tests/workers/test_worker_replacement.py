"""A worker killed with -9 and replaced at once: scheduled work and the CRM flush resume within 30 s (issue 9)."""
from __future__ import annotations

import os
import time

from redis import Redis
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from sqlalchemy import func, select

from integration import defaults
from integration.store.models import SinkTask, WebhookEvent
from tests.quo_requests import classic_headers, fixture_body
from tests.workers.processes import Process, environment, wait_until
from workers.flush_lock import FLUSH_LOCK

RETRY_AFTER_S = 12  # the retry falls due after the kill, so only a scheduler can start it
LOCKS = [RQScheduler.get_locking_key(q) for q in (defaults.EVENTS_QUEUE, defaults.CRM_QUEUE)]


def count(db, model, *where) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_replacement_runs_scheduled_retry_and_flush_within_30_s(client, settings, db, redis_conn, worker_env,
                                                                tmp_path):
    # The first worker delays its flushes past its death (and the flush falls due while its dead lock still
    # stands, so the replacement first finds it busy); it holds both locks when it dies.
    first = Process(["worker"], environment(settings.database_url, settings.redis_url, CRM_FLUSH_DELAY_S="12"),
                    tmp_path / "first.log")
    replacement = None
    try:
        wait_until(lambda: all(redis_conn.exists(lock) for lock in LOCKS), 60, what="first worker's scheduler")
        retried = Queue(defaults.EVENTS_QUEUE, connection=redis_conn).enqueue(
            "tests.workers.outage_fixtures.fail_once", "test:attempts", retry=Retry(max=1, interval=RETRY_AFTER_S))
        body = fixture_body("call_transcript_completed.json")
        assert client.post("/webhooks/quo", data=body, headers=classic_headers(body)).status_code == 200
        wait_until(lambda: count(db, WebhookEvent, WebhookEvent.status == "processed") == 1, 30, what="event")
        assert retried.get_status() == JobStatus.SCHEDULED  # the first attempt failed; the retry waits
        Queue(defaults.CRM_QUEUE, connection=redis_conn).enqueue("tests.workers.outage_fixtures.hold_flush_lock", 600)
        wait_until(lambda: redis_conn.exists(FLUSH_LOCK), 30, what="flush lock taken")

        first.kill_group()  # the worker and its scheduler process: nobody releases anything
        assert all(redis_conn.exists(lock) for lock in LOCKS) and redis_conn.exists(FLUSH_LOCK)
        started = time.monotonic()
        replacement = Process(["worker"], environment(settings.database_url, settings.redis_url, CRM_FLUSH_DELAY_S="1"),
                              tmp_path / "replacement.log")
        wait_until(lambda: count(db, SinkTask) == 1, 30, what="the delayed CRM flush, by the replacement")
        wait_until(lambda: Job.fetch(retried.id, connection=redis_conn).get_status() == JobStatus.FINISHED, 30,
                   what="the scheduled retry, by the replacement")
        assert time.monotonic() - started < 30
        assert redis_conn.llen("test:attempts") == 2
        assert "Released the scheduler lock" in replacement.log(), replacement.log()[-3000:]
    finally:
        if first.alive():
            first.kill_group()
        if replacement is not None:
            assert replacement.stop() == 0


def test_scheduler_process_stops_when_its_worker_is_killed(sqlite_url, redis_url, tmp_path):
    """kill -9 of the worker alone: RQ's forked scheduler would run on, orphaned; it stops and frees its locks."""
    redis = Redis.from_url(redis_url)
    worker = Process(["worker"], environment(sqlite_url, redis_url), tmp_path / "worker.log")
    try:
        owner = wait_until(lambda: redis.get(LOCKS[0]), 60, what="scheduler lock").decode()
        scheduler_pid = int(wait_until(lambda: redis.hget(SCHEDULER_KEY_TEMPLATE % owner, "pid"), 10,
                                       what="scheduler registered"))
        assert scheduler_pid != worker.pid
        worker.popen.kill()  # SIGKILL to the worker process only
        worker.popen.wait(10)
        wait_until(lambda: not any(redis.exists(lock) for lock in LOCKS), 10, what="scheduler locks released")
        wait_until(lambda: not _alive(scheduler_pid), 10, what="orphaned scheduler process gone")
        assert "is gone, stopping" in worker.log()
    finally:
        if worker.alive():
            worker.kill_group()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie (exited, not yet reaped) counts as gone
        return stat.read().split()[2] != "Z"
