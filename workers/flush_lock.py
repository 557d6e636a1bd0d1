"""The one-flush-at-a-time lock: a short TTL, renewed by a thread while the flush runs.

A long TTL outlives a killed worker (the old 300 s blocked every CRM write that long); a short one
alone would expire under a long flush. So the lock lives CRM_FLUSH_LOCK_TTL_S and a heartbeat thread
renews it every CRM_FLUSH_LOCK_RENEW_S. If a renewal finds the lock gone (it expired during an outage,
or Redis lost it), `lost` turns true and the flush stops after its current round.
"""
from __future__ import annotations

import logging
import threading

from redis import Redis
from redis.exceptions import LockError, RedisError

from integration import defaults

log = logging.getLogger(__name__)
FLUSH_LOCK = "undertone:lock:crm-flush"


class FlushLock:
    """Acquire without blocking, renew in the background, release in `release()`."""

    def __init__(self, redis: Redis, name: str = FLUSH_LOCK, ttl_s: float = defaults.CRM_FLUSH_LOCK_TTL_S,
                 renew_s: float = defaults.CRM_FLUSH_LOCK_RENEW_S):
        # thread_local=False: the renewing thread must see the token the job's thread acquired with
        self._lock = redis.lock(name, timeout=ttl_s, thread_local=False)
        self._renew_s = renew_s
        self._done = threading.Event()
        self._lost = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        """True once a renewal found the lock taken or expired: stop writing soon."""
        return self._lost.is_set()

    def acquire(self) -> bool:
        if not self._lock.acquire(blocking=False):
            return False
        self._thread = threading.Thread(target=self._renew, name="crm-flush-lock", daemon=True)
        self._thread.start()
        return True

    def release(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self._lock.release()
        except LockError:  # expired or taken meanwhile: nothing of ours to release
            log.warning("the CRM flush lock was no longer ours at release")
        except RedisError as exc:  # Redis is down: the lock expires by itself within its TTL
            log.warning("could not release the CRM flush lock: %s", exc)

    def _renew(self) -> None:
        while not self._done.wait(self._renew_s):
            try:
                self._lock.reacquire()
            except LockError:
                log.warning("the CRM flush lock expired or was taken; this flush stops after its round")
                self._lost.set()
                return
            except RedisError as exc:  # a blip: try again at the next beat, the TTL leaves room for two
                log.warning("could not renew the CRM flush lock: %s", exc)
