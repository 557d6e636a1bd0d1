"""Refused deliveries (bad or missing signature) per source: hourly Redis counters and the last reason.

Cheap on the web path (one pipelined round trip) and best effort: Redis being away never changes
the answer a sender gets.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from redis import Redis
from redis.exceptions import RedisError

from integration import defaults

log = logging.getLogger(__name__)
PREFIX = "undertone:refused"
MAX_REASON = 300


def _hour(at: datetime) -> str:
    return at.strftime("%Y%m%d%H")


def record(redis: Redis, source: str, reason: str, now: datetime | None = None) -> None:
    """Count one refused delivery of `source` in the current hour and remember why."""
    now = now or datetime.now(timezone.utc)
    key = f"{PREFIX}:{source}:{_hour(now)}"
    try:
        with redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, (defaults.REFUSALS_WINDOW_H + 1) * 3600)
            pipe.hset(f"{PREFIX}:{source}:last", mapping={"at": now.isoformat(), "reason": reason[:MAX_REASON]})
            pipe.execute()
    except RedisError as exc:
        log.warning("refused %s delivery not counted, Redis unavailable: %s", source, type(exc).__name__)


def summary(redis: Redis, source: str, now: datetime | None = None) -> dict:
    """{'count': refusals in the last REFUSALS_WINDOW_H hours, 'at': iso or None, 'reason': str or None}."""
    now = now or datetime.now(timezone.utc)
    keys = [f"{PREFIX}:{source}:{_hour(now - timedelta(hours=h))}" for h in range(defaults.REFUSALS_WINDOW_H)]
    try:
        counts = redis.mget(keys)
        last = redis.hgetall(f"{PREFIX}:{source}:last")
    except RedisError:
        return {"count": None, "at": None, "reason": None}
    last = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
            for k, v in last.items()}
    return {"count": sum(int(c) for c in counts if c is not None), "at": last.get("at"), "reason": last.get("reason")}
