"""Zendesk inbound connector: verify, split and parse event-subscription webhooks about ticket comments.

Doc facts ("unconfirmed" = inferred from examples or third-party code; watch these):
- Signature (developer.zendesk.com/documentation/webhooks/verifying): `X-Zendesk-Webhook-Signature` =
  base64(HMAC-SHA256(secret, TIMESTAMP + BODY)) with `X-Zendesk-Webhook-Signature-Timestamp`; the
  key is the signing secret's text as is (the Node example passes the string; not base64-decoded).
  An older copy of that page says `(BODY)(TIMESTAMP)` and its worked example really does match
  body+timestamp (checked by hand); the current page, DESIGN.md and every integration we read use
  timestamp+body, so that is what we verify. If real deliveries fail, look here first.
- Timestamp format (anatomy-of-a-webhook-request): ISO 8601 such as `2021-03-25T05:09:27Z`.
  Zendesk documents no replay window: `tolerance_s` (300 s) applies both ways, our own choice.
- Rotation: Zendesk has one secret per webhook; several configured secrets are all tried.
- Event webhooks (api-reference/webhooks/event-types/ticket-events): `{type, id, time, subject:
  "zen:ticket:<id>", zendesk_event_version, detail: {...}, event: {...}}`; `detail` lists id,
  requester_id, submitter_id, description, created_at, via.channel... Ids arrive as strings in the
  examples we saw (both forms are accepted). The `ticket.comment_added` event object
  `{comment: {id, body, is_public, author: {id, is_staff, name}}}` comes from a third-party schema
  copied from the docs (dust-tt/dust): unconfirmed. Whether `comment.body` is HTML or plain text is
  unconfirmed: it goes through `clean_message` either way.
- Unconfirmed: whether `comment_added` also fires for the ticket's first comment (the description).
  `ticket.created` brings the description as turn `description`; a comment whose cleaned text equals
  the ticket's description reuses that turn id, so the opening message is stored once either way.
- Private comments (internal notes) are dropped in parse(): they are not the customer's words and
  copying internal-only text elsewhere is not ours to decide.
- Trigger/automation webhooks (user-defined bodies, no event id) are not supported; they answer 400.
- Hydration: `GET /api/v2/users/{id}.json` with basic auth `{email}/token:{api_token}` answers
  `{user: {id, name, email, phone, ...}}`; 429 carries Retry-After (honoured by ProviderAPI).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable

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
from connectors.payload import json_object
from connectors.phones import to_e164
from connectors.text import clean_message

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-zendesk-webhook-signature"
TIMESTAMP_HEADER = "x-zendesk-webhook-signature-timestamp"
MAX_HEADER_CHARS = 200  # a SHA-256 digest is 44 base64 characters, an ISO timestamp about 30
COMMENT_ADDED = "zen:event-type:ticket.comment_added"
TICKET_CREATED = "zen:event-type:ticket.created"
HANDLED = frozenset({COMMENT_ADDED, TICKET_CREATED})
DESCRIPTION_TURN = "description"  # the ticket's opening message, whichever event brings it
CHANNELS = {"email": "email", "chat": "chat", "native_messaging": "chat", "messaging": "chat", "sms": "sms",
            "voice": "call"}
_SUBJECT = re.compile(r"^zen:ticket:(\d+)$")


class ZendeskConnector(InboundConnector):
    """Zendesk event webhooks: ticket created and comment added, signed with the webhook's secret."""

    name = "zendesk"
    sleep: Callable[[float], None] = staticmethod(time.sleep)  # how hydration waits between retries

    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureInvalid unless a configured secret signed timestamp + body, recently."""
        signature, stamp = request.header(SIGNATURE_HEADER), request.header(TIMESTAMP_HEADER)
        if not signature or not stamp:
            raise SignatureInvalid("zendesk: signature headers missing")
        if len(signature) > MAX_HEADER_CHARS or len(stamp) > MAX_HEADER_CHARS:
            raise SignatureInvalid("zendesk: signature header too long")
        if not self._fresh(stamp):
            raise SignatureInvalid("zendesk: timestamp invalid or outside tolerance")
        digest = _b64(signature.strip())
        signed = stamp.encode() + request.body
        expected = (hmac.new(s.encode(), signed, hashlib.sha256).digest() for s in self.secrets)
        if digest is None or not any(hmac.compare_digest(e, digest) for e in expected):
            raise SignatureInvalid("zendesk: no matching signature")

    def events(self, request: WebhookRequest) -> list[InboundEvent]:
        """One event per delivery; its id is the body `id`, stable across Zendesk's retries."""
        body = _load(request.body)
        if body["type"] in HANDLED:
            _ticket_id(body)  # a ticket event we use must name its ticket: refuse it now, not in a worker
        return [InboundEvent(event_id=body["id"], event_type=body["type"], body=request.body)]

    def handles(self, event_type: str) -> bool:
        """Ticket created and comment added carry customer words; every other type is ignored."""
        return event_type in HANDLED

    def parse(self, event: InboundEvent) -> list[Interaction | Touch]:
        """The ticket interaction this event adds to (and an agent's reply as a touch); [] for unused types
        and internal notes."""
        body = _load(event.body)
        if body["type"] == COMMENT_ADDED:
            return self._comment(body)
        if body["type"] == TICKET_CREATED:
            return [self._created(body)]
        return []

    def hydrate(self, items: list, event: InboundEvent) -> list:
        """Add the requester's email, phone and name from the Users API (the webhook has only the id)."""
        ids = {i.customer.provider_id for i in items if isinstance(i, Interaction) and i.customer.provider_id}
        if not ids:
            return items
        api = self._api()
        if api is None:
            log.info("zendesk: API credentials not configured; requester details not fetched")
            return items
        users = {user_id: self._user(api, user_id) for user_id in sorted(ids)}
        return [_named(api, _with_user(i, users.get(i.customer.provider_id))) if isinstance(i, Interaction) else i
                for i in items]

    def _fresh(self, stamp: str) -> bool:
        """Whether an ISO 8601 timestamp lies within `tolerance_s` of the clock, either way."""
        at = _time(stamp)
        return at is not None and abs(self.clock() - at.timestamp()) <= self.tolerance_s

    def _comment(self, body: dict) -> list[Interaction | Touch]:
        """ticket.comment_added: one appended turn, customer unless the author is staff."""
        detail, comment = _detail(body), _object(body.get("event"), "event").get("comment")
        comment = _object(comment, "event.comment")
        if comment.get("is_public") is False:
            return []
        author = comment.get("author") if isinstance(comment.get("author"), dict) else {}
        text = clean_message(_text(comment.get("body")))
        opening = text and _same_text(text, clean_message(_text(detail.get("description"))))
        turn_id = DESCRIPTION_TURN if opening else _id(comment.get("id"))
        speaker = "agent" if author.get("is_staff") is True else "customer"
        by_requester = _id(author.get("id")) is not None and _id(author.get("id")) == _id(detail.get("requester_id"))
        turn = Turn(speaker, text, at=_time(body.get("time")), id=turn_id)
        item = self._interaction(body, detail, turn, author.get("name") if by_requester else None)
        author_id, author_name = _id(author.get("id")), _text(author.get("name")).strip() or None
        if speaker != "agent" or not text or not turn_id:
            return [item]
        if author_id is not None and f"{self.name}:{author_id}" == item.agent and author_name:
            item = replace(item, agent_name=author_name)  # the assignee wrote it: now we know their name
        touch = Touch(source=self.name, kind="agent_reply", external_id=f"comment:{turn_id}", occurred_at=turn.at,
                      customer=item.customer, thread_key=item.thread_key, line=item.line,
                      agent=f"{self.name}:{author_id}" if author_id else item.agent)
        return [item, touch]

    def _created(self, body: dict) -> Interaction:
        """ticket.created: the description as the opening turn, and who opened the ticket."""
        detail = _detail(body)
        requester, submitter = _id(detail.get("requester_id")), _id(detail.get("submitter_id"))
        by_requester = submitter is None or submitter == requester
        text = clean_message(_text(detail.get("description")))
        turn = Turn("customer" if by_requester else "agent", text, at=_time(detail.get("created_at")),
                    id=DESCRIPTION_TURN)
        item = self._interaction(body, detail, turn, None)
        return replace(item, direction="inbound" if by_requester else "outbound")

    def _interaction(self, body: dict, detail: dict, turn: Turn, name: str | None) -> Interaction:
        """The ticket's thread with one turn to append (none when the text is empty)."""
        ticket_id, requester = _ticket_id(body), _id(detail.get("requester_id"))
        via = detail.get("via") if isinstance(detail.get("via"), dict) else {}
        return Interaction(
            source=self.name, thread_key=f"ticket:{ticket_id}",
            channel=CHANNELS.get(str(via.get("channel") or "").lower(), "ticket"),
            customer=CustomerRef(name=name if isinstance(name, str) and name.strip() else None, provider_id=requester),
            occurred_at=_time(detail.get("created_at")),
            turns=(turn,) if turn.text else None, append_turns=True,
            source_ids={k: v for k, v in (("ticket_id", ticket_id), ("requester_id", requester)) if v},
            url=self._url(ticket_id), **_line_agent(detail),
        )

    def _url(self, ticket_id: str) -> str | None:
        """The agent UI link, when the account's base URL is configured."""
        base = (self.api.get("base_url") or "").rstrip("/")
        return f"{base}/agent/tickets/{ticket_id}" if base else None

    def _api(self) -> ProviderAPI | None:
        """A client for the Support API with token basic auth; None without credentials."""
        base, email, token = (self.api.get(k) for k in ("base_url", "email", "api_token"))
        if not (base and email and token):
            return None
        return ProviderAPI(base_url=base, auth=(f"{email}/token", token), sleep=self.sleep)

    def _user(self, api: ProviderAPI, user_id: str) -> dict | None:
        """The user record; None when Zendesk no longer has it (404). 401/403/429/5xx raise."""
        try:
            found = api.get_json(f"/api/v2/users/{user_id}.json")
        except ProviderError as exc:
            if exc.status == 404:
                log.info("zendesk: user %s not found; keeping the webhook's id only", user_id)
                return None
            raise
        except ValueError:
            raise ProviderError("zendesk: users API answered non-JSON", retryable=True) from None
        user = found.get("user") if isinstance(found, dict) else None
        return user if isinstance(user, dict) else None


