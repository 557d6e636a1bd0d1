"""The shared Redis rate limiter, on a real Redis, with processes sharing one budget."""
import multiprocessing
import time

import pytest
from redis import Redis

from connectors.common.rate_limit import Budget, RateLimitTimeout


def test_limit_per_window_then_wait(redis_conn):
    budget = Budget(redis_conn, "t1", limit=3, window_s=0.5)
    started = time.monotonic()
    for _ in range(6):
        budget.acquire()
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 2.0  # the 4th call had to wait for the window to roll


def test_timeout_instead_of_blocking(redis_conn):
    budget = Budget(redis_conn, "t2", limit=1, window_s=10)
    budget.acquire()
    with pytest.raises(RateLimitTimeout) as caught:
        budget.acquire(max_wait_s=0.1)
    assert 9 < caught.value.wait_s <= 10


def test_pause_stops_every_user_of_the_budget(redis_conn):
    first = Budget(redis_conn, "t3", limit=100, window_s=10)
    second = Budget(redis_conn, "t3", limit=100, window_s=10)
    first.pause(5)
    with pytest.raises(RateLimitTimeout):
        second.acquire(max_wait_s=0.1)


def test_headers_correct_the_budget(redis_conn):
    budget = Budget(redis_conn, "t4", limit=100, window_s=10)
    budget.observe({"X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                    "X-HubSpot-RateLimit-Remaining": "42"})
    assert (budget.limit, budget.window_s) == (189, 10.0)
    budget.observe({"X-HubSpot-RateLimit-Remaining": "0"})
    with pytest.raises(RateLimitTimeout):
        budget.acquire(max_wait_s=0.1)


def _take(url: str, count: int, queue) -> None:
    budget = Budget(Redis.from_url(url), "shared", limit=10, window_s=1.0)
    stamps = []
    for _ in range(count):
        budget.acquire(max_wait_s=30)
        stamps.append(time.time())
    queue.put(stamps)


def test_processes_share_one_budget(redis_url):
    queue = multiprocessing.get_context("fork").Queue()
    workers = [multiprocessing.get_context("fork").Process(target=_take, args=(redis_url, 10, queue)) for _ in range(3)]
    for w in workers:
        w.start()
    stamps = sorted(s for _ in workers for s in queue.get(timeout=60))
    for w in workers:
        w.join(timeout=10)
    # In any window at most 10 of the 30 calls happened (0.8 s: stamps are taken just after the slot,
    # and three processes on two cores are not always scheduled at once).
    assert max(sum(1 for t in stamps if start <= t < start + 0.8) for start in stamps) <= 10
    assert stamps[-1] - stamps[0] >= 1.9  # 30 calls at 10 per second need at least two windows
