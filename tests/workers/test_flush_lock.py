"""The CRM flush lock: short-lived, renewed while held, and given up when lost (issue 9)."""
from __future__ import annotations

import time

from workers.flush_lock import FLUSH_LOCK, FlushLock


def test_renewed_beyond_its_ttl_while_held_then_released(redis_conn):
    lock = FlushLock(redis_conn, ttl_s=1, renew_s=0.2)
    assert lock.acquire()
    assert not FlushLock(redis_conn, ttl_s=1).acquire()  # one flush at a time
    time.sleep(2.5)  # more than twice the TTL: only the renewals keep it
    assert redis_conn.exists(FLUSH_LOCK) and 0 < redis_conn.pttl(FLUSH_LOCK) <= 1000
    assert not lock.lost
    lock.release()
    assert not redis_conn.exists(FLUSH_LOCK)


def test_expires_soon_when_nobody_renews_it(redis_conn):
    """What a killed worker leaves behind: gone after the TTL, so the next flush can start."""
    assert redis_conn.set(FLUSH_LOCK, "dead-worker", px=700)
    assert not FlushLock(redis_conn, ttl_s=1).acquire()
    time.sleep(0.8)
    follower = FlushLock(redis_conn, ttl_s=1, renew_s=0.2)
    assert follower.acquire()
    follower.release()


def test_lost_when_taken_away_and_release_leaves_the_new_owner_alone(redis_conn):
    lock = FlushLock(redis_conn, ttl_s=1, renew_s=0.1)
    assert lock.acquire()
    redis_conn.set(FLUSH_LOCK, "someone-else")  # expired during an outage and taken by another flush
    deadline = time.monotonic() + 2
    while not lock.lost and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock.lost
    lock.release()
    assert redis_conn.get(FLUSH_LOCK) == b"someone-else"
