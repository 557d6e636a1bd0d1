"""Dialpad inbound connector: verify the JWT body, split and parse call and SMS events.

Dialpad posts each event as a JWT signed HS256 with the subscription webhook's secret. Only HS256 is
accepted (never `none`, never another algorithm), with any of `self.secrets` (rotation). A webhook
created without a secret delivers plain JSON: that is refused (401), never accepted unsigned.

Doc facts ("unconfirmed" = inferred from examples or third-party material; watch these):
- "events are sent in the JWT format and signed with a secret that you share with Dialpad"; webhook
  `signature: {type: "jwt", algo: "HS256", secret}` (developers.dialpad.com/docs/event-subscriptions;
  dialpad-python-sdk dialpad_api_spec.json `schemas.signature.SignatureProto`). The request
  Content-Type (application/jwt or text/plain?) is not documented: the body is read as the token
  whatever the header says. Whether claims carry `iat`/`exp` is not documented: when present, `iat`
  must lie within `tolerance_s` either way and `exp` must not be older than `tolerance_s`.
- Call states (spec `CreateCallEventSubscription.call_states`): calling, ringing, connected, hangup,
  recording, voicemail, transcription, call_transcription, recap_summary, recap_action_items, ... .
  Handled: `hangup` (metadata), `call_transcription` (the call's AI transcript) and `recap_summary`.
  `transcription` (probably the voicemail's) is not handled: its meaning is undocumented.
- Call payload fields follow the spec's `CallProto` (unconfirmed that events carry all of them):
  `call_id, master_call_id, state, direction, date_started (ms), event_timestamp (ms),
  external_number, internal_number, contact {id, name, phone, email}, target {id, type, name},
  transcription_text`. `recap_summary` is read as a string or list of strings: unconfirmed.
- `transcription_text` is one flat string. Its "Name: text" line format is unconfirmed; parse()
  attributes a line only when the name is the contact's (customer) or the target's (agent).
  hydrate() replaces it with `GET /api/v2/transcripts/{call_id}` (Bearer api key; spec
  `TranscriptProto {call_id, lines: [{type: transcript|moment|..., content, name, time,
  contact_id | user_id}]}`): a `contact_id` line is the customer, a `user_id` line the agent.
  `time` has no zone in the spec example: read as UTC (unconfirmed).
- SMS events (developers.dialpad.com/docs/sms-events): `id, created_date (unix; ms assumed when
  >= 1e11), direction, target, contact, from_number, to_number[], text, mms, message_status`.
  `text` is present only with the `message_content_export` scope; for MMS it is a media URL, so MMS
  bring no turns.
- Event ids: `<call_id>:<state>` for calls (DESIGN.md), `sms:<id>` for SMS (a status update of the
  same SMS dedupes with it). Other subscription kinds sharing the webhook (contact, agent status)
  are acknowledged as `dialpad.other`, keyed by a digest of their claims. Transferred calls have
  several `call_id`s (one thread each); `master_call_id` is kept in `source_ids`.
- No UI deep link is documented: `url` stays None.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import re
import time
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import quote

import jwt

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

ALGORITHMS = ["HS256"]
HANGUP, TRANSCRIPT, RECAP = "call.hangup", "call.call_transcription", "call.recap_summary"
SMS_INBOUND = "sms.inbound"
SMS_OUTBOUND = "sms.outbound"  # the business's text: a touch, never scored
OTHER = "dialpad.other"
HANDLED = frozenset({HANGUP, TRANSCRIPT, RECAP, SMS_INBOUND, SMS_OUTBOUND})
MS_THRESHOLD = 10**11  # epoch values at or above this are milliseconds
LINE = re.compile(r"^\s*([^:\n]{1,80}):\s*(.+?)\s*$")


class DialpadConnector(InboundConnector):
    """Dialpad webhooks: HS256 JWT bodies carrying call-state and SMS events."""

    name = "dialpad"
    sleep: Callable[[float], None] = staticmethod(time.sleep)  # ProviderAPI back-off; tests inject

    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureInvalid unless the body is an HS256 JWT of a configured secret, fresh if dated."""
        token = _token(request.body)
        payload = self._verified_payload(token)
        try:
            claims = json.loads(payload)
        except (ValueError, RecursionError):
            return  # authentic but unreadable: events() answers MalformedPayload
        if isinstance(claims, dict):
            self._check_times(claims)

    def events(self, request: WebhookRequest) -> list[InboundEvent]:
        """One event per delivery; the stored body is the JWT exactly as received."""
        event_type, event_id = _identify(_claims(request.body))
        return [InboundEvent(event_id=event_id, event_type=event_type, body=request.body)]

    def handles(self, event_type: str) -> bool:
        """Hung-up calls, call transcripts, AI recaps, inbound SMS and outbound SMS (touches)."""
        return event_type in HANDLED

    def parse(self, event: InboundEvent) -> list[Interaction | Touch]:
        """The interaction this event describes (the JWT was verified on receipt), or a touch; [] when unused."""
        claims = _claims(event.body)
        kind = _identify(claims)[0]
        if kind == SMS_OUTBOUND:
            return [self._sms_sent(claims)]
        builders = {HANGUP: self._call, TRANSCRIPT: self._transcript, RECAP: self._recap, SMS_INBOUND: self._sms}
        builder = builders.get(kind)
        if builder is None:
            return []
        item = builder(claims)
        if kind == HANGUP and item.direction == "outbound":
            return [item, Touch(source=self.name, kind="outbound_call", external_id=item.thread_key,
                                occurred_at=item.occurred_at, customer=item.customer, thread_key=item.thread_key,
                                line=item.line, agent=item.agent)]
        return [item]

    def hydrate(self, items: list, event: InboundEvent) -> list:
        """Fetch the speaker-separated transcript of a `call_transcription` event; 404 keeps the webhook's."""
        if not items or _identify(_claims(event.body))[0] != TRANSCRIPT:
            return items
        item = items[0]
        base, key = self.api.get("base_url"), self.api.get("api_key")
        if not (base and key):
            log.info("dialpad: no API key, transcript of %s not fetched", item.thread_key)
            return items
        api = ProviderAPI(base_url=base, headers={"Authorization": f"Bearer {key}"}, sleep=self.sleep)
        try:
            payload = api.get_json(f"/api/v2/transcripts/{quote(item.source_ids['call_id'], safe='')}")
        except ProviderError as exc:
            if exc.status != 404:
                raise
            log.info("dialpad: transcript of %s is gone (404); keeping the webhook's", item.thread_key)
            return items
        return [_with_lines(item, payload)]

    def _verified_payload(self, token: str) -> bytes:
        """The JWT payload bytes once one configured secret verifies its HS256 signature."""
        jws = jwt.PyJWS()
        for secret in self.secrets:
            try:
                return jws.decode(token, secret, algorithms=ALGORITHMS)
            except jwt.InvalidSignatureError:
                continue
            except (jwt.PyJWTError, ValueError, TypeError) as exc:  # bad format or a refused algorithm
                raise SignatureInvalid(f"dialpad: unusable JWT ({type(exc).__name__})") from None
        raise SignatureInvalid("dialpad: JWT not signed by a configured secret")

    def _check_times(self, claims: dict) -> None:
        """`iat` within `tolerance_s` either way and `exp` not past, when the claims carry them."""
        now = self.clock()
        for claim in ("iat", "exp"):
            value = claims.get(claim)
            if value is None:
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise SignatureInvalid(f"dialpad: {claim} is not a number")
            late = now - value > self.tolerance_s
            if late or (claim == "iat" and value - now > self.tolerance_s):
                raise SignatureInvalid(f"dialpad: {claim} outside tolerance")

    def _call(self, claims: dict) -> Interaction:
        """call.hangup: who, when, which direction; no words (turns=None)."""
        return self._call_interaction(claims)

    def _transcript(self, claims: dict) -> Interaction:
        """call.call_transcription: lines of `transcription_text` whose speaker is certain."""
        return self._call_interaction(claims, turns=_text_turns(claims))

    def _recap(self, claims: dict) -> Interaction:
        """call.recap_summary: Dialpad AI's recap as the summary."""
        recap = claims.get("recap_summary")
        parts = [recap] if isinstance(recap, str) else recap if isinstance(recap, list) else []
        summary = "\n".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
        return self._call_interaction(claims, summary=summary or None)

    def _call_interaction(self, claims: dict, **fields: Any) -> Interaction:
        """The fields every call event shares: thread, customer, direction, start time, ids."""
        call_id = _required(claims, "call_id")
        ids = {"call_id": call_id, "master_call_id": _scalar_id(claims.get("master_call_id")),
               "target_id": _scalar_id(_obj(claims, "target").get("id"))}
        return Interaction(
            source=self.name, thread_key=f"call:{call_id}", channel="call",
            customer=_customer(claims, claims.get("external_number")), direction=_direction(claims),
            occurred_at=_epoch(claims.get("date_started")) or _epoch(claims.get("event_timestamp")),
            source_ids={k: v for k, v in ids.items() if v}, **_line_agent(claims, claims.get("internal_number")),
            **fields,
        )

    def _sms(self, claims: dict) -> Interaction:
        """sms.inbound: one customer turn from `from_number` (MMS and hidden text bring none)."""
        sms_id = _required(claims, "id")
        text = claims.get("text") if isinstance(claims.get("text"), str) and claims.get("mms") is not True else ""
        at = _epoch(claims.get("created_date"))
        return Interaction(
            source=self.name, thread_key=f"message:{sms_id}", channel="sms",
            customer=_customer(claims, claims.get("from_number")), direction="inbound", occurred_at=at,
            turns=(Turn("customer", text.strip(), at, id=f"sms:{sms_id}"),) if text.strip() else None,
            source_ids={"message_id": sms_id}, **_line_agent(claims, _first(claims.get("to_number"))),
        )

    def _sms_sent(self, claims: dict) -> Touch:
        """sms.outbound: the business texted the customer (a touch only)."""
        sms_id = _required(claims, "id")
        people = _line_agent(claims, claims.get("from_number"))
        return Touch(source=self.name, kind="outbound_text", external_id=f"sms:{sms_id}",
                     occurred_at=_epoch(claims.get("created_date")),
                     customer=_customer(claims, _first(claims.get("to_number"))),
                     line=people.get("line"), agent=people.get("agent"))


