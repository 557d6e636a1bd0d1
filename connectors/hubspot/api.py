"""Calls to HubSpot through `hubspot-api-client`, under the shared rate limits, with bounded retries.

Each call takes a slot from a Redis budget shared by every worker: the account's ten-second limit
(from the `X-HubSpot-RateLimit-*` headers when HubSpot sends them, the configured tier otherwise) and,
apart from it, search's few requests per second. A 429 pauses the budget for everyone; a DAILY 429
is not retried before its reset. 5xx and timeouts get a few attempts with backoff and jitter; other
4xx are not retried. The client's own urllib3 Retry does not cover POST/PATCH, so this does.
"""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

from hubspot import HubSpot

from connectors.common import defaults as http_defaults
from connectors.common.rate_limit import Budget, RateLimitTimeout
from connectors.crm import CRMError
from connectors.hubspot import defaults

log = logging.getLogger(__name__)

NOT_RETRYABLE = {400, 401, 403, 404, 405, 409, 410, 415, 422}
TIERS = {"starter": 100, "free": 100, "professional": 190, "enterprise": 190, "oauth": 110}


@dataclass
class Budgets:
    """The general ten-second budget and the separate search budget."""

    general: Budget | None = None
    search: Budget | None = None

    @classmethod
    def shared(cls, redis, tier: str = "starter") -> "Budgets":
        per_10s = TIERS.get(tier.lower(), 100)
        return cls(Budget(redis, "hubspot", per_10s - 1, 10.0),  # one spare for a request racing ours
                   Budget(redis, "hubspot-search", defaults.HUBSPOT_SEARCHES_PER_S, 1.0))


class HubSpotAPI:
    """The official client plus rate limits and retries; `call` runs one `*_with_http_info` call."""

    def __init__(self, access_token: str, host: str = defaults.HUBSPOT_API_BASE, budgets: Budgets | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.client = HubSpot(access_token=access_token, host=host.rstrip("/"))
        self.budgets = budgets or Budgets()
        self.sleep = sleep
        self.timeout = (http_defaults.HTTP_CONNECT_TIMEOUT_S, http_defaults.HTTP_READ_TIMEOUT_S)
        self.calls = 0  # requests sent by this instance (benchmarks count them)

    def call(self, fn: Callable[..., tuple], *, search: bool = False) -> Any:
        """`fn(_request_timeout=...)` -> (data, status, headers); returns data or raises CRMError."""
        budget = self.budgets.search if search else self.budgets.general
        for attempt in range(1, http_defaults.HTTP_MAX_ATTEMPTS + 1):
            self._acquire(budget)
            try:
                self.calls += 1
                data, _status, headers = fn(_request_timeout=self.timeout)
            except Exception as exc:  # ApiException of any sub-package, urllib3 errors
                error = to_crm_error(exc)
                self._after_error(budget, error)
                wait = _wait_before_retry(error, attempt)
                if wait is None:
                    raise error from exc
                log.info("hubspot: %s; attempt %d, retrying in %.1fs", error, attempt, wait)
                self.sleep(wait)
                continue
            if budget is not None and not search:  # search sends no rate-limit headers
                budget.observe(dict(headers or {}))
            return data
        raise AssertionError("unreachable")

    def _acquire(self, budget: Budget | None) -> None:
        if budget is None:
            return
        try:
            budget.acquire(max_wait_s=defaults.HUBSPOT_MAX_SLOT_WAIT_S)
        except RateLimitTimeout as exc:
            raise CRMError(str(exc), status=429, retryable=True, retry_after_s=exc.wait_s) from None

    def _after_error(self, budget: Budget | None, error: CRMError) -> None:
        if error.status == 429 and budget is not None:
            budget.pause(error.retry_after_s or budget.window_s)


def to_crm_error(exc: Exception) -> CRMError:
    """Translate a client or transport exception; every field of HubSpot's error body is optional."""
    status = getattr(exc, "status", None)
    if not isinstance(status, int):
        return CRMError(f"transport error: {type(exc).__name__}: {exc}", retryable=True)
    body = _json_body(getattr(exc, "body", None))
    headers = {k.lower(): v for k, v in dict(getattr(exc, "headers", None) or {}).items()}
    message = body.get("message") or getattr(exc, "reason", None) or "HubSpot error"
    error = CRMError(message, status=status, retryable=status not in NOT_RETRYABLE, details=body)
    if status == 429:
        error.retry_after_s = _retry_after(headers, body)
    return error


def _wait_before_retry(error: CRMError, attempt: int) -> float | None:
    """Seconds before the next in-call attempt, or None to leave it to the job's retry."""
    if not error.retryable or attempt >= http_defaults.HTTP_MAX_ATTEMPTS:
        return None
    if error.retry_after_s is not None:
        return error.retry_after_s if error.retry_after_s <= http_defaults.HTTP_MAX_INLINE_WAIT_S else None
    return min(http_defaults.HTTP_MAX_INLINE_WAIT_S, (2 ** attempt) * (0.5 + random.random() / 2))


def _retry_after(headers: dict, body: dict) -> float:
    """Retry-After when sent; a DAILY policy waits for the job's long retry; else the window."""
    if "retry-after" in headers:
        try:
            return float(headers["retry-after"])
        except ValueError:
            pass
    if body.get("policyName") == "DAILY":
        return defaults.HUBSPOT_DAILY_LIMIT_WAIT_S
    interval_ms = headers.get("x-hubspot-ratelimit-interval-milliseconds")
    return float(interval_ms) / 1000 if interval_ms and interval_ms.isdigit() else 10.0


def _json_body(raw) -> dict:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
