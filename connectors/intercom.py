"""Intercom inbound connector: verify `X-Hub-Signature`, split notifications, parse conversation turns.

Doc facts ("unconfirmed" = inferred from examples or third-party write-ups; watch these):
- Signing: `X-Hub-Signature: sha1=<40 hex>`, HMAC-SHA1 (RFC 2104) of the raw body, hex-encoded
  (Intercom reference "Signed notifications", developers.intercom.com/intercom-api-reference/v1.0/
  reference/signed-notifications). That page keys it with a subscription `hub_secret`; today's key is
  the app's client secret (Developer Hub > Basic information) per Hookdeck's webhook-skills and other
  write-ups: unconfirmed on an Intercom page we could read in full. Upper-case hex is accepted.
- Nothing signed carries a time, and we enforce no replay window: the notification `id` is the
  dedupe key, so a replayed notification is a duplicate for as long as inbox rows are kept. The body's
  `created_at` stays the same on retries and Intercom's retry schedule is not documented precisely
  (unconfirmed), so a window on it could refuse legitimate late retries.
- Envelope: {type:"notification_event", app_id, data:{type:"notification_event_data", item}, links,
  id, topic, delivery_status, delivery_attempts, delivered_at, first_sent_at, created_at, self}.
- `ping` (sent when the webhook is saved) carries `"id": null` (a captured ping in serverless-offline's
  tests): its event id falls back to `ping:<sha256 of the body>`; it is stored as ignored.
- Topics (webhook-models reference): conversation.user.created / .user.replied / .admin.replied carry
  words. conversation.admin.closed, .admin.noted, .admin.assigned and the rest are ignored.
- Conversation model (intercom/Intercom-OpenAPI, descriptions/2.14): `source` {type: conversation|
  email|sms|whatsapp|..., id, delivered_as, subject, body (HTML), author{type, id, name, email,
  from_ai_agent}, redacted}; `contacts.contacts[{type, id, external_id}]`; `conversation_parts.
  conversation_parts[{id, part_type, body, created_at, author, redacted}]`; times are unix seconds.
- A notification's item holds only the newest part(s) (unconfirmed: a third-party mock says so), so
  every event appends the source message and its parts; turns already stored (same id) are skipped.
- Which part types are speech is not listed anywhere: parts with a body count, except notes and
  assignments (internal). Author type user/lead/contact -> customer, admin/team -> agent, bot (or
  `from_ai_agent`) -> bot.
- Hydration: GET /contacts/{id} with a bearer token and `Intercom-Version`; a lead merged into a user
  answers 404 (documented on the merge endpoint), which degrades to what the webhook carried.
  Intercom signals rate limits with X-RateLimit-* headers; a 429 without Retry-After gets our backoff.
- The inbox link `https://app.intercom.com/a/apps/<app_id>/conversations/<id>` is unconfirmed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import quote

from connectors import names
from connectors.base import (
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
from connectors.text import clean_message, html_to_text

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-hub-signature"
API_VERSION = "2.14"
PING = "ping"
HANDLED = frozenset({"conversation.user.created", "conversation.user.replied", "conversation.admin.replied"})
SPEAKERS = {"user": "customer", "lead": "customer", "contact": "customer", "admin": "agent", "team": "agent",
            "bot": "bot"}
SKIPPED_PARTS = frozenset({"note", "note_and_reopen", "assignment", "default_assignment", "away_mode_assignment",
                           "assign_and_reopen", "assign_and_unsnooze"})
CHANNELS = {"email": "email", "sms": "sms", "phone_call": "call", "phone_switch": "call"}  # else chat
INBOUND_STARTS = frozenset({"customer_initiated"})


class IntercomConnector(InboundConnector):
    """Intercom webhook notifications about conversations (customer, teammate and bot turns)."""

    name = "intercom"

    def __init__(self, secrets: Iterable[str] = (), **options: Any):
        super().__init__(tuple(secrets), **options)
        self.sleep = time.sleep  # how ProviderAPI waits between retries; tests record it instead

    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureInvalid unless one configured client secret signed the raw body."""
        digest = _hex_digest(request.header(SIGNATURE_HEADER))
        if digest is None:
            raise SignatureInvalid("intercom: X-Hub-Signature missing or malformed")
        for secret in self.secrets:
            expected = hmac.new(secret.encode(), request.body, hashlib.sha1).hexdigest()
            if hmac.compare_digest(expected, digest):
                return
        raise SignatureInvalid("intercom: no matching X-Hub-Signature")

    def events(self, request: WebhookRequest) -> list[InboundEvent]:
        """One event per notification; its id is the notification `id`."""
        body = _load(request.body)
        return [InboundEvent(event_id=_event_id(body, request.body), event_type=body["topic"], body=request.body)]

    def handles(self, event_type: str) -> bool:
        """Conversations started or replied to; pings, closes, notes and the rest are ignored."""
        return event_type in HANDLED

    def parse(self, event: InboundEvent) -> list[Interaction | Touch]:
        """The conversation's new turns (appended), its customer and channel, and each teammate's reply as a
        touch; [] for unused topics."""
        body = _load(event.body)
        if body["topic"] not in HANDLED:
            return []
        item = body["data"]["item"]
        conversation_id = _id(item.get("id"))
        if conversation_id is None:
            raise MalformedPayload("intercom: conversation id missing")
        source = _dict(item.get("source"))
        parts = _parts(item)
        channel = CHANNELS.get(source.get("type"), "chat")
        turns = _turns(item, source, parts, email=channel == "email")
        customer, contact = _customer(item, source, parts)
        people = _line_agent(item, source, parts)
        interaction = Interaction(
            source=self.name, thread_key=f"conversation:{conversation_id}", channel=channel,
            customer=customer, direction=_direction(source), occurred_at=_time(item.get("created_at")),
            turns=turns or None, append_turns=True, url=_link(body.get("app_id"), conversation_id),
            source_ids=_present(conversation_id=conversation_id, contact_id=customer.provider_id,
                                contact_external_id=_id(contact.get("external_id")), app_id=_id(body.get("app_id"))),
            **people,
        )
        return [interaction, *self._touches(interaction, source, parts, channel)]

    def _touches(self, item: Interaction, source: dict, parts: list[dict], channel: str) -> list[Touch]:
        """Teammates' messages (not bots, not notes): an opening e-mail the business sent, and replies."""
        opening = [(source, "outbound_email" if channel == "email" else "agent_reply", item.occurred_at)]
        replies = [(p, "agent_reply", _time(p.get("created_at")))
                   for p in parts if p.get("part_type") not in SKIPPED_PARTS]
        touches = []
        for message, kind, at in opening + replies:
            author, message_id = _dict(message.get("author")), _id(message.get("id"))
            spoken = _text(message.get("body")) and not message.get("redacted")
            if _speaker(author) != "agent" or not message_id or not spoken:
                continue
            touches.append(Touch(source=self.name, kind=kind, external_id=f"part:{message_id}", occurred_at=at,
                                 customer=item.customer, thread_key=item.thread_key, line=item.line,
                                 agent=f"{self.name}:{_id(author.get('id'))}" if _id(author.get("id")) else item.agent))
        return touches

    def hydrate(self, items: list[Interaction], event: InboundEvent) -> list[Interaction]:
        """Fill in the customer's email, phone and name from GET /contacts/{id} when the webhook lacks the email,
        and the team inbox's and assigned teammate's names (GET /teams/{id}, /admins/{id}, cached)."""
        if not any(_needs_contact(i) or _needs_names(i) for i in items):
            return items
        if not (self.api.get("access_token") and self.api.get("base_url")):
            log.info("intercom: no API credentials; contact of event %s not hydrated", event.event_id)
            return items
        api = ProviderAPI(base_url=self.api["base_url"], sleep=self.sleep, headers={
            "Authorization": f"Bearer {self.api['access_token']}", "Accept": "application/json",
            "Intercom-Version": API_VERSION})
        items = [_with_contact(api, i) if _needs_contact(i) else i for i in items]
        return [_named(api, i) if _needs_names(i) else i for i in items]