def _first(value: Any) -> Any:
    """The first element of a list (Dialpad's `to_number`), or the value itself."""
    return value[0] if isinstance(value, list) and value else value


def _line_agent(claims: dict, business_number: Any) -> dict:
    """line: the Dialpad number in E.164, named after the office/department the call came in on; agent: the
    user target (or `operator`) who took it, `dialpad:<user id>`."""
    target, entry = _obj(claims, "target"), _obj(claims, "entry_point_target")
    operator = _obj(claims, "operator")
    user = operator if _scalar_id(operator.get("id")) else target if target.get("type") == "user" else {}
    place = entry if entry.get("type") not in (None, "user") else target if target.get("type") != "user" else {}
    user_id, name, place_name = _scalar_id(user.get("id")), user.get("name"), place.get("name")
    found = {"line": to_e164(business_number) if isinstance(business_number, str) else None,
             "line_name": place_name.strip() if isinstance(place_name, str) and place_name.strip() else None,
             "agent": f"dialpad:{user_id}" if user_id else None,
             "agent_name": name.strip() if isinstance(name, str) and name.strip() else None}
    if found["line"] is None and _scalar_id(place.get("id")):
        found["line"] = f"dialpad:{place.get('type') or 'target'}:{_scalar_id(place.get('id'))}"
    return {k: v for k, v in found.items() if v}


