"""Standard Webhooks verification (standardwebhooks.com), shared by every source that uses it.

Our own small implementation rather than `standardwebhooks.Webhook.verify`: the library (1.1.0)
hard-codes a 5-minute window, reads the wall clock (no injectable clock for tests) and lets
ValueError / binascii.Error escape on malformed headers. The tests sign with the library, so each
implementation checks the other.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Callable, Iterable

from connectors.base import SignatureInvalid, WebhookRequest

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
WHSEC_PREFIX = "whsec_"
MAX_SIGNATURES = 8  # bounds the HMAC work one request can cause


def decode_key(secret: str, source: str) -> bytes:
    """A `whsec_<base64>` (or bare base64) secret as key bytes; ValueError without echoing it."""
    text = secret.strip().removeprefix(WHSEC_PREFIX)
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{source}: a configured secret is not valid base64") from None
    if not key:
        raise ValueError(f"{source}: a configured secret is empty")
    return key


def has_headers(request: WebhookRequest) -> bool:
    return any(request.header(h) is not None for h in HEADERS)


def verify(request: WebhookRequest, keys: Iterable[bytes], *, clock: Callable[[], float], tolerance_s: int,
           source: str) -> None:
    """Raise SignatureInvalid unless the timestamp is fresh and one `v1,` signature matches a key."""
    msg_id, stamp, signatures = (request.header(h) for h in HEADERS)
    if not (msg_id and stamp and signatures):
        raise SignatureInvalid(f"{source}: Standard Webhooks headers missing")
    if not fresh(stamp, clock, tolerance_s):
        raise SignatureInvalid(f"{source}: webhook-timestamp invalid or outside tolerance")
    entries = [e.partition(",") for e in signatures.split()[:MAX_SIGNATURES]]
    digests = [b64(value) for version, _, value in entries if version == "v1"]
    if not hmac_matches(keys, f"{msg_id}.{stamp}.".encode() + request.body, digests):
        raise SignatureInvalid(f"{source}: no matching webhook-signature")


def fresh(stamp: str, clock: Callable[[], float], tolerance_s: int, *, ms_threshold: int | None = None) -> bool:
    """Whether an integer timestamp (seconds; ms at or above `ms_threshold`) is within tolerance."""
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 20):  # int() refuses huge strings
        return False
    value = int(stamp)
    seconds = value / 1000 if ms_threshold is not None and value >= ms_threshold else value
    return abs(clock() - seconds) <= tolerance_s


def b64(value: str) -> bytes | None:
    """Strictly decoded base64, or None when the text is not base64."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def hmac_matches(keys: Iterable[bytes], signed: bytes, digests: list[bytes | None]) -> bool:
    """Whether any key's HMAC-SHA256 of `signed` equals any provided digest (constant time)."""
    candidates = [d for d in digests if d]
    for key in keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        if any(hmac.compare_digest(expected, d) for d in candidates):
            return True
    return False
