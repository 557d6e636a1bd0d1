"""Aircall inbound connector: check the body token, split and parse call, AI and message webhooks.

Aircall signs nothing: every JSON body carries the webhook's `token`, compared in constant time with
each configured token (`self.secrets`, several during rotation). The stored copy of a body has the
`token` removed (the bytes are not signed, so nothing is lost) to keep the secret out of the inbox.

Doc facts ("unconfirmed" = inferred from examples or third-party code; watch these):
- Envelope `{resource, event, timestamp, token, data}`, `timestamp` in epoch seconds; no signature
  header, no HMAC (developer.aircall.io/docs/webhooks-overview, setup-webhooks; hookdeck
  webhook-skills aircall-webhooks/references/verification.md).
- Replay: Aircall documents no window and retries failed deliveries for hours; whether a retry
  rebuilds `timestamp` is NOT documented. We enforce NO timestamp window: the token is static, so
  whoever holds it can write any timestamp (a window adds no security), while a late retry refused
  with 401 would be an event lost. Replays are stopped by the inbox's dedupe on the event id.
- Event id `<event>:<data.id>` (`data.call_id` when an AI event has no `id`, unconfirmed), without
  the timestamp so a rebuilt one still dedupes; each handled event happens once per resource.
- Call (documented sample): `id, direction, started_at (epoch s), raw_digits (external number),
  participants [{type: external, phone_number} | {type: user, id}], user, contact, number`.
- AI events need the AI add-on. Whether their `data` carries content or only `call_id` is
  unconfirmed: parse() reads `data.content`; hydrate() fetches `GET /v1/calls/{id}/transcription`
  (`{transcription: {call_created_at, content: {utterances: [{text, participant_type:
  external|internal, phone_number?, user_id?}]}}}`) or `/summary` (`{summary: {content}}`), basic
  auth api_id:api_token. Shapes from public integrations (runmorph and others): unconfirmed.
- `sentiment.created` (Aircall's verdict per external participant, `participants[{type,
  phone_number, value}]` unconfirmed) is kept as `source_ids["aircall_sentiment"]`, never scored.
- `message.received` `data` `{id, body|content, external_number, channel (null = SMS, whatsapp),
  created_at}`: third-party digests (morf.health, hookdeck), unconfirmed. Proxy-mode message
  callbacks (`event_name`, ms timestamps) are another mechanism, unsupported.
- No UI deep link is documented (`direct_link` is an API URL): `url` stays None.
"""
from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import quote

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
from connectors.payload import iso_time as _iso
from connectors.phones import to_e164

log = logging.getLogger(__name__)

CALL_ENDED = "call.ended"
TRANSCRIPTION = "transcription.created"
SUMMARY = "summary.created"
SENTIMENT = "sentiment.created"
MESSAGE_RECEIVED = "message.received"
MESSAGE_SENT = "message.sent"  # an outgoing text: a touch, never scored
HANDLED = frozenset({CALL_ENDED, TRANSCRIPTION, SUMMARY, SENTIMENT, MESSAGE_RECEIVED, MESSAGE_SENT})
PARTICIPANT_SPEAKERS = {"external": "customer", "internal": "agent"}
DIRECTIONS = ("inbound", "outbound")
MAX_TOKEN_CHARS = 512  # a longer token is not Aircall's; bounds the comparison work