def _token(raw: bytes) -> str:
    """The compact JWT the body holds; SignatureInvalid for empty, unsigned JSON or non-ASCII bodies."""
    try:
        token = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise SignatureInvalid("dialpad: body is not a JWT") from None
    if not token:
        raise SignatureInvalid("dialpad: empty body, no JWT")
    if token.startswith(("{", "[")):
        raise SignatureInvalid("dialpad: unsigned JSON refused; give the webhook a secret")
    return token


def _claims(raw: bytes) -> dict:
    """The JWT's claims as a JSON object, without checking the signature (verify() did); else MalformedPayload."""
    try:
        token = raw.decode("ascii").strip()
        payload = jwt.PyJWS().decode_complete(token, options={"verify_signature": False})["payload"]
        claims = json.loads(payload)
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        raise MalformedPayload("dialpad: body is not a JWT with JSON claims") from None
    if not isinstance(claims, dict):
        raise MalformedPayload("dialpad: JWT claims are not a JSON object")
    return claims


def _identify(claims: dict) -> tuple[str, str]:
    """(event type, event id): `call.<state>` keyed `<call_id>:<state>`, `sms.<direction>` keyed `sms:<id>`."""
    if "call_id" in claims or "state" in claims:
        state = claims.get("state")
        if not isinstance(state, str) or not state.strip():
            raise MalformedPayload("dialpad: call event without state")
        return f"call.{state.strip()}", f"{_required(claims, 'call_id')}:{state.strip()}"
    if "from_number" in claims or "to_number" in claims:
        direction = claims.get("direction") if claims.get("direction") in ("inbound", "outbound") else "unknown"
        return f"sms.{direction}", f"sms:{_required(claims, 'id')}"
    digest = hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).hexdigest()[:40]
    return OTHER, f"other:{digest}"