def _needs_names(item: Interaction) -> bool:
    """Whether the conversation has a team inbox or teammate whose name the webhook did not give."""
    return isinstance(item, Interaction) and bool((item.line and not item.line_name) or
                                                  (item.agent and not item.agent_name))


def _named(api: ProviderAPI, item: Interaction) -> Interaction:
    """The team inbox's and the assigned teammate's names from the API (None when it will not say)."""
    read = lambda found: _dict(found).get("name")  # noqa: E731 (GET /teams/{id} and /admins/{id} answer {name})
    team, admin = (item.line or "").removeprefix("intercom:inbox:"), (item.agent or "").removeprefix("intercom:")
    return dataclasses.replace(
        item, line_name=item.line_name or (names.lookup(api, f"/teams/{quote(team, safe='')}", read) if team else None),
        agent_name=item.agent_name or (names.lookup(api, f"/admins/{quote(admin, safe='')}", read) if admin else None))


def _line_agent(item: dict, source: dict, parts: list[dict]) -> dict:
    """line `intercom:inbox:<team id>` (the team inbox it sits in), agent `intercom:<admin assignee id>` and that
    admin's name when one of the messages is theirs."""
    team, admin = _id(item.get("team_assignee_id")), _id(item.get("admin_assignee_id"))
    team, admin = (None if v in ("0", None) else v for v in (team, admin))
    name = next((_text(a.get("name")) for a in (_dict(m.get("author")) for m in (source, *parts))
                 if a.get("type") == "admin" and admin and _id(a.get("id")) == admin and _text(a.get("name"))), None)
    found = {"line": f"intercom:inbox:{team}" if team else None, "agent": f"intercom:{admin}" if admin else None,
             "agent_name": name}
    return {k: v for k, v in found.items() if v}


