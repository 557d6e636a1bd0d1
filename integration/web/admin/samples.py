"""Signed sample deliveries for "Send a test delivery": signed with the source's own secret, as its sender would.

Every source has one, signed per the vendor's own scheme (the same one its connector verifies, see
connectors/<vendor>/inbound.py): Quo (classic and 2026 `whsec_` keys) and the generic webhook (Standard
Webhooks); Twilio (X-Twilio-Signature over the URL and form fields, with Twilio's own RequestValidator);
Aircall (the token inside the body); Dialpad (the body is an HS256 JWT); Zendesk (HMAC-SHA256 of
timestamp + body); Intercom (X-Hub-Signature, HMAC-SHA1 hex); Freshdesk (the X-Undertone-Token header
its webhook rule is told to send); HubSpot (signature v3 over method, URL, body and timestamp).
Twilio and HubSpot sign the URL, so `build` takes the URL the webhook route will see.

The sample is a real event: it is stored, scored and written back. HubSpot's carries only ids (as
HubSpot's do): the worker then fetches the message from HubSpot's API, which needs its credentials.
"""
from __future__ import annotations

import base64
import hmac
import json
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlencode

import jwt
from hubspot.utils.signature import Signature
from twilio.request_validator import RequestValidator

from connectors.common import standard_webhooks

SAMPLE_TEXT = "This is a test delivery from the Undertone admin console. Thanks, the setup works great!"
SAMPLE_PHONE = "+15550100999"


def supported(source: str) -> bool:
    return source in _BUILDERS


def build(source: str, secret: str, now: float | None = None, url: str = "") -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a signed sample for `source`, posted to `url`; KeyError for a source without one."""
    return _BUILDERS[source](secret, time.time() if now is None else now, url)


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _quo(secret: str, now: float, url: str) -> tuple[bytes, dict[str, str]]:
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


def _generic(secret: str, now: float, url: str) -> tuple[bytes, dict[str, str]]:
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


def _twilio(secret: str, now: float, url: str) -> tuple[bytes, dict[str, str]]:
    """An incoming text, as Twilio posts it (a form), signed over the URL and the sorted fields."""
    sid = f"SM{uuid.uuid4().hex}"
    fields = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": f"AC{uuid.uuid4().hex}",
              "From": SAMPLE_PHONE, "To": "+15550100000", "Body": SAMPLE_TEXT, "NumMedia": "0", "NumSegments": "1",
              "SmsStatus": "received", "ApiVersion": "2010-04-01"}
    signature = RequestValidator(secret).compute_signature(url, fields)
    return urlencode(fields).encode(), {"X-Twilio-Signature": signature,
                                        "content-type": "application/x-www-form-urlencoded"}


def _aircall(secret: str, now: float, url: str) -> tuple[bytes, dict[str, str]]:
    """A received text; Aircall's webhook token travels inside the body."""
    body = json.dumps({
        "resource": "message", "event": "message.received", "timestamp": int(now), "token": secret,
        "data": {"id": f"test{uuid.uuid4().hex}", "direction": "inbound", "status": "received", "origin": "native",
                 "body": SAMPLE_TEXT, "external_number": SAMPLE_PHONE, "created_at": _iso(now),
                 "number": {"id": 1, "name": "Test line", "digits": "+15550100000"}},
    }).encode()
    return body, {"content-type": "application/json"}


def _dialpad(secret: str, now: float, url: str) -> tuple[bytes, dict[str, str]]:
    """An inbound text; Dialpad's body is a JWT signed HS256 with the webhook secret."""
    claims = {"id": int(uuid.uuid4().int % 10**15), "created_date": int(now * 1000), "direction": "inbound",
              "contact": {"name": "Test delivery", "phone": SAMPLE_PHONE}, "from_number": SAMPLE_PHONE,
              "to_number": ["+15550100000"], "mms": False, "is_internal": False, "text": SAMPLE_TEXT,
              "iat": int(now)}
    token = jwt.encode(claims, secret, algorithm="HS256")
    return token.encode(), {"content-type": "application/jwt"}


