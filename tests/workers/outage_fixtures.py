"""Job functions for the fault tests (imported by real worker and scheduler processes)."""
from __future__ import annotations

import time

from rq import get_current_job

from workers import context
from workers.flush_lock import FlushLock


def nap(seconds: float) -> str:
    """Keep the worker busy (a Redis outage then lands mid-job)."""
    time.sleep(seconds)
    return "rested"


def fail_once(key: str) -> str:
    """Fail on the first attempt and succeed on the retry; records each attempt in a Redis list."""
    redis = get_current_job().connection
    attempts = redis.rpush(key, time.time())
    if attempts == 1:
        raise RuntimeError("first attempt fails on purpose")
    return "retried"


def hold_flush_lock(seconds: float) -> str:
    """Take the CRM flush lock the way a flush does and keep it (the test kills the worker meanwhile)."""
    lock = FlushLock(context.runtime().worker_redis)
    assert lock.acquire(), "the flush lock was already held"
    try:
        time.sleep(seconds)
    finally:
        lock.release()
    return "held"

