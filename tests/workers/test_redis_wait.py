"""Waiting for Redis: capped, jittered backoff and one log line per change of state (issue 9)."""
from __future__ import annotations

import logging
import threading
import time

from redis import Redis

from integration import defaults
from integration.cli.embedded_redis import EmbeddedRedis, free_port
from workers.redis_wait import backoff_s, wait_for_redis


def test_backoff_doubles_up_to_the_cap_with_jitter():
    pauses = [backoff_s(attempt) for attempt in range(40)]
    assert all(0 < p <= defaults.REDIS_RECONNECT_MAX_S for p in pauses)
    assert pauses[0] <= defaults.REDIS_RECONNECT_FIRST_S
    assert max(pauses[-10:]) > defaults.REDIS_RECONNECT_MAX_S * (1 - defaults.REDIS_RECONNECT_JITTER) - 1e-9
    assert len({round(backoff_s(30), 6) for _ in range(20)}) > 1  # jittered


def test_waits_until_redis_answers_and_logs_once_each_way(caplog):
    port = free_port()
    client = Redis(host="127.0.0.1", port=port)
    server = EmbeddedRedis(port=port)
    starter = threading.Timer(2.5, server.start)
    starter.start()
    caplog.set_level(logging.WARNING, logger="workers.redis_wait")
    try:
        started = time.monotonic()
        assert wait_for_redis(client, ConnectionError("test"), who="test")
        assert time.monotonic() - started >= 2.4
    finally:
        starter.join()
        server.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Redis unreachable, retrying" in m for m in messages) == 1, messages
    assert sum("Redis back after" in m for m in messages) == 1, messages


def test_returns_quietly_when_redis_is_up_and_false_when_stopped(redis_conn, caplog):
    caplog.set_level(logging.INFO, logger="workers.redis_wait")
    assert wait_for_redis(redis_conn)
    assert not caplog.records
    unreachable = Redis(host="127.0.0.1", port=free_port())
    assert wait_for_redis(unreachable, stopping=lambda: True) is False