def _zendesk(secret: str, now: float, url: str) -> tuple[bytes, dict[str, str]]:
    """A public comment added to a ticket; signed: base64 HMAC-SHA256 of timestamp + body."""
    ticket = str(uuid.uuid4().int % 10**9)
    body = json.dumps({
        "account_id": 1, "id": f"test-{uuid.uuid4().hex}", "subject": f"zen:ticket:{ticket}", "time": _iso(now),
        "type": "zen:event-type:ticket.comment_added", "zendesk_event_version": "2022-11-06",
        "detail": {"id": ticket, "subject": "Test delivery", "status": "OPEN", "requester_id": "1",
                   "created_at": _iso(now), "updated_at": _iso(now), "via": {"channel": "web"}},
        "event": {"comment": {"id": str(uuid.uuid4().int % 10**12), "body": SAMPLE_TEXT, "is_public": True,
                              "author": {"id": "1", "is_staff": False, "name": "Test delivery"}}},
    }).encode()
    stamp = _iso(now)
    signature = base64.b64encode(hmac.new(secret.encode(), stamp.encode() + body, "sha256").digest()).decode()
    return body, {"X-Zendesk-Webhook-Signature": signature, "X-Zendesk-Webhook-Signature-Timestamp": stamp,
                  "content-type": "application/json"}


def _intercom(secret: str, now: float, url: str) -> tuple[bytes, dict[str, str]]:
    """A conversation a user started; signed: X-Hub-Signature, hex HMAC-SHA1 of the body with the client secret."""
    author = {"type": "user", "id": f"test{uuid.uuid4().hex[:20]}", "name": "Test delivery",
              "email": "test.delivery@example.com"}
    body = json.dumps({
        "type": "notification_event", "topic": "conversation.user.created", "id": f"notif_{uuid.uuid4()}",
        "created_at": int(now), "delivery_attempts": 1, "first_sent_at": int(now),
        "data": {"type": "notification_event_data", "item": {
            "type": "conversation", "id": str(uuid.uuid4().int % 10**15), "created_at": int(now),
            "updated_at": int(now), "open": True, "state": "open",
            "source": {"type": "conversation", "id": str(uuid.uuid4().int % 10**10), "delivered_as": "customer_initiated",
                       "subject": "", "body": f"<p>{SAMPLE_TEXT}</p>", "author": author},
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": author["id"]}]},
            "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [], "total_count": 0}}},
    }).encode()
    signature = "sha1=" + hmac.new(secret.encode(), body, "sha1").hexdigest()
    return body, {"X-Hub-Signature": signature, "content-type": "application/json"}


def _freshdesk(secret: str, now: float, url: str) -> tuple[bytes, dict[str, str]]:
    """A customer's reply, as the webhook rule's JSON template sends it, with the token header it is told to add."""
    body = json.dumps({
        "ticket_id": str(uuid.uuid4().int % 10**8), "kind": "updated", "author": "customer", "updated_at": _iso(now),
        "created_at": _iso(now), "status": "Open", "source": "Portal", "requester_name": "Test delivery",
        "requester_email": "test.delivery@example.com", "requester_phone": SAMPLE_PHONE, "subject": "Test delivery",
        "description": SAMPLE_TEXT, "latest_public_comment": f"Test delivery : {SAMPLE_TEXT}",
    }).encode()
    return body, {"X-Undertone-Token": secret, "content-type": "application/json"}


def _hubspot(secret: str, now: float, url: str) -> tuple[bytes, dict[str, str]]:
    """A conversation.newMessage event (ids only, as HubSpot sends); signature v3 with the app's client secret."""
    stamp = str(int(now * 1000))
    body = json.dumps([{
        "eventId": uuid.uuid4().int % 10**10, "subscriptionId": 1, "portalId": 1, "appId": 1,
        "occurredAt": int(now * 1000), "subscriptionType": "conversation.newMessage", "attemptNumber": 0,
        "objectId": uuid.uuid4().int % 10**10, "messageId": uuid.uuid4().hex, "messageType": "MESSAGE",
        "changeFlag": "NEW_MESSAGE"}]).encode()
    signature = Signature.get_signature(secret, body.decode(), "v3", http_uri=url, http_method="POST",
                                        timestamp=stamp)
    return body, {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": stamp,
                  "X-HubSpot-Signature-Version": "v3", "content-type": "application/json"}


_BUILDERS = {"quo": _quo, "generic": _generic, "twilio": _twilio, "aircall": _aircall, "dialpad": _dialpad,
             "zendesk": _zendesk, "intercom": _intercom, "freshdesk": _freshdesk, "hubspot": _hubspot}
