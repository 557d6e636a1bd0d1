"""Freshdesk inbound connector: automation-rule webhooks, authenticated by a shared token.

Freshdesk signs nothing. The rule's "Trigger webhook" action posts a JSON body the admin pastes
(docs/sources/freshdesk.md; keys in TEMPLATE_KEYS). The token comes as the `X-Undertone-Token`
header, as the password (or user) of basic auth, or as `?token=`; compared in constant time.

Doc facts ("unconfirmed" = inferred from examples or third-party code; watch these):
- {{ticket.id}}, .subject, .description, .url, .status, .source, .requester.name, .requester.email,
  .requester.phone, .latest_public_comment and {{triggered_event}} are in Freshdesk's own placeholder
  list and webhook tests (its old open-source code) and Zulip's integration. {{ticket.updated_at}},
  .created_at, .requester.id and .requester.mobile appear only in third-party templates. Date format
  unknown: ISO 8601 is read, anything else leaves the time unset.
- {{ticket.latest_public_comment}} renders "Author Name : <html>" (third-party sample): the prefix
  is cut and, when the rule sets no `author`, compared with the requester's name.
- {{triggered_event}} renders like "{ticket_action:created}" (Zulip's fixtures).
- Unconfirmed whether values are JSON-escaped in an "Advanced" JSON body. A quote in a customer's
  text could break the JSON: such a body is still accepted when its leading, quote-free fields
  (RECOVERABLE) can be read, and the text is then fetched by hydrate(). Free text goes last.
- Event id: DESIGN.md says ticket id + updated_at; a body digest is added because the placeholder's
  precision is unknown (two replies in one minute must stay two), and a redelivery keeps its id.
- Custom headers in the action are unconfirmed (basic auth and the URL are documented). The inbox
  stores request headers with each event except `Authorization`: prefer basic auth.
- API v2: basic auth `api_key:X`; `GET /api/v2/tickets/{id}?include=requester` (requester {id,
  name, email, phone, mobile}); `GET /api/v2/tickets/{id}/conversations` ({id, body, body_text,
  incoming, private, created_at}, oldest first, `per_page` up to 100).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

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
    constant_time_equal,
)
from connectors.http import ProviderAPI, ProviderError
from connectors.phones import to_e164
from connectors.text import clean_message

log = logging.getLogger(__name__)

TOKEN_HEADER = "x-undertone-token"
TOKEN_PARAM = "token"
MAX_TOKEN_CHARS = 512
CREATED, UPDATED = "ticket.created", "ticket.updated"
DESCRIPTION_TURN = "description"
MAX_CONVERSATION_PAGES = 10  # 100 conversations a page; a ticket with more is read up to here
# Template keys with short, quote-free values, read back from a body that is not valid JSON.
RECOVERABLE = ("ticket_id", "kind", "author", "updated_at", "created_at", "triggered_event", "status",
               "source", "ticket_url", "requester_id", "requester_name", "requester_email",
               "requester_phone", "requester_mobile", "group_name", "agent_name", "agent_email")
TEMPLATE_KEYS = RECOVERABLE + ("subject", "description", "latest_public_comment")
OUTBOUND = ("outbound email", "10")  # {{ticket.source}} of a ticket an agent opened by e-mail
CHANNELS = {"email": "email", "1": "email", "outbound email": "email", "10": "email", "chat": "chat", "7": "chat"}
_AUTHOR_PREFIX = re.compile(r"^\s*([^:<>\n]{1,120}?)\s+:\s+(?=<)")  # "Name : <div>..." (HTML follows)


class FreshdeskConnector(InboundConnector):
    """Freshdesk automation webhooks: ticket created and ticket updated (a new public reply)."""

    name = "freshdesk"
    sleep: Callable[[float], None] = staticmethod(time.sleep)  # how hydration waits between retries

    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureInvalid unless the header, basic auth or URL token is a configured secret."""
        offered = [t for t in (request.header(TOKEN_HEADER), *_basic(request.header("authorization")),
                               _query_token(request.url)) if t and len(t) <= MAX_TOKEN_CHARS]
        if not offered:
            raise SignatureInvalid("freshdesk: no token (X-Undertone-Token, basic auth or ?token=)")
        if not any(constant_time_equal(t.strip(), s) for t in offered for s in self.secrets):
            raise SignatureInvalid("freshdesk: token does not match")

    def events(self, request: WebhookRequest) -> list[InboundEvent]:
        """One event per delivery, id `<ticket id>:<updated_at>:<body digest>`."""
        payload = _load(request.body)
        stamp = _field(payload, "updated_at") or "-"
        event_id = f"{_ticket_id(payload)}:{stamp[:64]}:{hashlib.sha256(request.body).hexdigest()[:12]}"
        return [InboundEvent(event_id=event_id, event_type=_kind(payload), body=request.body)]

    def handles(self, event_type: str) -> bool:
        """Both kinds the template sends carry customer words (description or latest reply)."""
        return event_type in (CREATED, UPDATED)

    def parse(self, event: InboundEvent) -> list[Interaction | Touch]:
        """The ticket's thread with the description (created) or the latest public reply (updated); an agent's
        reply is also a touch."""
        payload = _load(event.body)
        ticket_id, created = _ticket_id(payload), _kind(payload) == CREATED
        turn = _turn(payload, created)
        item = Interaction(
            source=self.name, thread_key=f"ticket:{ticket_id}", channel=CHANNELS.get(_source(payload), "ticket"),
            customer=_customer(payload),
            direction=("outbound" if _source(payload) in OUTBOUND else "inbound") if created else None,
            occurred_at=_time(_field(payload, "created_at")), turns=(turn,) if turn else None, append_turns=True,
            source_ids={"ticket_id": ticket_id}, url=self._url(payload, ticket_id), **_line_agent(payload),
        )
        if turn is None or turn.speaker != "agent" or turn.id == DESCRIPTION_TURN:
            return [item]
        return [item, Touch(source=self.name, kind="agent_reply", external_id=f"ticket:{ticket_id}:{turn.id}",
                            occurred_at=turn.at, customer=item.customer, thread_key=item.thread_key,
                            line=item.line, agent=item.agent)]

    def hydrate(self, items: list, event: InboundEvent) -> list:
        """Fetch the requester and the text when the rule's body lacked them (a GET or two per ticket)."""
        todo = [i for i in items if isinstance(i, Interaction) and (i.turns is None or not _reachable(i.customer))]
        if not todo:
            return items
        api = self._api()
        if api is None:
            log.info("freshdesk: API credentials not configured; webhook data used as is")
            return items
        created = event.event_type == CREATED
        return [self._hydrated(api, i, created) if any(i is t for t in todo) else i for i in items]

    def _hydrated(self, api: ProviderAPI, item: Interaction, created: bool) -> Interaction:
        """The interaction with the requester's details and, if missing, the turn from the API."""
        ticket_id = item.source_ids["ticket_id"]
        wants_ticket = not _reachable(item.customer) or (item.turns is None and created)
        ticket = _get(api, f"/api/v2/tickets/{ticket_id}", {"include": "requester"}) if wants_ticket else None
        turns = item.turns
        if turns is None:
            turn = _description_turn(ticket) if created else _latest_turn(_conversations(api, ticket_id))
            turns = (turn,) if turn else None
        return replace(item, customer=_with_requester(item.customer, ticket), turns=turns)

    def _url(self, payload: dict, ticket_id: str) -> str | None:
        """{{ticket.url}} when it is a web link, else the agent UI link under the API base URL."""
        url = _field(payload, "ticket_url")
        if url and urlsplit(url).scheme in ("http", "https"):
            return url
        base = (self.api.get("base_url") or "").rstrip("/")
        return f"{base}/a/tickets/{ticket_id}" if base else None

    def _api(self) -> ProviderAPI | None:
        """A client for API v2 with basic auth `api_key:X`; None without credentials."""
        base, key = self.api.get("base_url"), self.api.get("api_key")
        return ProviderAPI(base_url=base, auth=(key, "X"), sleep=self.sleep) if base and key else None