def _named(api: ProviderAPI, item: Interaction) -> Interaction:
    """The brand's (or group's) and the assignee's names from the API, where the webhook gave only ids."""
    kind, _, line_id = (item.line or "").removeprefix("zendesk:").partition(":")
    line_name = item.line_name
    if line_id and not line_name and kind in ("brand", "group"):
        line_name = names.lookup(api, f"/api/v2/{kind}s/{line_id}.json", lambda found: _name_of(found, kind))
    agent_name = item.agent_name
    if item.agent and not agent_name:
        user_id = item.agent.removeprefix("zendesk:")
        agent_name = names.lookup(api, f"/api/v2/users/{user_id}.json", lambda found: _name_of(found, "user"))
    return replace(item, line_name=line_name, agent_name=agent_name)


def _name_of(found: object, key: str) -> object:
    """`found[key].name` of an API answer such as {"brand": {"name": ...}}."""
    record = found.get(key) if isinstance(found, dict) else None
    return record.get("name") if isinstance(record, dict) else None


def _line_agent(detail: dict) -> dict:
    """line `zendesk:brand:<id>` (else `zendesk:group:<id>`), agent `zendesk:<assignee id>`."""
    brand, group, assignee = (_id(detail.get(k)) for k in ("brand_id", "group_id", "assignee_id"))
    found = {"line": f"zendesk:brand:{brand}" if brand else f"zendesk:group:{group}" if group else None,
             "agent": f"zendesk:{assignee}" if assignee else None}
    return {k: v for k, v in found.items() if v}


