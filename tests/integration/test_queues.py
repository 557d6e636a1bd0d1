"""Enqueue helpers: the webhook queues a request's events in one Redis transaction."""
from __future__ import annotations

import pytest
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job

from integration import defaults, queues


def _exec_calls(redis: Redis) -> int:
    return int(redis.info("commandstats").get("cmdstat_exec", {}).get("calls", 0))


def test_events_are_queued_in_one_transaction(redis_conn):
    before = _exec_calls(redis_conn)
    queues.enqueue_events(redis_conn, [7, 8, 9])
    assert _exec_calls(redis_conn) - before == 1
    events = Queue(defaults.EVENTS_QUEUE, connection=redis_conn)
    assert events.job_ids == ["event-7", "event-8", "event-9"]
    job = Job.fetch("event-8", connection=redis_conn)
    assert (job.func_name, job.args) == (queues.PROCESS_EVENT, (8,))
    assert job.retries_left == len(defaults.PROCESS_RETRY_INTERVALS_S)
    assert job.timeout == defaults.PROCESS_JOB_TIMEOUT_S and job.failure_ttl == defaults.JOB_FAILURE_TTL_S


def test_nothing_to_queue_sends_nothing(redis_conn):
    before = int(redis_conn.info("stats")["total_commands_processed"])
    queues.enqueue_events(redis_conn, [])
    assert int(redis_conn.info("stats")["total_commands_processed"]) - before == 1  # the INFO call itself


def test_redis_down_raises_and_queues_nothing(redis_server, redis_url):
    redis_server.stop()
    try:
        with pytest.raises(RedisError):
            queues.enqueue_events(Redis.from_url(redis_url, socket_connect_timeout=0.5), [1, 2])
    finally:
        redis_server.start()
    assert Queue(defaults.EVENTS_QUEUE, connection=Redis.from_url(redis_url)).count == 0
