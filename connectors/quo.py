"""Quo (formerly OpenPhone) inbound connector: verify, split and parse call and text webhooks.

Two webhook generations exist and the headers tell them apart: legacy ("classic") deliveries carry
`openphone-signature`; 2026 deliveries carry Standard Webhooks headers (`webhook-id`,
`webhook-timestamp`, `webhook-signature`). `self.secrets` may mix both kinds of key: a `whsec_...`
key only ever checks Standard Webhooks signatures, any other key only classic ones.

Doc facts ("unconfirmed" = inferred from examples or third-party write-ups; watch these):
- Classic: `openphone-signature: hmac;1;<timestamp>;<base64 digest>`, HMAC-SHA256 over
  `<timestamp>.<raw body>`, key = base64-decoded secret; "future versions may include multiple
  signatures separated by commas" (quo.com/docs/webhooks/legacy-signature-validation,
  support.quo.com/core-concepts/integrations/webhooks).
- Classic timestamp unit, unconfirmed: the only documented example, 1639710054089, is milliseconds;
  values below 1e11 are read as seconds. The legacy page asks to reject old timestamps but the copy
  we read stops before the limit: `tolerance_s` (300 s) applies both ways, as for 2026.
- 2026 (quo.com/docs/mdx/beta/webhooks-signature-validation, webhooks-quickstart): HMAC-SHA256 over
  `<webhook-id>.<webhook-timestamp>.<raw body>`, key = base64 after `whsec_`, timestamp in seconds,
  5 minutes either way. Checked by our own code: `standardwebhooks` 1.1.0 `verify` hard-codes the
  window, reads `datetime.now()` (no clock to inject) and lets ValueError/binascii.Error/
  UnicodeDecodeError escape on bad input. Tests sign with its `Webhook.sign`: each checks the other.
- `x-quo-api-version` is documented on management calls only (unconfirmed on deliveries): the
  signature headers decide the scheme; it counts only when no signature header is present.
- Legacy payloads (quo.com/docs/mdx/guides/webhooks, apiVersion "v4"): `{id, object, apiVersion,
  createdAt, type, data: {object}}`; call `{id, direction, status, createdAt, answeredAt,
  completedAt, duration, participants, phoneNumberId, userId}`; transcript `{callId, createdAt,
  dialogue: [{content, start, end, identifier, userId}], duration, status}`; summary `{callId,
  status, summary: [], nextSteps: []}`; message `{id, from, to: [], direction, text, status,
  createdAt, userId, phoneNumberId}`. Its samples type the transcript/summary envelopes
  "callTranscript"/"callSummary" (likely a slip): both spellings are accepted.
- `participants`, unconfirmed: the sample lists one (external) number; older "v3" samples carry
  `from`/`to` instead. One distinct number is the customer; several give None (cannot tell).
- 2026 bodies are `data: {resource, context, links}` (webhooks-differences-from-current); parse()
  reads both shapes. Their per-event fields (`context.participants.external`,
  `context.senderIdentifier`, `userId: null` on external speakers) come from a third-party digest of
  the beta payload page: unconfirmed.
- Body `id` is the event id, stable across retries and payload versions; `webhook-id` identifies the
  delivery, also stable across retries (webhooks-overview). DESIGN.md dedupes 2026 on `webhook-id`.
- Dialogue `start`/`end` are seconds from a call start the transcript does not carry: `Turn.at`
  stays None; order is kept.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from connectors import standard_webhooks
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
from connectors.payload import iso_time as _time
from connectors.payload import json_object
from connectors.phones import to_e164

CLASSIC_HEADER = "openphone-signature"
VERSION_HEADER = "x-quo-api-version"
WHSEC_PREFIX = standard_webhooks.WHSEC_PREFIX
MAX_SIGNATURES = 8  # a header listing more is not from Quo; bounds the HMAC work per request
MS_THRESHOLD = 10**11  # classic timestamps at or above this are milliseconds (1973 in ms, 5138 in s)

CALL_COMPLETED = "call.completed"
TRANSCRIPT = "call.transcript.completed"
SUMMARY = "call.summary.completed"
MESSAGE_RECEIVED = "message.received"
MESSAGE_DELIVERED = "message.delivered"  # an outgoing (business) text: recorded as a touch, never scored
ALIASES = {"callTranscript": TRANSCRIPT, "callSummary": SUMMARY}
HANDLED = frozenset({CALL_COMPLETED, TRANSCRIPT, SUMMARY, MESSAGE_RECEIVED, MESSAGE_DELIVERED})
DIRECTIONS = {"incoming": "inbound", "outgoing": "outbound"}


class QuoConnector(InboundConnector):
    """Quo webhooks: classic `openphone-signature` and 2026 Standard Webhooks deliveries."""

    name = "quo"

    def __init__(self, secrets: Iterable[str] = (), **options: Any):
        super().__init__(tuple(secrets), **options)
        decode = standard_webhooks.decode_key
        self._classic_keys = tuple(decode(s, self.name) for s in self.secrets if not s.startswith(WHSEC_PREFIX))
        self._standard_keys = tuple(decode(s, self.name) for s in self.secrets if s.startswith(WHSEC_PREFIX))

    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureInvalid unless a configured key of the request's scheme signed it."""
        scheme = _scheme(request)
        if scheme == "standard":
            self._verify_standard(request)
        elif scheme == "classic":
            self._verify_classic(request)
        else:
            raise SignatureInvalid("quo: no signature header")

    def events(self, request: WebhookRequest) -> list[InboundEvent]:
        """One event per delivery; its id is `webhook-id` (2026) or the body `id` (classic)."""
        body = _load(request.body)
        event_id = request.header("webhook-id") if _scheme(request) == "standard" else None
        event_id = event_id or body.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise MalformedPayload("quo: event id missing")
        return [InboundEvent(event_id=event_id, event_type=body["type"], body=request.body)]

    def handles(self, event_type: str) -> bool:
        """Calls (completed, transcript, summary), received and delivered texts; everything else is ignored."""
        return ALIASES.get(event_type, event_type) in HANDLED

    def parse(self, event: InboundEvent) -> list[Interaction | Touch]:
        """The interaction this event describes, and the touch of an outgoing text or call; [] when unused."""
        body = _load(event.body)
        kind = ALIASES.get(body["type"], body["type"])
        resource, context = _parts(body)
        if kind in (MESSAGE_RECEIVED, MESSAGE_DELIVERED) and (
                kind == MESSAGE_DELIVERED or DIRECTIONS.get(resource.get("direction")) == "outbound"):
            return self._outgoing_text(body, resource, context)
        builders = {CALL_COMPLETED: self._call, TRANSCRIPT: self._transcript,
                    SUMMARY: self._summary, MESSAGE_RECEIVED: self._message}
        builder = builders.get(kind)
        if builder is None:
            return []
        item = builder(body, resource, context)
        if kind == CALL_COMPLETED and item.direction == "outbound":
            touch = Touch(source=self.name, kind="outbound_call", external_id=item.thread_key,
                          occurred_at=item.occurred_at, customer=item.customer, thread_key=item.thread_key,
                          line=item.line, agent=item.agent)
            return [item, touch]
        return [item]

    def _verify_standard(self, request: WebhookRequest) -> None:
        """Standard Webhooks: fresh `webhook-timestamp` and one matching `v1,` signature."""
        standard_webhooks.verify(request, self._standard_keys, clock=self.clock, tolerance_s=self.tolerance_s,
                                 source=self.name)

    def _verify_classic(self, request: WebhookRequest) -> None:
        """Classic: any comma-separated `hmac;1;<ts>;<digest>` entry that is fresh and matches."""
        entries = (request.header(CLASSIC_HEADER) or "").split(",")[:MAX_SIGNATURES]
        if not any(self._classic_entry_ok(e.strip(), request.body) for e in entries):
            raise SignatureInvalid("quo: no valid openphone-signature")

    def _classic_entry_ok(self, entry: str, body: bytes) -> bool:
        """Whether one `hmac;1;<timestamp>;<digest>` entry is fresh and signed by a classic key."""
        fields = entry.split(";")
        if len(fields) != 4 or fields[0] != "hmac" or fields[1] != "1":
            return False
        stamp, digest = fields[2], fields[3]
        if not standard_webhooks.fresh(stamp, self.clock, self.tolerance_s, ms_threshold=MS_THRESHOLD):
            return False
        return standard_webhooks.hmac_matches(self._classic_keys, f"{stamp}.".encode() + body,
                                              [standard_webhooks.b64(digest)])

    def _call(self, body: dict, resource: dict, context: dict) -> Interaction:
        """call.completed: who, when, which direction; no words yet (turns=None)."""
        call_id = _required(resource, "id")
        return Interaction(
            source=self.name, thread_key=f"call:{call_id}", channel="call",
            customer=CustomerRef(phone=_call_customer(resource, context)),
            direction=DIRECTIONS.get(resource.get("direction")),
            occurred_at=_first_time(resource.get("createdAt"), resource.get("answeredAt"),
                                    resource.get("completedAt"), body.get("createdAt")),
            source_ids=_ids(call_id, resource, context), url=_link(body), **_line_agent(resource, context),
        )

    def _transcript(self, body: dict, resource: dict, context: dict) -> Interaction:
        """call.transcript.completed: turns by speaker; a turn with a `userId` is the business."""
        call_id = _required(resource, "callId")
        dialogue = resource.get("dialogue")  # None while a 2026 transcript is still processing
        readable = isinstance(dialogue, list) and all(isinstance(d, dict) for d in dialogue)
        if dialogue is not None and not readable:
            raise MalformedPayload("quo: dialogue is not a list of objects")
        customer_numbers = [d.get("identifier") for d in dialogue or () if not d.get("userId")]
        return Interaction(
            source=self.name, thread_key=f"call:{call_id}", channel="call",
            customer=CustomerRef(phone=_first_phone(customer_numbers) or _external_phone(context)),
            occurred_at=_first_time(resource.get("createdAt")),  # the transcript's time: no call time here
            turns=None if dialogue is None else _turns(dialogue),
            source_ids=_ids(call_id, resource, context), url=_link(body),
            **_line_agent(resource, context, _business_speaker(dialogue or ())),
        )

    def _summary(self, body: dict, resource: dict, context: dict) -> Interaction:
        """call.summary.completed: the summary sentences, then the next steps as a list."""
        call_id = _required(resource, "callId")
        return Interaction(
            source=self.name, thread_key=f"call:{call_id}", channel="call",
            customer=CustomerRef(phone=_external_phone(context)),
            summary=_summary_text(resource.get("summary"), resource.get("nextSteps")),
            source_ids=_ids(call_id, resource, context), url=_link(body), **_line_agent(resource, context),
        )

    def _message(self, body: dict, resource: dict, context: dict) -> Interaction:
        """message.received: one customer turn from the sender's number."""
        message_id = _required(resource, "id")
        text = resource.get("text")
        return Interaction(
            source=self.name, thread_key=f"message:{message_id}", channel="sms",
            customer=CustomerRef(phone=_first_phone([resource.get("from"), context.get("senderIdentifier")])),
            direction=DIRECTIONS.get(resource.get("direction")),
            occurred_at=_first_time(resource.get("createdAt"), body.get("createdAt")),
            turns=(Turn("customer", text.strip()),) if isinstance(text, str) and text.strip() else None,
            source_ids={"message_id": message_id, **_ids(None, resource, context)}, url=_link(body),
            **_line_agent(resource, context, (_first_phone(_strings(resource.get("to")) + _strings(
                context.get("recipientIdentifiers"))), None)),
        )

    def _outgoing_text(self, body: dict, resource: dict, context: dict) -> list[Touch]:
        """message.delivered (or an outgoing message): the business texted the customer; a touch only."""
        message_id = _required(resource, "id")
        customer = _first_phone(_strings(resource.get("to")) + _strings(context.get("recipientIdentifiers"))
                                + _strings(_dict(context.get("participants")).get("external")))
        business = _first_phone(_strings(resource.get("from")) + _strings(context.get("senderIdentifier")))
        people = _line_agent(resource, context, (business, None))
        return [Touch(source=self.name, kind="outbound_text", external_id=f"message:{message_id}",
                      occurred_at=_first_time(resource.get("createdAt"), body.get("createdAt")),
                      customer=CustomerRef(phone=customer), line=people.get("line"), agent=people.get("agent"))]


