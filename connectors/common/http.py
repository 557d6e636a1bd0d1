"""HTTP to a provider's own API for hydration: timeouts, bounded retries, and only the provider's host.

A webhook may name a URL (a recording, a transcript); it is followed only when its host is the
configured API host, so a forged or careless payload cannot make a worker fetch from elsewhere.
Redirects are never followed: a 3xx answer is a ProviderError that is not retried, so neither a
payload nor the provider's answer can send credentials or a lookup to another host.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urljoin, urlsplit

import requests

from connectors.common import defaults

# 409 Conflict is not here: re-sending the same request cannot succeed; the caller re-reads (Zendesk safe_update).
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


@dataclass
class ProviderError(Exception):
    """A provider API call failed; `retryable` says whether the job's retry can help."""

    message: str
    status: int | None = None
    retryable: bool = True
    retry_after_s: float | None = None

    def __str__(self) -> str:
        return f"{self.status or '-'}: {self.message}"


@dataclass
class ProviderAPI:
    """A JSON API at `base_url`, with fixed headers/auth (e.g. a bearer token or basic auth)."""

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    session: requests.Session = field(default_factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep
    max_attempts: int = defaults.HTTP_MAX_ATTEMPTS

    def get_json(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON, retrying 429/5xx/timeouts a few times (honouring Retry-After)."""
        return self.request("GET", path_or_url, params=params).json()

    def request(self, method: str, path_or_url: str, **kwargs) -> requests.Response:
        url = self.url_for(path_or_url)
        for attempt in range(1, self.max_attempts + 1):
            error = self._attempt(method, url, kwargs)
            if isinstance(error, requests.Response):
                return error
            if not error.retryable or attempt == self.max_attempts:
                raise error
            self.sleep(_wait(error, attempt))
        raise AssertionError("unreachable")

    def url_for(self, path_or_url: str) -> str:
        """Absolute URL on the provider's host; ProviderError(retryable=False) for any other host."""
        url = urljoin(self.base_url.rstrip("/") + "/", path_or_url.lstrip("/")) if "://" not in path_or_url else path_or_url
        if urlsplit(url).netloc.lower() != urlsplit(self.base_url).netloc.lower():
            raise ProviderError(f"refusing to fetch {urlsplit(url).netloc!r}: not the provider's API host", retryable=False)
        return url

    def _attempt(self, method: str, url: str, kwargs: dict) -> requests.Response | ProviderError:
        timeout = (defaults.HTTP_CONNECT_TIMEOUT_S, defaults.HTTP_READ_TIMEOUT_S)
        try:
            response = self.session.request(method, url, headers=dict(self.headers), auth=self.auth, timeout=timeout,
                                            allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            return ProviderError(f"{type(exc).__name__}: {exc}", retryable=True)
        if 300 <= response.status_code < 400:
            target = urlsplit(response.headers.get("Location") or "").netloc or "the same host"
            return ProviderError(f"refusing to follow a redirect to {target!r}", status=response.status_code,
                                 retryable=False)
        if response.status_code < 400:
            return response
        return ProviderError(
            _message(response), status=response.status_code, retryable=response.status_code in RETRYABLE,
            retry_after_s=_retry_after(response),
        )


def api_client(api: Mapping[str, str], *, needs: tuple[str, ...], sleep: Callable[[float], None],
               auth: tuple[str, str] | None = None, bearer: str | None = None,
               headers: Mapping[str, str] | None = None) -> ProviderAPI | None:
    """A provider's API client from its settings (`base_url` and the credentials in `needs`); None when any is unset.

    `bearer` names the setting sent as `Authorization: Bearer …`; `auth` is basic auth.
    """
    if not api.get("base_url") or any(not api.get(key) for key in needs):
        return None
    fixed = {"Accept": "application/json", **(headers or {})}
    if bearer:
        fixed["Authorization"] = f"Bearer {api[bearer]}"
    return ProviderAPI(base_url=api["base_url"], headers=fixed, auth=auth, sleep=sleep)


def _wait(error: ProviderError, attempt: int) -> float:
    if error.retry_after_s is not None:
        return min(error.retry_after_s, defaults.HTTP_MAX_INLINE_WAIT_S)
    return min(defaults.HTTP_MAX_INLINE_WAIT_S, (2 ** (attempt - 1)) * (0.5 + random.random() / 2))


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict) and isinstance(errors[0].get("message"), str):
            return errors[0]["message"]  # Intercom's error.list, HubSpot's validation errors
        for key in ("message", "error", "description", "detail"):
            value = body.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"]
    return f"HTTP {response.status_code}"
