"""Test helpers that sign raw webhook bodies the way senders do, at test time.

Fixtures hold raw bodies only; tests sign them here with a known secret and a timestamp near the
connector's injected clock, so no stored signature ever goes stale. Reusable by every connector's
tests:

- `hmac_b64` / `hmac_hex`: the HMAC primitives most senders use (Zendesk, Intercom, HubSpot...).
- `sign_quo_classic`: Quo/OpenPhone legacy `openphone-signature: hmac;1;<ts>;<base64>`.
- `sign_standard`: Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`),
  signed by the reference `standardwebhooks` library so our own verifiers are checked against it.

All functions take the body as bytes and return plain dicts of lower-case header names.
"""
from __future__ import annotations

import base64
import hmac
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook


def hmac_b64(key: bytes, message: bytes, digestmod: str = "sha256") -> str:
    """Base64 of HMAC(key, message)."""
    return base64.b64encode(hmac.new(key, message, digestmod).digest()).decode()


def hmac_hex(key: bytes, message: bytes, digestmod: str = "sha256") -> str:
    """Lower-case hex of HMAC(key, message)."""
    return hmac.new(key, message, digestmod).hexdigest()


def b64_secret(raw: bytes) -> str:
    """A classic (unprefixed) base64 signing secret made from raw key bytes."""
    return base64.b64encode(raw).decode()


def whsec_secret(raw: bytes) -> str:
    """A Standard Webhooks `whsec_...` secret made from raw key bytes."""
    return "whsec_" + base64.b64encode(raw).decode()


def quo_classic_entry(body: bytes, secret_b64: str, timestamp_ms: int) -> str:
    """One `hmac;1;<timestamp>;<digest>` entry: HMAC-SHA256 of `<timestamp>.<body>`, decoded key."""
    key = base64.b64decode(secret_b64)
    return f"hmac;1;{timestamp_ms};{hmac_b64(key, f'{timestamp_ms}.'.encode() + body)}"


def sign_quo_classic(body: bytes, secret_b64: str, timestamp_ms: int) -> dict[str, str]:
    """Headers of a Quo legacy delivery; join several entries with "," to test multi-signature."""
    return {"openphone-signature": quo_classic_entry(body, secret_b64, timestamp_ms)}


def sign_standard(body: bytes, whsec_secret: str, msg_id: str, timestamp_s: int) -> dict[str, str]:
    """Standard Webhooks headers for `body`, signed with `standardwebhooks.Webhook.sign`.

    The library signs text, so a body that is not UTF-8 is signed here with the same algorithm
    (HMAC-SHA256 of `<id>.<timestamp>.<body>`, key = base64 after `whsec_`).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        key = base64.b64decode(whsec_secret.removeprefix("whsec_"))
        signature = "v1," + hmac_b64(key, f"{msg_id}.{timestamp_s}.".encode() + body)
    else:
        when = datetime.fromtimestamp(timestamp_s, tz=timezone.utc)
        signature = Webhook(whsec_secret).sign(msg_id=msg_id, timestamp=when, data=text)
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp_s), "webhook-signature": signature}


__all__ = [
    "b64_secret", "hmac_b64", "hmac_hex", "quo_classic_entry", "sign_quo_classic", "sign_standard",
    "whsec_secret",
]
