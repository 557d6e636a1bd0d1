"""POST a JSON message to an incoming-webhook URL (Slack, Teams) and classify the answer.

2xx is delivered; 429 and 5xx are retryable (with Retry-After); 400 is a malformed message; 403, 404
and 410 mean the URL was revoked or never existed: permanent, so the job stops retrying. No redirects.
The URL is a secret: it never appears in an error message.
"""
from __future__ import annotations

import requests

from connectors.common import defaults
from connectors.notify import DeliveryError

PERMANENT = {400, 401, 403, 404, 410}


def post_json(url: str, payload: dict, what: str) -> str:
    """The body of a 2xx answer; DeliveryError otherwise (no URL in its message)."""
    try:
        response = requests.post(url, json=payload, allow_redirects=False,
                                 timeout=(defaults.HTTP_CONNECT_TIMEOUT_S, defaults.HTTP_READ_TIMEOUT_S))
    except requests.RequestException as exc:
        raise DeliveryError(f"{what} unreachable: {type(exc).__name__}") from None
    body = response.text[:300]
    if 200 <= response.status_code < 300:
        return body
    retry_after = _seconds(response.headers.get("Retry-After"))
    retryable = response.status_code == 429 or response.status_code >= 500
    if response.status_code in PERMANENT:
        retryable = False
    raise DeliveryError(f"{what} answered {response.status_code} {body}".strip(), response.status_code,
                        retryable, retry_after)


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None