def _needs_contact(item: Interaction) -> bool:
    """Whether the webhook named the contact but not its email."""
    return isinstance(item, Interaction) and bool(item.customer.provider_id) and not item.customer.email


def _with_contact(api: ProviderAPI, item: Interaction) -> Interaction:
    """The interaction with the contact's email/phone/name added; unchanged when the contact is gone (404)."""
    try:
        contact = api.get_json(f"/contacts/{quote(item.customer.provider_id, safe='')}")
    except ProviderError as exc:
        if exc.status == 404:
            log.info("intercom: contact %s not found; keeping what the webhook carried", item.customer.provider_id)
            return item
        raise
    except ValueError:
        log.warning("intercom: contact %s answer is not JSON; not hydrated", item.customer.provider_id)
        return item
    contact = _dict(contact)
    known = item.customer
    customer = dataclasses.replace(
        known, email=known.email or _text(contact.get("email")), name=known.name or _text(contact.get("name")),
        phone=known.phone or to_e164(contact.get("phone")))
    return dataclasses.replace(item, customer=customer)


def _hex_digest(header: str | None) -> str | None:
    """The lower-case hex digest of a `sha1=<40 hex>` header; None when absent or malformed."""
    scheme, _, value = (header or "").strip().partition("=")
    value = value.strip().lower()
    if scheme.strip().lower() != "sha1" or len(value) != 40 or any(c not in "0123456789abcdef" for c in value):
        return None
    return value


def _load(raw: bytes) -> dict:
    """A `notification_event` with a topic and a `data.item` object; else MalformedPayload."""
    try:
        body = json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        raise MalformedPayload("intercom: body is not JSON") from None
    if not isinstance(body, dict) or body.get("type") != "notification_event":
        raise MalformedPayload("intercom: not a notification_event")
    if not isinstance(body.get("topic"), str) or not body["topic"]:
        raise MalformedPayload("intercom: topic missing")
    if not isinstance(_dict(body.get("data")).get("item"), dict):
        raise MalformedPayload("intercom: data.item missing")
    return body


