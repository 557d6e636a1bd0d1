"""HubSpot inbound connector (the CRM writer is `connectors/hubspot.py`): v3-signed event batches.

Doc facts ("unconfirmed" = inferred from examples or third-party write-ups; watch these):
- v3 (HubSpot request-validation page; changelog "Introducing version 3 of Webhook signatures"):
  `X-HubSpot-Signature-v3` = base64 HMAC-SHA256 (client secret) of UTF-8 `method + URI + body +
  X-HubSpot-Request-Timestamp` (ms); reject timestamps over 5 minutes old. `tolerance_s` applies both
  ways; several secrets may be configured (rotation). A space in the signature is read as "+" (a proxy
  form-decoded it; reported in HubSpot's community).
- The URI is hashed with %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B decoded (HubSpot's table as
  remembered; the copies we could search stop before it: unconfirmed). `WebhookRequest.url` is
  PUBLIC_BASE_URL + path + query, so PUBLIC_BASE_URL must match the app's target URL.
- hubspot-api-client 12 `Signature.is_valid` does not decode the URI, reads `datetime.now()` (no clock
  to inject), lets future timestamps through, hard-codes 300 s and raises instead of answering False:
  the window is checked here with `self.clock` and `Signature.get_signature(..., "v3")` is compared in
  constant time. The library hashes text, so a body that is not UTF-8 is refused.
- The body is a JSON array of up to 100 events; more are accepted (signed by HubSpot, bounded by
  MAX_WEBHOOK_BYTES), an empty one is malformed. Fields: eventId, subscriptionId, portalId, appId,
  occurredAt (ms), subscriptionType, attemptNumber, objectId, changeFlag, changeSource.
- `conversation.newMessage` adds messageId and messageType (MESSAGE; COMMENT = internal note); objectId
  is the thread id (third-party examples and code; HubSpot's own table was not readable: unconfirmed).
- Merges (changelog "New subscription types for Webhooks"): primaryObjectId, mergedObjectIds[],
  newObjectId ("in some cases a new object is created from the result of a merge"). The survivor is
  newObjectId, else primaryObjectId; a replaced primary is followed too. `object.merge` counts for
  objectTypeId "0-1" (contacts).
- Conversations API (legacy v3 paths; bearer token with conversations.read): GET /conversations/v3/
  conversations/threads/{threadId}/messages/{messageId} -> {type, id, createdAt (ISO), senders/
  recipients[{actorId, deliveryIdentifier{type, value}, name}], text, richText, direction, channelId};
  GET .../threads/{threadId} -> associatedContactId, createdAt. Actor prefixes A- agent, B- bot,
  V- visitor, E- email, I-/S-/L- integration/system/LLM (third-party). Channel 1002 = email is
  unconfirmed (others count as chat); truncated long messages are kept as sent.
- A newMessage names only ids: without credentials, or when the message is gone (404) or not a
  MESSAGE, nothing is stored for it (logged). Who opened a thread is not in either answer: an
  INCOMING message marks the thread inbound, an OUTGOING one leaves direction unset (a reply must not
  flip it). The inbox link format is unconfirmed.
"""
from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import re
import time
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import quote

from hubspot.utils.signature import Signature

from connectors.base import (
    ContactMerge,
    CustomerRef,
    InboundConnector,
    InboundEvent,
    Interaction,
    MalformedPayload,
    SignatureInvalid,
    Touch,
    Turn,
    WebhookRequest,
)
from connectors.http import ProviderAPI, ProviderError
from connectors.phones import to_e164
from connectors.text import clean_message, html_to_text, latest_reply

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-hubspot-signature-v3"
TIMESTAMP_HEADER = "x-hubspot-request-timestamp"
MAX_SIGNATURE_CHARS = 128  # a base64 SHA-256 digest is 44; longer values are not HubSpot's
URI_ESCAPES = re.compile(r"%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)", re.IGNORECASE)  # decoded before hashing
NEW_MESSAGE = "conversation.newMessage"
CONTACT_MERGE = "contact.merge"
OBJECT_MERGE = "object.merge"
CONTACT_TYPE_ID = "0-1"
HANDLED = frozenset({NEW_MESSAGE, CONTACT_MERGE, OBJECT_MERGE})
THREADS = "/conversations/v3/conversations/threads"
DIRECTIONS = {"INCOMING": "inbound", "OUTGOING": "outbound"}
CHANNELS = {"1002": "email"}  # else chat (unconfirmed)
BUSINESS_ACTORS = ("A-", "B-", "I-", "S-", "L-")
BOT_ACTORS = ("B-", "L-")