def _scalar_id(value: Any) -> str | None:
    """An integer or non-empty string id as text; None otherwise (booleans are not ids)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.strip()):
        return str(value).strip()
    return None


def _required(claims: dict, key: str) -> str:
    """An id parse() cannot do without; MalformedPayload when absent."""
    value = _scalar_id(claims.get(key))
    if value is None:
        raise MalformedPayload(f"dialpad: {key} missing")
    return value


def _obj(claims: dict, key: str) -> dict:
    """A nested object, or {} when absent or not an object."""
    value = claims.get(key)
    return value if isinstance(value, dict) else {}


def _direction(claims: dict) -> str | None:
    """`inbound`/`outbound` as given; None for anything else."""
    value = claims.get("direction")
    return value if value in ("inbound", "outbound") else None


def _epoch(value: Any) -> datetime | None:
    """Epoch milliseconds (or seconds, below 1e11) as an aware UTC datetime; None if absent or bad."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 10**14:
        return None
    return datetime.fromtimestamp(value / 1000 if value >= MS_THRESHOLD else value, tz=timezone.utc)


def _customer(claims: dict, number: Any) -> CustomerRef:
    """The external party: the contact (name, e-mail, id, phone) and the external number."""
    contact = _obj(claims, "contact")
    listed = contact.get("phones") if isinstance(contact.get("phones"), list) else []
    phones = [contact.get("phone"), contact.get("primary_phone"), *listed[:3], number]
    name = contact.get("name") or contact.get("display_name")
    email = contact.get("email") or contact.get("primary_email")
    return CustomerRef(
        phone=next(filter(None, map(to_e164, phones)), None),
        email=email.strip() if isinstance(email, str) and "@" in email else None,
        name=name.strip() if isinstance(name, str) and name.strip() else None,
        provider_id=_scalar_id(contact.get("id")),
    )


def _text_turns(claims: dict) -> tuple[Turn, ...] | None:
    """`transcription_text` lines "Name: text" whose name is the contact's or the target's; None if none."""
    text = claims.get("transcription_text")
    if not isinstance(text, str):
        return None
    contact, target = _obj(claims, "contact"), _obj(claims, "target")
    customer_names = {_key(contact.get("name")), _key(contact.get("phone")), _key(claims.get("external_number"))}
    agent_names = {_key(target.get("name"))}
    turns = []
    for line in text.splitlines():
        match = LINE.match(line)
        speaker = match and _key(match.group(1))
        role = "customer" if speaker in customer_names else "agent" if speaker in agent_names else None
        if speaker and role:
            turns.append(Turn(role, match.group(2)))
    return tuple(turns) or None


def _key(value: Any) -> str | None:
    """A comparable form of a speaker name or number: its digits when it has 7+, else casefolded words."""
    if not isinstance(value, str) or not value.strip():
        return None
    digits = re.sub(r"\D", "", value)
    return digits[-10:] if len(digits) >= 7 else " ".join(value.split()).casefold()


def _with_lines(item: Interaction, payload: Any) -> Interaction:
    """The item with the API's transcript lines (contact -> customer, user -> agent); unchanged if none."""
    lines = payload.get("lines") if isinstance(payload, dict) else None
    lines = [ln for ln in lines if isinstance(ln, dict) and ln.get("type") in (None, "transcript")] \
        if isinstance(lines, list) else []
    turns = tuple(
        Turn("customer" if ln.get("contact_id") else "agent", ln["content"].strip(), _iso(ln.get("time")))
        for ln in lines
        if isinstance(ln.get("content"), str) and ln["content"].strip() and (ln.get("contact_id") or ln.get("user_id"))
    )
    if not turns:
        log.warning("dialpad: transcript answer for %s has no speaker lines; keeping the webhook's", item.thread_key)
        return item
    if item.customer.phone is None:
        spoken = next(filter(None, (to_e164(ln.get("name")) for ln in lines if ln.get("contact_id"))), None)
        item = dataclasses.replace(item, customer=dataclasses.replace(item.customer, phone=spoken))
    return dataclasses.replace(item, turns=turns)