def _scheme(request: WebhookRequest) -> str | None:
    """The scheme the signature headers name ("standard" or "classic"); None without any."""
    if standard_webhooks.has_headers(request):
        return "standard"
    if request.header(CLASSIC_HEADER) is not None:
        return "classic"
    return "standard" if request.header(VERSION_HEADER) is not None else None


def _load(raw: bytes) -> dict:
    """The JSON envelope with a `type` and a `data.object`/`data.resource`; else MalformedPayload."""
    body = json_object(raw, "quo")
    if not isinstance(body.get("type"), str) or not body["type"]:
        raise MalformedPayload("quo: type missing")
    _parts(body)
    return body


def _parts(body: dict) -> tuple[dict, dict]:
    """(resource, context): legacy `data.object` with no context, or 2026 `data.resource/context`."""
    data = body.get("data")
    if not isinstance(data, dict):
        raise MalformedPayload("quo: data missing")
    resource = data.get("object") if isinstance(data.get("object"), dict) else data.get("resource")
    if not isinstance(resource, dict):
        raise MalformedPayload("quo: data.object missing")
    context = data.get("context")
    return resource, context if isinstance(context, dict) else {}


def _required(resource: dict, key: str) -> str:
    """A string field parse() cannot do without; MalformedPayload when absent."""
    value = resource.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"quo: {key} missing")
    return value


