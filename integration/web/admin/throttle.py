"""Sign-in attempts limited per address and per account, counted in Redis over a sliding window."""
from __future__ import annotations

import hashlib
import logging

from redis import Redis
from redis.exceptions import RedisError

from integration import defaults

log = logging.getLogger(__name__)
PREFIX = "undertone:login-failures"


def _keys(address: str, email: str) -> tuple[str, str]:
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]  # no email in Redis keys
    return f"{PREFIX}:address:{address}", f"{PREFIX}:account:{account}"


def blocked_for(redis: Redis, address: str, email: str) -> int:
    """Seconds until this address or account may try again; 0 when allowed (also when Redis is away)."""
    address_key, account_key = _keys(address, email)
    try:
        counts = redis.mget(address_key, account_key)
        limits = (defaults.LOGIN_MAX_PER_ADDRESS, defaults.LOGIN_MAX_PER_ACCOUNT)
        for key, count, limit in zip((address_key, account_key), counts, limits):
            if count is not None and int(count) >= limit:
                return max(int(redis.ttl(key)), 1)
    except RedisError as exc:  # argon2's cost still slows guessing; sign-in stays possible
        log.warning("sign-in limits not checked, Redis unavailable: %s", type(exc).__name__)
    return 0


def record_failure(redis: Redis, address: str, email: str) -> None:
    """Count one failed attempt against the address and the account; the window starts at the first."""
    try:
        for key in _keys(address, email):
            if redis.incr(key) == 1 or redis.ttl(key) < 0:  # (EXPIRE NX needs Redis 7)
                redis.expire(key, defaults.LOGIN_WINDOW_S)
    except RedisError as exc:
        log.warning("failed sign-in not counted, Redis unavailable: %s", type(exc).__name__)


def clear_account(redis: Redis, email: str) -> None:
    """A successful sign-in forgets the account's failures (the address keeps its count)."""
    try:
        redis.delete(_keys("", email)[1])
    except RedisError:
        pass