class AircallConnector(InboundConnector):
    """Aircall webhooks: a shared token in the body, calls, AI insights and received messages."""

    name = "aircall"
    sleep: Callable[[float], None] = staticmethod(time.sleep)  # ProviderAPI back-off; tests inject

    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureInvalid unless the body token matches a configured one (no time window)."""
        body = _json_object(request.body)
        if body is None:
            raise SignatureInvalid("aircall: body is not a JSON object, so it carries no token")
        token = body.get("token")
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise SignatureInvalid("aircall: token missing")
        matched = False
        for secret in self.secrets:  # no early exit: the time taken does not say which one matched
            matched |= hmac.compare_digest(token.encode(), secret.encode())
        if not matched:
            raise SignatureInvalid("aircall: token does not match")

    def events(self, request: WebhookRequest) -> list[InboundEvent]:
        """One event per delivery, id `<event>:<data id>`, stored without its token."""
        body = _load(request.body)
        stored = json.dumps({k: v for k, v in body.items() if k != "token"}, ensure_ascii=False)
        event_id = f"{body['event']}:{_ident(body['data'])}"
        return [InboundEvent(event_id=event_id, event_type=body["event"], body=stored.encode())]

    def handles(self, event_type: str) -> bool:
        """Ended calls, AI transcripts/summaries/sentiment, received messages and sent ones (touches)."""
        return event_type in HANDLED

    def parse(self, event: InboundEvent) -> list[Interaction | Touch]:
        """The interaction this event describes (with the touch of an outbound call); [] when unused."""
        body = _load(event.body)
        if body["event"] == MESSAGE_SENT:
            return [self._sent(body["data"], body)]
        builders = {CALL_ENDED: self._call, TRANSCRIPTION: self._transcription, SUMMARY: self._summary,
                    SENTIMENT: self._sentiment, MESSAGE_RECEIVED: self._message}
        builder = builders.get(body["event"])
        if builder is None:
            return []
        item = builder(body["data"], body)
        if body["event"] == CALL_ENDED and item.direction == "outbound":
            return [item, Touch(source=self.name, kind="outbound_call", external_id=item.thread_key,
                                occurred_at=item.occurred_at, customer=item.customer, thread_key=item.thread_key,
                                line=item.line, agent=item.agent)]
        return [item]

    def hydrate(self, items: list, event: InboundEvent) -> list:
        """Fetch the transcript or summary an AI event names only by call id; 404 keeps the webhook's."""
        kind, item = _load(event.body)["event"], items[0] if items else None
        missing = item is not None and (item.turns is None if kind == TRANSCRIPTION else not item.summary)
        if not missing or kind not in (TRANSCRIPTION, SUMMARY):
            return items
        api = self._client()
        if api is None:
            log.info("aircall: no API credentials, %s for %s not fetched", kind, item.thread_key)
            return items
        resource = "transcription" if kind == TRANSCRIPTION else "summary"
        try:
            payload = api.get_json(f"/v1/calls/{quote(item.source_ids['call_id'], safe='')}/{resource}")
        except ProviderError as exc:
            if exc.status != 404:
                raise
            log.info("aircall: %s of %s is gone (404); keeping the webhook's content", resource, item.thread_key)
            return items
        fetched = _fetched_transcript(item, payload) if kind == TRANSCRIPTION else _fetched_summary(item, payload)
        return [fetched]

    def _client(self) -> ProviderAPI | None:
        """The REST client with basic auth, or None when credentials are not configured."""
        base, api_id, api_token = (self.api.get(k) for k in ("base_url", "api_id", "api_token"))
        if not (base and api_id and api_token):
            return None
        return ProviderAPI(base_url=base, auth=(api_id, api_token), sleep=self.sleep)

    def _call(self, data: dict, body: dict) -> Interaction:
        """call.ended: who, when, which direction; no words (turns=None)."""
        call_id = _required(data, "id")
        ids = {"call_id": call_id, "call_uuid": data.get("call_uuid"), "user_id": _sub_id(data, "user"),
               "number_id": _sub_id(data, "number")}
        return Interaction(
            source=self.name, thread_key=f"call:{call_id}", channel="call", customer=_call_customer(data),
            direction=data.get("direction") if data.get("direction") in DIRECTIONS else None,
            occurred_at=_epoch(data.get("started_at")) or _epoch(body.get("timestamp")),
            source_ids={k: str(v) for k, v in ids.items() if v not in (None, "")}, **_line_agent(data),
        )

    def _transcription(self, data: dict, body: dict) -> Interaction:
        """transcription.created: turns when the webhook carries utterances, else None (hydrate fetches)."""
        return _transcript_interaction(self.name, _required(data, "call_id"), data)

    def _summary(self, data: dict, body: dict) -> Interaction:
        """summary.created: the summary text when carried (else hydrate fetches it)."""
        call_id = _required(data, "call_id")
        return Interaction(source=self.name, thread_key=f"call:{call_id}", channel="call",
                           summary=_text(data.get("content")) or None, source_ids={"call_id": call_id})

    def _sentiment(self, data: dict, body: dict) -> Interaction:
        """sentiment.created: Aircall's own verdict on the customer, kept as a source id only."""
        call_id = _required(data, "call_id")
        external = [p for p in _dicts(data.get("participants")) if p.get("type") == "external"]
        verdict = next((p.get("value") for p in external if isinstance(p.get("value"), str)), data.get("value"))
        ids = {"call_id": call_id}
        if isinstance(verdict, str) and verdict.strip():
            ids["aircall_sentiment"] = verdict.strip().lower()
        phone = next((to_e164(p.get("phone_number")) for p in external if to_e164(p.get("phone_number"))), None)
        return Interaction(source=self.name, thread_key=f"call:{call_id}", channel="call",
                           customer=CustomerRef(phone=phone), source_ids=ids)

    def _message(self, data: dict, body: dict) -> Interaction:
        """message.received: one customer turn from the external number (WhatsApp counts as chat)."""
        message_id = _required(data, "id")
        text = _text(data.get("body")) or _text(data.get("content"))
        at = _iso(data.get("created_at")) or _epoch(body.get("timestamp"))
        phone = next(filter(None, map(to_e164, (data.get("external_number"), data.get("raw_digits"),
                                                data.get("from")))), None)
        return Interaction(
            source=self.name, thread_key=f"message:{message_id}",
            channel="chat" if data.get("channel") == "whatsapp" else "sms",
            customer=_contact_ref(data.get("contact"), phone), direction="inbound", occurred_at=at,
            turns=(Turn("customer", text, at, id=message_id),) if text else None,
            source_ids={"message_id": message_id, **({"number_id": n} if (n := _sub_id(data, "number")) else {})},
            **_line_agent(data),
        )

    def _sent(self, data: dict, body: dict) -> Touch:
        """message.sent: the business texted the customer (a touch only)."""
        message_id = _required(data, "id")
        phone = next(filter(None, map(to_e164, (data.get("external_number"), data.get("raw_digits"),
                                                data.get("to")))), None)
        people = _line_agent(data)
        return Touch(source=self.name, kind="outbound_text", external_id=f"message:{message_id}",
                     occurred_at=_iso(data.get("created_at")) or _epoch(body.get("timestamp")),
                     customer=_contact_ref(data.get("contact"), phone), line=people.get("line"),
                     agent=people.get("agent"))