def _with_user(item: Interaction, user: dict | None) -> Interaction:
    """The interaction with the requester's details added; stored values are never blanked."""
    if not user:
        return item
    old = item.customer
    email, name = user.get("email"), user.get("name")
    return replace(item, customer=CustomerRef(
        phone=to_e164(user.get("phone")) or old.phone,
        email=email.strip() if isinstance(email, str) and email.strip() else old.email,
        name=name.strip() if isinstance(name, str) and name.strip() else old.name,
        provider_id=old.provider_id,
    ))


def _b64(value: str) -> bytes | None:
    """Strictly decoded base64, or None when the text is not base64."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _load(raw: bytes) -> dict:
    """The event envelope with a string `type` and `id`; else MalformedPayload."""
    body = json_object(raw, "zendesk")
    for key in ("type", "id"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            raise MalformedPayload(f"zendesk: {key} missing (trigger webhooks are not supported)")
    return body


def _object(value: Any, where: str) -> dict:
    """A JSON object the event needs; MalformedPayload otherwise."""
    if not isinstance(value, dict):
        raise MalformedPayload(f"zendesk: {where} missing")
    return value


def _detail(body: dict) -> dict:
    """The ticket snapshot every ticket event carries."""
    return _object(body.get("detail"), "detail")


def _ticket_id(body: dict) -> str:
    """The ticket id from `detail.id`, else from `subject` (zen:ticket:<id>); digits only."""
    detail = body.get("detail") if isinstance(body.get("detail"), dict) else {}
    subject = _SUBJECT.match(body.get("subject") or "") if isinstance(body.get("subject"), str) else None
    ticket_id = _id(detail.get("id")) or (subject.group(1) if subject else None)
    if ticket_id is None:
        raise MalformedPayload("zendesk: ticket id missing")
    return ticket_id


def _id(value: Any) -> str | None:
    """A numeric id sent as a number or a string, as a string; None otherwise."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, (int, str)) else ""
    return text if text.isdigit() and len(text) <= 20 else None


def _text(value: Any) -> str:
    """A string field, or '' when absent or of another type."""
    return value if isinstance(value, str) else ""


def _same_text(a: str, b: str) -> bool:
    """Equal after collapsing whitespace (the description and the first comment may differ in layout)."""
    return " ".join(a.split()) == " ".join(b.split())


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time as aware UTC (naive means UTC); None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())  # Zendesk sends nanoseconds; Python reads micro
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
