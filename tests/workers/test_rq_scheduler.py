"""Taking over the scheduler lock of a dead or stuck RQ scheduler (issue 9)."""
from __future__ import annotations

import os
import socket
import subprocess

from rq.scheduler import SCHEDULER_KEY_TEMPLATE

from integration import defaults
from workers.rq_scheduler import Scheduler

QUEUES = [defaults.EVENTS_QUEUE, defaults.CRM_QUEUE]


def registered(redis, name: str, pid: int, hostname: str = socket.gethostname(), queues=tuple(QUEUES)) -> None:
    """A scheduler's registration as RQ writes it, holding the queues' locks with a fresh TTL."""
    redis.hset(SCHEDULER_KEY_TEMPLATE % name, mapping={"name": name, "pid": pid, "hostname": hostname})
    for queue in queues:
        redis.set(Scheduler.get_locking_key(queue), name, ex=61)


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_lock_of_a_dead_process_on_this_host_is_taken_over(redis_conn):
    registered(redis_conn, "dead", dead_pid())
    scheduler = Scheduler(QUEUES, connection=redis_conn)
    assert scheduler.acquire_locks() == set(QUEUES)
    assert redis_conn.get(Scheduler.get_locking_key(defaults.EVENTS_QUEUE)).decode() == scheduler.name


def test_lock_of_a_live_scheduler_is_left_alone(redis_conn):
    registered(redis_conn, "alive", os.getpid(), queues=[defaults.EVENTS_QUEUE])
    registered(redis_conn, "elsewhere", 1, hostname="another-host", queues=[defaults.CRM_QUEUE])  # pid 1 there
    scheduler = Scheduler(QUEUES, connection=redis_conn)
    assert scheduler.acquire_locks() == set()
    assert redis_conn.get(Scheduler.get_locking_key(defaults.EVENTS_QUEUE)) == b"alive"
    assert redis_conn.get(Scheduler.get_locking_key(defaults.CRM_QUEUE)) == b"elsewhere"


def test_lock_not_refreshed_for_longer_than_the_stale_limit_is_taken_over(redis_conn):
    """An owner on another host (or with no registration left): judged by when it last refreshed the lock."""
    registered(redis_conn, "silent", 1, hostname="another-host")
    for queue in QUEUES:  # RQ refreshes to 61 s every second; this one was last refreshed stale+1 s ago
        redis_conn.expire(Scheduler.get_locking_key(queue), 61 - defaults.SCHEDULER_LOCK_STALE_S - 1)
    scheduler = Scheduler(QUEUES, connection=redis_conn)
    assert scheduler.release_dead_locks() == sorted(QUEUES)
    assert scheduler.acquire_locks() == set(QUEUES)