class HubSpotWebhooksConnector(InboundConnector):
    """HubSpot app webhooks: conversation messages (hydrated from the Conversations API) and merges."""

    name = "hubspot"

    def __init__(self, secrets: Iterable[str] = (), **options: Any):
        super().__init__(tuple(secrets), **options)
        self.sleep = time.sleep  # how ProviderAPI waits between retries; tests record it instead

    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureInvalid unless the v3 signature is fresh and made with a configured secret."""
        signature, stamp = request.header(SIGNATURE_HEADER), (request.header(TIMESTAMP_HEADER) or "").strip()
        if not signature or not stamp:
            raise SignatureInvalid("hubspot: X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp missing")
        if not self._fresh(stamp):
            raise SignatureInvalid("hubspot: request timestamp invalid or outside tolerance")
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureInvalid("hubspot: body is not UTF-8, its signature cannot be checked") from None
        given = signature.strip().replace(" ", "+").encode()
        uri, method = _signed_uri(request.url), request.method.upper()
        if len(given) <= MAX_SIGNATURE_CHARS and any(
                hmac.compare_digest(Signature.get_signature(secret, body, "v3", http_uri=uri, http_method=method,
                                                            timestamp=stamp).encode(), given)
                for secret in self.secrets):
            return
        raise SignatureInvalid("hubspot: no matching X-HubSpot-Signature-v3")

    def events(self, request: WebhookRequest) -> list[InboundEvent]:
        """One event per array element; its id is the element's `eventId`, its body the element alone."""
        try:
            elements = json.loads(request.body)
        except ValueError:  # includes UnicodeDecodeError
            raise MalformedPayload("hubspot: body is not JSON") from None
        if not isinstance(elements, list) or not elements:
            raise MalformedPayload("hubspot: body is not a non-empty JSON array")
        if len(elements) > 100:
            log.warning("hubspot: %d events in one request (documented maximum 100)", len(elements))
        return [_event(element) for element in elements]

    def handles(self, event_type: str) -> bool:
        """New conversation messages and contact merges; other subscriptions are ignored."""
        return event_type in HANDLED

    def parse(self, event: InboundEvent) -> list[Interaction | ContactMerge]:
        """A message's thread (words come from hydrate), or the merge to follow; [] for anything else."""
        element = _element(event.body)
        kind = element["subscriptionType"]
        if kind == NEW_MESSAGE:
            return self._new_message(element)
        if kind == CONTACT_MERGE or (kind == OBJECT_MERGE and _id(element.get("objectTypeId")) == CONTACT_TYPE_ID):
            return _merge(element)
        return []

    def hydrate(self, items: list, event: InboundEvent) -> list[Interaction | ContactMerge]:
        """Fetch each new message and its thread; messages that cannot be read are left out (logged)."""
        if not any(map(_is_message, items)):
            return items
        if not (self.api.get("access_token") and self.api.get("base_url")):
            log.warning("hubspot: no API credentials; message of event %s has no words and is skipped", event.event_id)
            return [i for i in items if not _is_message(i)]
        api = ProviderAPI(base_url=self.api["base_url"], sleep=self.sleep, headers={
            "Authorization": f"Bearer {self.api['access_token']}", "Accept": "application/json"})
        hydrated = [_with_message(api, i) if _is_message(i) else i for i in items]
        return [j for i in hydrated if i is not None for j in (i, *_reply_touches(i))]

    def _fresh(self, stamp: str) -> bool:
        """Whether a millisecond timestamp lies within `tolerance_s` of the clock, either way."""
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 20):
            return False
        return abs(self.clock() - int(stamp) / 1000) <= self.tolerance_s

    def _new_message(self, element: dict) -> list[Interaction]:
        """The thread this message belongs to, by id only; internal comments are left out."""
        if element.get("messageType") == "COMMENT":
            return []
        thread_id, message_id = _id(element.get("objectId")), _id(element.get("messageId"))
        if not thread_id or not message_id:
            raise MalformedPayload("hubspot: objectId or messageId missing")
        portal_id = _id(element.get("portalId"))
        return [Interaction(
            source=self.name, thread_key=f"conversation:{thread_id}", channel="chat",
            occurred_at=_time(element.get("occurredAt")), append_turns=True, url=_link(portal_id, thread_id),
            source_ids=_present(thread_id=thread_id, message_id=message_id, portal_id=portal_id),
        )]