def _basic(header: str | None) -> tuple[str | None, str | None]:
    """(user, password) of a basic Authorization header; (None, None) when absent or unreadable."""
    scheme, _, encoded = (header or "").strip().partition(" ")
    if scheme.lower() != "basic" or len(encoded) > 2 * MAX_TOKEN_CHARS:
        return None, None
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, ValueError):
        return None, None
    return user, password


def _query_token(url: str) -> str | None:
    """`?token=` from the URL Freshdesk posted to."""
    values = parse_qs(urlsplit(url or "").query).get(TOKEN_PARAM)
    return values[0] if values else None


def _load(raw: bytes) -> dict:
    """The rule's JSON object; a body that is not JSON keeps only its recoverable leading fields."""
    try:
        payload = json.loads(raw)
    except ValueError:  # includes UnicodeDecodeError
        payload = _recover(raw)
    if not isinstance(payload, dict):
        raise MalformedPayload("freshdesk: body is not a JSON object")
    return payload


def _recover(raw: bytes) -> dict:
    """Template fields with quote-free values from a body whose free text broke the JSON."""
    text = raw.decode("utf-8", errors="replace")
    found = {}
    for key in RECOVERABLE:
        match = re.search(rf'"{key}"\s*:\s*"([^"\\]{{0,300}})"', text)
        if match:
            found[key] = match.group(1)
    if "ticket_id" not in found:
        raise MalformedPayload("freshdesk: body is not JSON")
    return found


