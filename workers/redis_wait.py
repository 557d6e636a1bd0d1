"""Waiting out a Redis outage: capped, jittered backoff, and one log line when it starts and when it ends."""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from integration import defaults

log = logging.getLogger(__name__)

# What an unreachable Redis raises (socket errors are wrapped into these by redis-py).
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)


def backoff_s(attempt: int) -> float:
    """The pause before reconnection attempt `attempt` (0, 1, ...): doubling up to a cap, with jitter."""
    pause = min(defaults.REDIS_RECONNECT_MAX_S, defaults.REDIS_RECONNECT_FIRST_S * 2 ** min(attempt, 32))
    return pause * (1 - random.uniform(0, defaults.REDIS_RECONNECT_JITTER))


def probe_client(redis: Redis) -> Redis:
    """A client to the same server that tries once, briefly: the ping that tells whether Redis is back."""
    pool = redis.connection_pool
    kwargs = {**pool.connection_kwargs, "retry": Retry(NoBackoff(), 0), "health_check_interval": 0,
              "socket_connect_timeout": defaults.REDIS_PROBE_TIMEOUT_S, "socket_timeout": defaults.REDIS_PROBE_TIMEOUT_S}
    return Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, max_connections=1, **kwargs))


def reachable(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except REDIS_DOWN:
        return False


def wait_for_redis(redis: Redis, reason: BaseException | None = None, since: float | None = None,
                   stopping: Callable[[], bool] = lambda: False, who: str = "worker") -> bool:
    """Block until Redis answers a ping again; False when `stopping()` turned true first.

    Logs "Redis unreachable, retrying" once when it finds Redis down, and "Redis back after N s" once
    when it answers again. Returns at once (True, nothing logged) when Redis is up.
    """
    client = probe_client(redis)
    try:
        if reachable(client):
            return True
        since = time.monotonic() if since is None else since
        log.warning("%s: Redis unreachable, retrying (%s)", who, reason or "no answer to PING")
        attempt = 0
        while not stopping():
            if pause(backoff_s(attempt), stopping):
                return False
            attempt += 1
            if reachable(client):
                log.warning("%s: Redis back after %.0f s", who, time.monotonic() - since)
                return True
        return False
    finally:
        client.connection_pool.disconnect()


def pause(seconds: float, stopping: Callable[[], bool]) -> bool:
    """Sleep in short steps so that a stop request is seen quickly; True when stopped."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if stopping():
            return True
        time.sleep(min(left, 0.2))
    return stopping()