def _event(element: Any) -> InboundEvent:
    """One array element as an event, re-serialised compactly as its own body."""
    if not isinstance(element, dict):
        raise MalformedPayload("hubspot: an event is not a JSON object")
    event_id = _id(element.get("eventId"))
    if not event_id:
        raise MalformedPayload("hubspot: an event has no eventId")
    kind = element.get("subscriptionType")
    if not isinstance(kind, str) or not kind:
        raise MalformedPayload("hubspot: an event has no subscriptionType")
    body = json.dumps(element, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return InboundEvent(event_id=event_id, event_type=kind, body=body)


def _element(raw: bytes) -> dict:
    """A stored event's JSON object with its subscriptionType; else MalformedPayload."""
    try:
        element = json.loads(raw)
    except ValueError:
        raise MalformedPayload("hubspot: event is not JSON") from None
    if not isinstance(element, dict) or not isinstance(element.get("subscriptionType"), str):
        raise MalformedPayload("hubspot: event is not an object with a subscriptionType")
    return element


def _merge(element: dict) -> list[ContactMerge]:
    """The CRM merge: merged ids (and a replaced primary) now point at the surviving contact."""
    surviving = _id(element.get("newObjectId")) or _id(element.get("primaryObjectId"))
    merged = element.get("mergedObjectIds")
    if not surviving or not isinstance(merged, list):
        raise MalformedPayload("hubspot: merge without primaryObjectId or mergedObjectIds")
    ids = (_id(i) for i in (*merged, element.get("primaryObjectId")))
    followed = tuple(dict.fromkeys(i for i in ids if i and i != surviving))
    return [ContactMerge(crm="hubspot", surviving_id=surviving, merged_ids=followed)] if followed else []


def _is_message(item: Interaction | ContactMerge) -> bool:
    """A newMessage interaction still waiting for its words."""
    return isinstance(item, Interaction) and item.turns is None and "message_id" in item.source_ids


def _with_message(api: ProviderAPI, item: Interaction) -> Interaction | None:
    """The interaction with the message's turn, direction, channel and customer; None when unreadable."""
    thread_id, message_id = item.source_ids["thread_id"], item.source_ids["message_id"]
    message = _get(api, f"{THREADS}/{quote(thread_id, safe='')}/messages/{quote(message_id, safe='')}")
    if message.get("type", "MESSAGE") != "MESSAGE":
        log.info("hubspot: message %s is %s, not a MESSAGE; skipped", message_id, message.get("type"))
        return None
    turn = _turn(message, item)
    if turn is None:
        log.info("hubspot: message %s missing or without text; skipped", message_id)
        return None
    thread = _get(api, f"{THREADS}/{quote(thread_id, safe='')}")
    direction, contact_id = DIRECTIONS.get(message.get("direction")), _id(thread.get("associatedContactId"))
    found = [t for t in (_time(thread.get("createdAt")), turn.at, item.occurred_at) if t is not None]
    channel_id = _id(message.get("channelId"))
    people = _line_agent(message, thread, turn)
    return dataclasses.replace(  # only an incoming message sets direction, so replies never flip the thread's
        item, channel=CHANNELS.get(channel_id, "chat"), direction="inbound" if direction == "inbound" else None,
        turns=(turn,),
        customer=_customer(message, direction, contact_id),
        occurred_at=min(found) if found else None,
        source_ids={**item.source_ids, **_present(channel_id=channel_id, contact_id=contact_id)}, **people,
    )


def _line_agent(message: dict, thread: dict, turn: Turn) -> dict:
    """line `hubspot:inbox:<inboxId>` (else `hubspot:channel:<channelAccountId>`); agent `hubspot:<user id>` of
    the thread's assignee (else of the agent who wrote this message), with the sender's name when it is theirs."""
    inbox = _id(thread.get("inboxId"))
    account = _id(message.get("channelAccountId")) or _id(thread.get("originalChannelAccountId"))
    sender = next((s for s in _parties(message.get("senders"))), {})
    sender_actor = _id(sender.get("actorId")) or ""
    assignee = _id(thread.get("assignedTo")) or (sender_actor if turn.speaker == "agent" else None) or ""
    found = {"line": f"hubspot:inbox:{inbox}" if inbox else f"hubspot:channel:{account}" if account else None,
             "agent": f"hubspot:{assignee.removeprefix('A-')}" if assignee.startswith("A-") else None,
             "agent_name": _id(sender.get("name")) if assignee and assignee == sender_actor else None}
    return {k: v for k, v in found.items() if v}


def _reply_touches(item: Interaction | ContactMerge) -> list[Touch]:
    """An agent's message in a conversation: the business answered the customer (a touch)."""
    if not isinstance(item, Interaction) or "message_id" not in item.source_ids or not item.turns:
        return []
    turn = item.turns[0]
    if turn.speaker != "agent":
        return []
    return [Touch(source="hubspot", kind="agent_reply", external_id=f"message:{item.source_ids['message_id']}",
                  occurred_at=turn.at, customer=item.customer, thread_key=item.thread_key, line=item.line,
                  agent=item.agent)]


def _get(api: ProviderAPI, path: str) -> dict:
    """A JSON object from the API; {} when the record is gone (404) or the answer is not an object."""
    try:
        answer = api.get_json(path)
    except ProviderError as exc:
        if exc.status != 404:
            raise
        log.info("hubspot: %s not found; degrading to what the webhook carried", path)
        return {}
    except ValueError:
        log.warning("hubspot: %s did not answer JSON", path)
        return {}
    return answer if isinstance(answer, dict) else {}


def _turn(message: dict, item: Interaction) -> Turn | None:
    """The message as one turn: INCOMING is the customer, OUTGOING an agent (or a bot by actor id)."""
    words = _words(message, email=CHANNELS.get(_id(message.get("channelId"))) == "email")
    if not words:
        return None
    return Turn(_speaker(message), words, at=_time(message.get("createdAt")), id=item.source_ids["message_id"])


def _words(message: dict, *, email: bool) -> str:
    """Plain `text` (e-mail: without quoted history), else the `richText` HTML as text."""
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    rich = message.get("richText") if isinstance(message.get("richText"), str) else ""
    if email:
        return latest_reply(text) or clean_message(rich)
    return html_to_text(text) or html_to_text(rich)


def _speaker(message: dict) -> str:
    """customer for incoming messages; for outgoing ones bot or agent by the sender's actor id."""
    actor = next((_id(s.get("actorId")) or "" for s in _parties(message.get("senders"))), "")
    direction = message.get("direction")
    if direction == "INCOMING" or (direction != "OUTGOING" and actor[:2] in ("V-", "E-")):
        return "customer"
    return "bot" if actor.startswith(BOT_ACTORS) else "agent"


def _customer(message: dict, direction: str | None, contact_id: str | None) -> CustomerRef:
    """The customer's delivery identifiers: the senders of an incoming message, the recipients of an outgoing one."""
    parties = _parties(message.get("recipients" if direction == "outbound" else "senders"))
    customers = [p for p in parties if not (_id(p.get("actorId")) or "").startswith(BUSINESS_ACTORS)]
    identifiers = [i for p in customers for i in _identifiers(p)]
    email = next((v for t, v in identifiers if t == "HS_EMAIL_ADDRESS" and "@" in v), None)
    phone = next((p for p in (to_e164(v) for t, v in identifiers if t == "HS_PHONE_NUMBER") if p), None)
    name = next((n for n in (_id(p.get("name")) for p in customers) if n), None)
    return CustomerRef(phone=phone, email=email, name=name, provider_id=contact_id)


def _identifiers(party: dict) -> list[tuple[str, str]]:
    """(type, value) of a party's `deliveryIdentifier` (or `deliveryIdentifiers`)."""
    many = party.get("deliveryIdentifiers")
    found = [party.get("deliveryIdentifier"), *(many if isinstance(many, list) else [])]
    return [(d.get("type"), d["value"].strip()) for d in found
            if isinstance(d, dict) and isinstance(d.get("value"), str) and d["value"].strip()]


def _parties(value: Any) -> list[dict]:
    """The objects of a senders/recipients list."""
    return [p for p in value if isinstance(p, dict)] if isinstance(value, list) else []


def _link(portal_id: str | None, thread_id: str) -> str | None:
    """A link to the thread in HubSpot's inbox (format unconfirmed)."""
    return f"https://app.hubspot.com/live-messages/{quote(portal_id, safe='')}/inbox/{quote(thread_id, safe='')}" \
        if portal_id else None


def _signed_uri(url: str) -> str:
    """The URI as HubSpot hashes it: the listed percent-escapes decoded (either case)."""
    return URI_ESCAPES.sub(lambda match: chr(int(match[1], 16)), url)


def _time(value: Any) -> datetime | None:
    """Epoch milliseconds (events) or ISO 8601 text (API) as an aware UTC datetime; None if absent or bad."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        if not isinstance(value, str):
            return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        parsed = datetime.fromisoformat(value)
    except (OverflowError, OSError, ValueError):
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _id(value: Any) -> str | None:
    """An identifier as text (HubSpot sends numbers or strings); None when blank."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return (value.strip() or None) if isinstance(value, str) else None


def _present(**values: str | None) -> dict[str, str]:
    """The source ids that are known."""
    return {k: v for k, v in values.items() if v}