def _field(payload: dict, key: str) -> str | None:
    """A template value as a stripped string; None when empty or left as an unrendered placeholder."""
    value = payload.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or value.strip().startswith("{{"):
        return None
    return value.strip()


def _ticket_id(payload: dict) -> str:
    """The ticket id, digits only; MalformedPayload without it."""
    ticket_id = _field(payload, "ticket_id")
    if not ticket_id or not ticket_id.isdigit() or len(ticket_id) > 20:
        raise MalformedPayload("freshdesk: ticket_id missing")
    return ticket_id


def _kind(payload: dict) -> str:
    """ticket.created or ticket.updated, from the rule's `kind`, else from {{triggered_event}}."""
    kind = (_field(payload, "kind") or "").lower()
    if kind in ("created", "updated"):
        return f"ticket.{kind}"
    return CREATED if "ticket_action:created" in (_field(payload, "triggered_event") or "") else UPDATED


def _turn(payload: dict, created: bool) -> Turn | None:
    """The description (created) or the latest public reply without its "Name : " prefix (updated)."""
    raw = _field(payload, "description" if created else "latest_public_comment") or ""
    prefix = None if created else _AUTHOR_PREFIX.match(raw)
    text = clean_message(raw[prefix.end():] if prefix else raw)
    if not text:
        return None
    speaker = _speaker(payload, prefix.group(1) if prefix else None, created)
    opening = created or _same_text(text, clean_message(_field(payload, "description") or ""))
    turn_id = DESCRIPTION_TURN if opening else "c:" + _digest(f"{speaker}\0{' '.join(text.split())}")
    return Turn(speaker, text, at=_time(_field(payload, "created_at" if created else "updated_at")), id=turn_id)


def _source(payload: dict) -> str:
    """{{ticket.source}} lower-cased: a name such as "email" or its number (unconfirmed which)."""
    return (_field(payload, "source") or "").lower()


def _speaker(payload: dict, prefix_name: str | None, created: bool) -> str:
    """The rule's `author`; else the comment's author name against the requester's; else customer."""
    author = (_field(payload, "author") or "").lower()
    if author in ("agent", "customer"):
        return author
    if created:
        return "agent" if _source(payload) in OUTBOUND else "customer"
    requester = _field(payload, "requester_name")
    if prefix_name and requester and " ".join(prefix_name.split()).lower() != " ".join(requester.split()).lower():
        return "agent"
    return "customer"


def _line_agent(payload: dict) -> dict:
    """line `freshdesk:group:<group name>` and agent `freshdesk:<agent e-mail>` from the rule's group and agent
    fields ({{ticket.group.name}}, {{ticket.agent.name}}, {{ticket.agent.email}}); the webhook carries no ids."""
    group, agent = _field(payload, "group_name"), (_field(payload, "agent_email") or "").lower() or None
    found = {"line": f"freshdesk:group:{group}" if group else None, "line_name": _field(payload, "group_name"),
             "agent": f"freshdesk:{agent}" if agent else None, "agent_name": _field(payload, "agent_name")}
    return {k: v for k, v in found.items() if v}


