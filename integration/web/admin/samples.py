"""Signed sample deliveries for "Send a test delivery": signed with the source's own secret, as its sender would.

Sources whose signing this module knows: Quo (classic and 2026 `whsec_` keys) and the generic
webhook (Standard Webhooks). The sample is a real event: it is stored, scored and written back.
"""
from __future__ import annotations

import base64
import hmac
import json
import time
import uuid
from datetime import datetime, timezone

from connectors.common import standard_webhooks

SAMPLE_TEXT = "This is a test delivery from the Undertone admin console. Thanks, the setup works great!"
SAMPLE_PHONE = "+15550100999"


def supported(source: str) -> bool:
    return source in _BUILDERS


def build(source: str, secret: str, now: float | None = None) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a signed sample for `source`; KeyError for a source without a sample."""
    return _BUILDERS[source](secret, time.time() if now is None else now)


def _quo(secret: str, now: float) -> tuple[bytes, dict[str, str]]:
    event_id = f"EVtest{uuid.uuid4().hex[:24]}"
    at = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = json.dumps({
        "id": event_id, "object": "event", "apiVersion": "v4", "createdAt": at, "type": "message.received",
        "data": {"object": {"id": f"ACtest{uuid.uuid4().hex[:24]}", "object": "message", "from": SAMPLE_PHONE,
                            "to": ["+15550100000"], "direction": "incoming", "text": SAMPLE_TEXT,
                            "status": "received", "createdAt": at}},
    }).encode()
    if secret.startswith("whsec_"):
        return body, _standard(body, secret, now)
    key = base64.b64decode(secret)
    stamp = int(now * 1000)
    digest = base64.b64encode(hmac.new(key, f"{stamp}.".encode() + body, "sha256").digest()).decode()
    return body, {"openphone-signature": f"hmac;1;{stamp};{digest}", "content-type": "application/json"}


def _generic(secret: str, now: float) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({
        "id": f"test-{uuid.uuid4().hex[:16]}", "type": "interaction", "channel": "review",
        "direction": "inbound", "occurred_at": datetime.fromtimestamp(now, timezone.utc).isoformat(),
        "contact": {"phone": SAMPLE_PHONE, "name": "Test delivery"}, "text": SAMPLE_TEXT,
    }).encode()
    return body, _standard(body, secret, now)


def _standard(body: bytes, secret: str, now: float) -> dict[str, str]:
    """Standard Webhooks headers: HMAC-SHA256 of `<id>.<timestamp>.<body>` with the key after `whsec_`."""
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", int(now)
    key = standard_webhooks.decode_key(secret, "sample")
    signature = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, "sha256").digest()).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": f"v1,{signature}",
            "content-type": "application/json"}


_BUILDERS = {"quo": _quo, "generic": _generic}
