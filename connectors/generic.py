"""The generic source: our own documented JSON shape, signed with Standard Webhooks.

For anything that is not a phone system or help desk: surveys, reviews, forms, e-mail tools, or a
script of your own. Also the row format of `undertone import` (backfill), which reuses `to_interaction`.
The shape is documented in docs/sources/generic.md.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from connectors import standard_webhooks
from connectors.base import (
    CHANNELS,
    SPEAKERS,
    CustomerRef,
    InboundConnector,
    InboundEvent,
    Interaction,
    MalformedPayload,
    Turn,
    WebhookRequest,
)
from connectors.payload import json_object
from connectors.phones import to_e164

EVENT_TYPE = "interaction"
DIRECTIONS = ("inbound", "outbound")


class GenericConnector(InboundConnector):
    """`POST /webhooks/generic`: one interaction (or one update to a thread) per delivery."""

    name = "generic"

    def __init__(self, secrets=(), **options: Any):
        super().__init__(secrets, **options)
        self._keys = tuple(standard_webhooks.decode_key(s, self.name) for s in self.secrets)

    def verify(self, request: WebhookRequest) -> None:
        standard_webhooks.verify(request, self._keys, clock=self.clock, tolerance_s=self.tolerance_s, source=self.name)

    def events(self, request: WebhookRequest) -> list[InboundEvent]:
        """The dedupe id is the body's `id` when given (stable across resends), else `webhook-id`."""
        document = load(request.body)
        validate(document)
        event_id = str(document.get("id") or request.header("webhook-id") or "")
        if not event_id:
            raise MalformedPayload("generic: no id in the body and no webhook-id header")
        return [InboundEvent(event_id=event_id, event_type=document.get("type", EVENT_TYPE), body=request.body)]

    def handles(self, event_type: str) -> bool:
        return event_type == EVENT_TYPE

    def parse(self, event: InboundEvent) -> list[Interaction]:
        return [to_interaction(load(event.body), self.name, event.event_id)]


def load(raw: bytes) -> dict:
    """The JSON object of one delivery; MalformedPayload for anything else."""
    document = json_object(raw, "generic")
    return document


def validate(document: dict) -> None:
    """Check the documented shape up front, so a bad delivery gets a 400 rather than a failed job."""
    to_interaction(document, "generic", str(document.get("id") or "validation"))


def to_interaction(document: dict, source: str, fallback_id: str) -> Interaction:
    """Build the Interaction a generic document describes (also used for imported rows)."""
    if document.get("type", EVENT_TYPE) != EVENT_TYPE:
        raise MalformedPayload(f"generic: unknown type {document.get('type')!r}")
    channel = document.get("channel", "review")
    if channel not in CHANNELS:
        raise MalformedPayload(f"generic: channel must be one of {', '.join(CHANNELS)}")
    direction = document.get("direction", "inbound")
    if direction not in DIRECTIONS:
        raise MalformedPayload("generic: direction must be inbound or outbound")
    customer = _customer(document.get("contact"))
    turns = _turns(document)
    if not turns and not document.get("summary"):
        raise MalformedPayload("generic: give `text`, `turns` or `summary`")
    thread = str(document.get("thread_id") or document.get("id") or fallback_id)
    return Interaction(
        source=source, thread_key=f"{channel}:{thread}", channel=channel, customer=customer,
        direction=direction, occurred_at=parse_time(document.get("occurred_at")), turns=turns or None,
        summary=_text_or_none(document.get("summary")), url=_text_or_none(document.get("url")),
        source_ids={"id": str(document["id"])} if document.get("id") else {},
        append_turns=bool(document.get("append", False)), **_line_agent(document),
    )


PEOPLE_FIELDS = {"line": 128, "line_name": 255, "agent": 128, "agent_name": 255}  # name -> most characters


def _line_agent(document: dict) -> dict:
    """The optional `line`, `line_name`, `agent`, `agent_name` strings, stored as given (a `+` number in E.164)."""
    found = {}
    for name, limit in PEOPLE_FIELDS.items():
        value = document.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, (str, int)) or isinstance(value, bool) or len(str(value).strip()) > limit:
            raise MalformedPayload(f"generic: {name} must be a string of at most {limit} characters")
        if str(value).strip():
            found[name] = str(value).strip()
    if found.get("line", "").startswith("+"):  # a business number: E.164, as phone sources store it
        found["line"] = to_e164(found["line"]) or found["line"]
    return found


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (a trailing Z allowed) or epoch seconds; naive times are taken as UTC."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise MalformedPayload(f"generic: occurred_at {value!r} is not ISO 8601 or epoch seconds") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _customer(contact: Any) -> CustomerRef:
    if contact is None:
        return CustomerRef()
    if not isinstance(contact, dict):
        raise MalformedPayload("generic: contact must be an object")
    phone = contact.get("phone")
    e164 = to_e164(str(phone)) if phone else None
    if phone and e164 is None:
        raise MalformedPayload(f"generic: contact.phone {phone!r} is not a phone number")
    return CustomerRef(phone=e164, email=_text_or_none(contact.get("email")), name=_text_or_none(contact.get("name")),
                       provider_id=_text_or_none(contact.get("id")))


def _turns(document: dict) -> tuple[Turn, ...]:
    if document.get("text"):
        return (Turn("customer", str(document["text"]), parse_time(document.get("occurred_at")), document.get("id")),)
    raw = document.get("turns") or []
    if not isinstance(raw, list):
        raise MalformedPayload("generic: turns must be a list")
    return tuple(_turn(t, i) for i, t in enumerate(raw))


def _turn(entry: Any, index: int) -> Turn:
    if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
        raise MalformedPayload(f"generic: turns[{index}] needs a text")
    speaker = entry.get("speaker", "customer")
    if speaker not in SPEAKERS:
        raise MalformedPayload(f"generic: turns[{index}].speaker must be one of {', '.join(SPEAKERS)}")
    return Turn(speaker, entry["text"], parse_time(entry.get("at")), _text_or_none(entry.get("id")))


def _text_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


class ImportConnector(GenericConnector):
    """Rows of `undertone import`: parsed like generic deliveries, never accepted over the web."""

    name = "import"

    def verify(self, request: WebhookRequest) -> None:
        from connectors.base import SignatureInvalid

        raise SignatureInvalid("import: history is imported with `undertone import`, not by webhook")