def _event_id(body: dict, raw: bytes) -> str:
    """The notification id; a ping without one gets a stable id derived from its bytes."""
    event_id = _id(body.get("id"))
    if event_id:
        return event_id
    if body["topic"] == PING:
        return "ping:" + hashlib.sha256(raw).hexdigest()[:32]
    raise MalformedPayload("intercom: notification id missing")


def _parts(item: dict) -> list[dict]:
    """The conversation parts the notification carries."""
    return [p for p in _list(_dict(item.get("conversation_parts")).get("conversation_parts")) if isinstance(p, dict)]


def _turns(item: dict, source: dict, parts: list[dict], *, email: bool) -> tuple[Turn, ...]:
    """The source message (the conversation's first turn) and the parts that are speech, in order."""
    first = _turn(source, _id(source.get("id")), item.get("created_at"), email=email)
    rest = (_turn(p, _id(p.get("id")), p.get("created_at"), email=email)
            for p in parts if p.get("part_type") not in SKIPPED_PARTS)
    return tuple(t for t in (first, *rest) if t is not None)


def _turn(message: dict, turn_id: str | None, at: Any, *, email: bool) -> Turn | None:
    """One message as a turn; None when it is redacted, blank or by an unknown kind of author."""
    speaker = _speaker(message.get("author"))
    body = message.get("body") if isinstance(message.get("body"), str) else ""
    if speaker is None or message.get("redacted") or not body.strip():
        return None
    text = clean_message(body) if email else html_to_text(body)
    return Turn(speaker, text, at=_time(at), id=turn_id) if text else None


def _speaker(author: Any) -> str | None:
    """customer, agent or bot from a part author; AI-agent answers are the bot's."""
    author = _dict(author)
    if author.get("from_ai_agent") is True:
        return "bot"
    return SPEAKERS.get(author.get("type"))


def _customer(item: dict, source: dict, parts: list[dict]) -> tuple[CustomerRef, dict]:
    """Who the customer is (first contact, customer-authored email/name) and that contact reference."""
    contact = next((c for c in _list(_dict(item.get("contacts")).get("contacts")) if isinstance(c, dict)), {})
    authors = [a for a in (_dict(m.get("author")) for m in (source, *parts)) if _speaker(a) == "customer"]
    email = next((e for e in (_text(a.get("email")) for a in authors) if e), None)
    name = next((n for n in (_text(a.get("name")) for a in authors) if n), None)
    provider_id = _id(contact.get("id")) or next((i for i in (_id(a.get("id")) for a in authors) if i), None)
    return CustomerRef(email=email, name=name, provider_id=provider_id), contact


def _direction(source: dict) -> str | None:
    """inbound when the customer started the conversation, outbound when a teammate, bot or campaign did."""
    delivered_as = source.get("delivered_as")
    if isinstance(delivered_as, str) and delivered_as:
        return "inbound" if delivered_as in INBOUND_STARTS else "outbound"
    speaker = _speaker(source.get("author"))
    return None if speaker is None else "inbound" if speaker == "customer" else "outbound"


def _link(app_id: Any, conversation_id: str) -> str | None:
    """A link to the conversation in Intercom's inbox (format unconfirmed)."""
    app = _id(app_id)
    return f"https://app.intercom.com/a/apps/{quote(app, safe='')}/conversations/{quote(conversation_id, safe='')}" \
        if app else None


def _time(value: Any) -> datetime | None:
    """Unix seconds as an aware UTC datetime; None when absent or out of range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _id(value: Any) -> str | None:
    """An identifier as text (Intercom sends strings, older payloads numbers); None when blank."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return (value.strip() or None) if isinstance(value, str) else None


def _text(value: Any) -> str | None:
    """A non-blank string, stripped."""
    return (value.strip() or None) if isinstance(value, str) else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _present(**values: str | None) -> dict[str, str]:
    """The source ids that are known."""
    return {k: v for k, v in values.items() if v}