def _line_agent(data: dict) -> dict:
    """line: the Aircall number's digits in E.164 (else `aircall:number:<id>`) and its name; agent: the user."""
    number, user = _obj(data.get("number")), _obj(data.get("user"))
    number_id, user_id = _scalar_id(number.get("id")), _scalar_id(user.get("id"))
    found = {"line": to_e164(number.get("digits")) or (f"aircall:number:{number_id}" if number_id else None),
             "line_name": _text(number.get("name")) or None,
             "agent": f"aircall:{user_id}" if user_id else None, "agent_name": _text(user.get("name")) or None}
    return {k: v for k, v in found.items() if v}


def _transcript_interaction(source: str, call_id: str, transcription: dict) -> Interaction:
    """A call interaction from a transcription object (webhook `data` or the API's `transcription`)."""
    utterances = _obj(transcription.get("content")).get("utterances")
    if utterances is not None and not (isinstance(utterances, list) and all(isinstance(u, dict) for u in utterances)):
        raise MalformedPayload("aircall: utterances is not a list of objects")
    external = [u.get("phone_number") for u in utterances or () if u.get("participant_type") == "external"]
    return Interaction(
        source=source, thread_key=f"call:{call_id}", channel="call",
        customer=CustomerRef(phone=next(filter(None, map(to_e164, external)), None)),
        occurred_at=_iso(transcription.get("call_created_at")),
        turns=None if utterances is None else _turns(utterances),
        source_ids={"call_id": call_id},
    )


def _fetched_transcript(item: Interaction, payload: Any) -> Interaction:
    """The item with the API's utterances; unchanged (logged) when the answer has none."""
    transcription = payload.get("transcription", payload) if isinstance(payload, dict) else None
    try:
        fetched = _transcript_interaction(item.source, item.source_ids["call_id"], _obj(transcription))
    except MalformedPayload:
        fetched = None
    if fetched is None or not fetched.turns:
        log.warning("aircall: transcription answer for %s has no utterances; keeping the webhook's", item.thread_key)
        return item
    customer = item.customer if item.customer.is_known() else fetched.customer
    return dataclasses.replace(item, turns=fetched.turns, customer=customer,
                               occurred_at=item.occurred_at or fetched.occurred_at)