def _first_time(*values: Any) -> datetime | None:
    """The first of `values` that parses as a timestamp."""
    return next((t for t in map(_time, values) if t is not None), None)


def _first_phone(values: Iterable[Any]) -> str | None:
    """The first value that is a phone number, in E.164."""
    return next((p for p in map(to_e164, values) if p), None)


def _external_phone(context: dict) -> str | None:
    """The external (customer) participant of a 2026 call context, if resolved."""
    participants = context.get("participants")
    external = participants.get("external") if isinstance(participants, dict) else None
    return _first_phone(external) if isinstance(external, list) else None


def _call_customer(resource: dict, context: dict) -> str | None:
    """The customer's number on a call object: 2026 context, `participants`, or v3 `from`/`to`."""
    if phone := _external_phone(context):
        return phone
    participants = resource.get("participants")
    if isinstance(participants, list):
        numbers = list(dict.fromkeys(p for p in map(to_e164, participants) if p))
        return numbers[0] if len(numbers) == 1 else None  # several: cannot tell which is ours
    side = {"incoming": "from", "outgoing": "to"}.get(resource.get("direction"))
    return to_e164(resource.get(side)) if side else None


def _turns(dialogue: list[dict]) -> tuple[Turn, ...]:
    """Non-empty dialogue entries as turns, in order."""
    return tuple(
        Turn("agent" if d.get("userId") else "customer", d["content"].strip())
        for d in dialogue
        if isinstance(d.get("content"), str) and d["content"].strip()
    )


