"""RQ's scheduler for delayed jobs (retries, the delayed CRM flush), made to survive faults.

RQ runs it in a process forked from the worker; one scheduler per queue holds `rq:scheduler-lock:<queue>`.
Three changes: it outlives a Redis outage instead of dying; it stops when its worker is gone (a
`kill -9` of the worker would otherwise leave it running on its own); and a lock whose owner is
dead or has not refreshed it for SCHEDULER_LOCK_STALE_S is released, so a replacement worker takes
over within seconds instead of at RQ's next maintenance, ten minutes later.
"""
from __future__ import annotations

import os
import socket

from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler
from rq.scripts import release_lock

from integration import defaults
from workers.redis_wait import REDIS_DOWN, wait_for_redis


class Scheduler(RQScheduler):
    """RQScheduler that rides out Redis outages, follows its worker, and takes over dead owners' locks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._worker_pid = os.getpid()  # built in the worker, before the fork

    def acquire_locks(self, auto_start: bool = False):
        self.release_dead_locks()
        return super().acquire_locks(auto_start=auto_start)

    def release_dead_locks(self) -> list[str]:
        """Release the locks of our queues held by a scheduler that is dead or stuck; the queue names."""
        released = []
        for name in sorted(self._queue_names):
            key = self.get_locking_key(name)
            owner = self.connection.get(key)
            if owner is None or owner.decode() == self.name:
                continue
            why = self._owner_gone(key, owner.decode())
            if why and release_lock(self.connection, key, owner.decode()):
                self.log.warning("Released the scheduler lock for %s: its owner %s", name, why)
                released.append(name)
        return released

    def _owner_gone(self, key: str, owner: str) -> str | None:
        """Why the owner of a lock is gone (its process is dead, or it stopped refreshing), else None."""
        hostname, pid = self.connection.hmget(SCHEDULER_KEY_TEMPLATE % owner, "hostname", "pid")
        if hostname is not None and hostname.decode() == socket.gethostname() and pid and not _alive(int(pid)):
            return f"(pid {int(pid)} on this host) is dead"
        ttl_ms = self.connection.pttl(key)
        refreshed_ago_s = self.interval + 60 - ttl_ms / 1000  # RQ sets the TTL to interval + 60 on each refresh
        if ttl_ms >= 0 and refreshed_ago_s > defaults.SCHEDULER_LOCK_STALE_S:
            return f"has not refreshed it for {refreshed_ago_s:.0f} s"
        return None

    def heartbeat(self):
        if os.getppid() != self._worker_pid:  # the worker died (kill -9): stop and release the locks
            self.log.warning("Scheduler %s: its worker (pid %d) is gone, stopping", self.name, self._worker_pid)
            self._stop_requested = True
            return
        super().heartbeat()

    def work(self):
        """RQ's scheduling loop, restarted after Redis comes back; returns when stopped or orphaned."""
        while True:
            try:
                return super().work()
            except REDIS_DOWN as exc:
                if not wait_for_redis(self.connection, exc, stopping=self._should_stop, who=f"scheduler {self.name}"):
                    return None

    def _should_stop(self) -> bool:
        return self._stop_requested or os.getppid() != self._worker_pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