def _customer(payload: dict) -> CustomerRef:
    """The requester as the template names them."""
    requester_id = _field(payload, "requester_id")
    return CustomerRef(
        phone=to_e164(_field(payload, "requester_phone")) or to_e164(_field(payload, "requester_mobile")),
        email=_field(payload, "requester_email"), name=_field(payload, "requester_name"),
        provider_id=requester_id if requester_id and requester_id.isdigit() else None,
    )


def _reachable(customer: CustomerRef) -> bool:
    """Whether the CRM can find this customer (an email or a phone)."""
    return bool(customer.email or customer.phone)


def _get(api: ProviderAPI, path: str, params: dict | None = None) -> Any:
    """GET JSON; None when the record is gone (404). 401/403 and exhausted 429/5xx raise."""
    try:
        return api.get_json(path, params=params)
    except ProviderError as exc:
        if exc.status == 404:
            log.info("freshdesk: %s not found; keeping what the webhook carried", path)
            return None
        raise
    except ValueError:
        raise ProviderError("freshdesk: API answered non-JSON", retryable=True) from None


def _conversations(api: ProviderAPI, ticket_id: str) -> list:
    """All conversations of a ticket, oldest first, up to MAX_CONVERSATION_PAGES pages."""
    found: list = []
    for page in range(1, MAX_CONVERSATION_PAGES + 1):
        batch = _get(api, f"/api/v2/tickets/{ticket_id}/conversations", {"per_page": 100, "page": page})
        if not isinstance(batch, list):
            break
        found.extend(c for c in batch if isinstance(c, dict))
        if len(batch) < 100:
            break
    return found


def _latest_turn(conversations: list) -> Turn | None:
    """The newest public conversation as a turn: customer when incoming, else agent."""
    for conversation in reversed([c for c in conversations if c.get("private") is not True]):
        text = _clean(conversation.get("body"), conversation.get("body_text"))
        if text:
            speaker = "customer" if conversation.get("incoming") is True else "agent"
            return Turn(speaker, text, at=_time(conversation.get("created_at")), id=_int_id(conversation.get("id")))
    return None


def _description_turn(ticket: Any) -> Turn | None:
    """The ticket's description as the opening turn, from the API's ticket record."""
    if not isinstance(ticket, dict):
        return None
    text = _clean(ticket.get("description"), ticket.get("description_text"))
    return Turn("customer", text, at=_time(ticket.get("created_at")), id=DESCRIPTION_TURN) if text else None


def _with_requester(customer: CustomerRef, ticket: Any) -> CustomerRef:
    """The customer with the API's requester details filled in where the webhook had none."""
    requester = ticket.get("requester") if isinstance(ticket, dict) else None
    if not isinstance(requester, dict):
        return customer
    get = lambda key: _field(requester, key)  # noqa: E731 (a one-line accessor)
    return CustomerRef(
        phone=customer.phone or to_e164(get("phone")) or to_e164(get("mobile")),
        email=customer.email or get("email"), name=customer.name or get("name"),
        provider_id=customer.provider_id or _int_id(requester.get("id")),
    )


def _clean(html: Any, plain: Any) -> str:
    """Cleaned text of an HTML body, else of its plain-text twin; '' when neither is a string."""
    if isinstance(html, str) and html.strip():
        return clean_message(html)
    return clean_message(plain, is_html=False) if isinstance(plain, str) else ""


def _int_id(value: Any) -> str | None:
    """An API id (an integer) as a string; None otherwise."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _same_text(a: str, b: str) -> bool:
    """Equal after collapsing whitespace; empty text never matches."""
    return bool(a) and " ".join(a.split()) == " ".join(b.split())


def _digest(text: str) -> str:
    """A short stable id for a turn that has no provider id."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _time(value: Any) -> datetime | None:
    """An ISO 8601 time as aware UTC (naive means UTC); None for any other format."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