def _strings(value: Any) -> list[str]:
    """The non-blank strings of a list (or of a lone string), stripped."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [s.strip() for s in items if isinstance(s, str) and s.strip()]


def _summary_text(summary: Any, next_steps: Any) -> str | None:
    """Summary sentences on one paragraph, then "Next steps:" as a bulleted list; None if empty."""
    parts = [" ".join(_strings(summary))] if _strings(summary) else []
    if steps := _strings(next_steps):
        parts.append("Next steps:\n" + "\n".join(f"- {s}" for s in steps))
    return "\n".join(parts) or None


def _ids(call_id: str | None, resource: dict, context: dict) -> dict[str, str]:
    """Provider ids worth keeping: call, phone number, user, conversation (present ones only)."""
    ids = {
        "call_id": call_id,
        "phone_number_id": resource.get("phoneNumberId") or context.get("phoneNumberId"),
        "user_id": resource.get("userId") or context.get("userId"),
        "conversation_id": resource.get("conversationId") or context.get("conversationId"),
    }
    return {k: v for k, v in ids.items() if isinstance(v, str) and v}


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _line_agent(resource: dict, context: dict, spoken: tuple[str | None, str | None] = (None, None)) -> dict:
    """line `quo:phone_number:<phoneNumberId>` named by the business number when the event shows it,
    and agent `quo:<userId>`; `spoken` is (business number, user id) read from the words."""
    number_id, user_id = resource.get("phoneNumberId") or context.get("phoneNumberId"), \
        resource.get("userId") or context.get("userId") or spoken[1]
    business = spoken[0] or _first_phone(_strings(_dict(context.get("participants")).get("workspace")))
    if not business and resource.get("direction") in DIRECTIONS:  # v3 calls: from/to by direction
        business = to_e164(resource.get({"incoming": "to", "outgoing": "from"}[resource["direction"]]))
    found = {"line": f"quo:phone_number:{number_id}" if isinstance(number_id, str) and number_id else None,
             "line_name": business, "agent": f"quo:{user_id}" if isinstance(user_id, str) and user_id else None}
    return {k: v for k, v in found.items() if v}


def _business_speaker(dialogue: Iterable[dict]) -> tuple[str | None, str | None]:
    """(business number, user id) of a transcript's business side, when exactly one user spoke."""
    users = {d.get("userId") for d in dialogue if isinstance(d, dict) and d.get("userId")}
    numbers = [d.get("identifier") for d in dialogue if isinstance(d, dict) and d.get("userId")]
    return _first_phone(numbers), next(iter(users)) if len(users) == 1 else None


def _link(body: dict) -> str | None:
    """The Quo app deep link of a 2026 delivery (`data.links.quo`)."""
    links = body["data"].get("links")
    link = links.get("quo") if isinstance(links, dict) else None
    return link if isinstance(link, str) and link else None