def _fetched_summary(item: Interaction, payload: Any) -> Interaction:
    """The item with the API's summary text; unchanged when the answer has none."""
    summary = payload.get("summary", payload) if isinstance(payload, dict) else None
    text = _text(summary.get("content")) if isinstance(summary, dict) else _text(summary)
    return dataclasses.replace(item, summary=text) if text else item


def _json_object(raw: bytes) -> dict | None:
    """The body as a JSON object, or None."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # ValueError includes UnicodeDecodeError
        return None
    return body if isinstance(body, dict) else None


def _load(raw: bytes) -> dict:
    """The envelope with a string `event` and an object `data`; else MalformedPayload."""
    body = _json_object(raw)
    if body is None:
        raise MalformedPayload("aircall: body is not a JSON object")
    if not isinstance(body.get("event"), str) or not body["event"]:
        raise MalformedPayload("aircall: event missing")
    if not isinstance(body.get("data"), dict):
        raise MalformedPayload("aircall: data missing")
    return body


def _scalar_id(value: Any) -> str | None:
    """An integer or non-empty string id as text; None otherwise (booleans are not ids)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip()):
        return str(value).strip()
    return None


def _ident(data: dict) -> str:
    """The resource id a dedupe key uses: `data.id`, else `data.call_id`."""
    ident = _scalar_id(data.get("id")) or _scalar_id(data.get("call_id"))
    if ident is None:
        raise MalformedPayload("aircall: data.id missing")
    return ident


def _required(data: dict, key: str) -> str:
    """An id parse() cannot do without; MalformedPayload when absent."""
    value = _scalar_id(data.get(key))
    if value is None:
        raise MalformedPayload(f"aircall: data.{key} missing")
    return value


def _sub_id(data: dict, key: str) -> str | None:
    """The id of a nested object (`user`, `number`), if any."""
    nested = data.get(key)
    return _scalar_id(nested.get("id")) if isinstance(nested, dict) else None


def _obj(value: Any) -> dict:
    """The value when it is a JSON object, else {}."""
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict]:
    """The objects of a JSON list; [] when the value is not a list."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str:
    """A stripped string, or "" for anything else."""
    return value.strip() if isinstance(value, str) else ""


def _epoch(value: Any) -> datetime | None:
    """Epoch seconds as an aware UTC datetime; None if absent or bad."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1e11:
        return None
    return datetime.fromtimestamp(value, tz=timezone.utc)


def _call_customer(data: dict) -> CustomerRef:
    """The external party of a call: `raw_digits` or the external participant, plus the contact."""
    external = [p.get("phone_number") for p in _dicts(data.get("participants")) if p.get("type") == "external"]
    numbers = [data.get("raw_digits"), *external]
    return _contact_ref(data.get("contact"), next(filter(None, map(to_e164, numbers)), None))


def _contact_ref(contact: Any, phone: str | None) -> CustomerRef:
    """A CustomerRef from an Aircall contact object (name, first e-mail, id) and a known phone."""
    if not isinstance(contact, dict):
        return CustomerRef(phone=phone)
    name = " ".join(_text(contact.get(k)) for k in ("first_name", "last_name")).strip() or None
    emails = [e.get("value") for e in _dicts(contact.get("emails"))]
    numbers = [n.get("value") for n in _dicts(contact.get("phone_numbers"))]
    return CustomerRef(phone=phone or next(filter(None, map(to_e164, numbers)), None),
                       email=next((e.strip() for e in emails if isinstance(e, str) and "@" in e), None),
                       name=name, provider_id=_scalar_id(contact.get("id")))


def _turns(utterances: list[dict]) -> tuple[Turn, ...]:
    """Non-empty utterances of a known participant type as turns, in order."""
    return tuple(
        Turn(PARTICIPANT_SPEAKERS[u["participant_type"]], u["text"].strip())
        for u in utterances
        if isinstance(u.get("participant_type"), str) and u["participant_type"] in PARTICIPANT_SPEAKERS
        and _text(u.get("text"))
    )
