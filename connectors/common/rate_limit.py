"""A rate limiter shared by every worker process, in Redis: a sliding window per budget.

HubSpot allows N requests per rolling 10 s per account (and about 5 searches per second, counted
apart). Every worker takes a slot before a call; the responses' X-HubSpot-RateLimit-* headers
correct the budget (another integration on the same account uses it too), and a 429 pauses the
whole budget for Retry-After (or the window) across all workers.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Mapping

from redis import Redis

# KEYS[1] window zset, KEYS[2] pause key; ARGV now_ms, window_ms, limit, member.
# Returns 0 when a slot was taken, else the milliseconds to wait before trying again.
_ACQUIRE = """
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class RateLimitTimeout(Exception):
    """No slot within the caller's patience; the job retries later instead of blocking a worker."""

    def __init__(self, budget: str, wait_s: float):
        super().__init__(f"rate limit {budget!r}: next slot in {wait_s:.1f}s")
        self.budget = budget
        self.wait_s = wait_s


@dataclass
class Budget:
    """`limit` calls per `window_s`, shared by everyone using the same Redis and `name`."""

    redis: Redis
    name: str
    limit: int
    window_s: float
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    _script: object = field(default=None, repr=False)

    @property
    def _keys(self) -> list[str]:
        return [f"undertone:ratelimit:{self.name}", f"undertone:ratelimit:{self.name}:pause"]

    def acquire(self, max_wait_s: float = 30.0) -> None:
        """Take one slot, waiting up to `max_wait_s`; RateLimitTimeout when it would take longer."""
        deadline = self.clock() + max_wait_s
        while True:
            wait_ms = self._try()
            if wait_ms == 0:
                return
            wait_s = wait_ms / 1000
            if self.clock() + wait_s > deadline:
                raise RateLimitTimeout(self.name, wait_s)
            self.sleep(wait_s)

    def pause(self, seconds: float) -> None:
        """Stop everyone using this budget for `seconds` (after a 429)."""
        self.redis.set(self._keys[1], "1", px=max(1, int(seconds * 1000)))

    def observe(self, headers: Mapping[str, str]) -> None:
        """Follow HubSpot's own count: adopt its window size, and pause when it says none remain."""
        lowered = {k.lower(): v for k, v in headers.items()}
        maximum = _int(lowered.get("x-hubspot-ratelimit-max"))
        interval_ms = _int(lowered.get("x-hubspot-ratelimit-interval-milliseconds"))
        remaining = _int(lowered.get("x-hubspot-ratelimit-remaining"))
        if maximum:
            self.limit = max(1, maximum - 1)  # one spare for the request racing ours
        if interval_ms:
            self.window_s = interval_ms / 1000
        if remaining is not None and remaining <= 0:
            self.pause(self.window_s)

    def _try(self) -> int:
        if self._script is None:
            self._script = self.redis.register_script(_ACQUIRE)
        now_ms = int(self.clock() * 1000)
        member = f"{now_ms}:{uuid.uuid4().hex[:8]}"
        return int(self._script(keys=self._keys, args=[now_ms, int(self.window_s * 1000), self.limit, member]))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
