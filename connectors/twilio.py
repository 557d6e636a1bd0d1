"""Twilio inbound connector: verify `X-Twilio-Signature`, classify callbacks, parse calls and texts.

Twilio callbacks carry no event-type field, so the kind is read from the parameters present:
`transcription` (TranscriptionSid), `recording` (RecordingSid + RecordingStatus), `sms` (MessageSid +
Body), `message_status` (MessageSid, no Body) and `call_status` (CallSid only). Transcriptions,
completed recordings and texts carry customer words; the others are acknowledged and ignored.

Doc facts ("unconfirmed" = inferred from examples or third-party copies of Twilio's pages; watch these):
- Signature: base64 HMAC-SHA1(auth token, full URL + POST params sorted by name, name+value
  concatenated), header `X-Twilio-Signature` (twilio.com/docs/usage/webhooks/webhooks-security).
  Checked with twilio 9.13 `RequestValidator.validate`, which also accepts the URL with or without the
  default port (Twilio's own signing differs there). `request.url` is PUBLIC_BASE_URL + path + query.
- JSON bodies: Twilio adds `bodySHA256=<hex SHA-256 of the body>` to the URL and signs the URL alone
  (docs/api/errors/57012, twilio-python tests). The scheme follows that signed query parameter, never
  the unsigned Content-Type. Which callbacks Twilio sends as JSON is unconfirmed: we read the same
  PascalCase parameter names as in form posts (the SDK samples' shape).
- SharedKey signing (Public Beta, docs/usage/webhooks/webhook-shared-keys): a Webhook Rule makes Twilio
  sign with a SharedKey secret and name the hash in `X-Twilio-Webhooks-Signature-Settings:
  key=...,algorithm=HMAC_SHA256`. Every configured secret (auth tokens, SharedKey secrets) is tried.
- No timestamp is signed: there is no replay window. A replay has the same SID-based event id, so the
  inbox stores it once; after the dedupe record expires it merges into the same thread and turn ids.
- SMS (docs/messaging/guides/webhook-request): MessageSid, AccountSid, From, To, Body, NumMedia...; no
  Direction and no timestamp (occurred_at stays None; the stored row's created_at stands in).
- Transcription callbacks (<Record transcribeCallback>): TranscriptionSid, TranscriptionText,
  TranscriptionStatus, TranscriptionUrl, RecordingSid, RecordingUrl; the call's own parameters (CallSid,
  From, To, Direction) ride along: unconfirmed, so without Direction hydration fetches the call.
- Recording status callbacks (docs/usage/webhooks/voice-webhooks): AccountSid, CallSid, RecordingSid,
  RecordingUrl, RecordingStatus, RecordingDuration, RecordingChannels, RecordingStartTime (RFC 2822),
  RecordingSource: no words and no phone numbers; hydration fetches both.
- Transcription works only on <Record> recordings of at most 2 minutes
  (docs/api/voice/recording-transcription) and is not diarised. <Record> records the party Twilio
  talks to: on an inbound call the caller (voicemail), so the turn is "customer". On other calls that
  party may be a customer or an agent (click-to-call): speaker "" (scored as unattributed).
- REST (twilio/twilio-oai spec/json/twilio_api_v2010.json), basic auth AccountSid:AuthToken:
  GET /2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}/Transcriptions.json ->
  {"transcriptions": [{sid, status, transcription_text, ...}], "next_page_uri", ...} (first page only);
  GET /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json -> {from, to, direction, start_time}.
- No Console link is built (`url` stays None): its URL scheme is not documented.
"""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable
from urllib.parse import parse_qs, parse_qsl, urlsplit

from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    get_signature_algorithm,
)
from werkzeug.datastructures import MultiDict

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

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
MAX_FIELDS = 500  # a callback has a few dozen parameters; bounds the work before any HMAC
API_ROOT = "/2010-04-01/Accounts"

SMS, TRANSCRIPTION, RECORDING = "sms", "transcription", "recording"
MESSAGE_STATUS, CALL_STATUS = "message_status", "call_status"
TEXT_SENT, CALL_OUTBOUND = "message_status.sent", "call_status.outbound"  # status callbacks that are touches
HANDLED = frozenset({SMS, TRANSCRIPTION, RECORDING, TEXT_SENT, CALL_OUTBOUND})
SENT_STATUSES = frozenset({"sent", "delivered", "read"})  # an outgoing text that left us: a touch
# kind -> (SIDs it needs, first is its own; status parameters; whether the status is part of the event id)
SHAPES = {
    TRANSCRIPTION: (("TranscriptionSid", "CallSid"), ("TranscriptionStatus",), False),
    RECORDING: (("RecordingSid", "CallSid"), ("RecordingStatus",), True),
    SMS: (("MessageSid",), (), False),
    MESSAGE_STATUS: (("MessageSid",), ("MessageStatus", "SmsStatus"), True),
    CALL_STATUS: (("CallSid",), ("CallStatus",), True),
}
DIRECTIONS = {"inbound": "inbound", "outbound-api": "outbound", "outbound-call": "outbound",
              "outbound-reply": "outbound"}  # "outbound-dial" (a <Dial> leg): cannot tell, None
_SID = re.compile(r"[A-Za-z0-9]{2,64}")
_STATUS = re.compile(r"[A-Za-z-]{1,32}")


class TwilioConnector(InboundConnector):
    """Twilio Voice and Messaging callbacks: transcriptions, recordings and incoming texts."""

    name = "twilio"
    sleep: Callable[[float], None] = staticmethod(time.sleep)  # ProviderAPI's retry waits (tests swap it)

    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureInvalid unless a configured token (or SharedKey secret) signed the request."""
        signature = request.header(SIGNATURE_HEADER)
        if not signature:
            raise SignatureInvalid("twilio: X-Twilio-Signature missing")
        algorithm = get_signature_algorithm(request.header(SETTINGS_HEADER)).upper()
        if algorithm not in (HMAC_SHA1, HMAC_SHA256):
            raise SignatureInvalid("twilio: unsupported signature algorithm")
        signed = _signed_payload(request)
        try:  # RequestValidator compares every character (no early exit); only the length leaks
            valid = any(RequestValidator(s).validate(request.url, signed, signature, algorithm) for s in self.secrets)
        except ValueError:  # e.g. a port out of range in a Host-derived URL
            raise SignatureInvalid("twilio: request URL unusable") from None
        if not valid:
            raise SignatureInvalid("twilio: no configured token matches X-Twilio-Signature")

    def events(self, request: WebhookRequest) -> list[InboundEvent]:
        """One event per callback; its id is the SID and kind (plus status where a SID gets several)."""
        _, event_id, event_type = _classify(_params(request.body))
        return [InboundEvent(event_id=event_id, event_type=event_type, body=request.body)]

    def handles(self, event_type: str) -> bool:
        """Completed transcriptions and recordings, texts, and status callbacks (outgoing texts and calls)."""
        return event_type in HANDLED

    def parse(self, event: InboundEvent) -> list[Interaction | Touch]:
        """The interaction a callback describes, or the touch of an outgoing text or call; [] otherwise."""
        params = _params(event.body)
        kind = _classify(params)[0]
        if kind == SMS:
            return [self._message(params)]
        if kind in (MESSAGE_STATUS, CALL_STATUS):
            return self._status_touch(params, kind)
        return [self._call(params, kind)] if kind in (TRANSCRIPTION, RECORDING) else []

    def hydrate(self, items: list, event: InboundEvent) -> list:
        """Recordings: fetch the call and its transcriptions; transcriptions without Direction: the call."""
        params = _params(event.body)
        kind = _classify(params)[0]
        needed = kind == RECORDING or (kind == TRANSCRIPTION and params.get("Direction") is None)
        if not needed or len(items) != 1:
            return items
        account = params.get("AccountSid") or self.api.get("account_sid") or ""
        tokens = [t.strip() for t in (self.api.get("auth_token") or "").split(",") if t.strip()]
        if not (tokens and self.api.get("base_url") and _SID.fullmatch(account)):
            log.info("twilio: API credentials missing; %s for call %s not hydrated", kind, params["CallSid"])
            return items
        call = self._fetch(tokens, account, f"Calls/{params['CallSid']}.json")
        listing = None
        if kind == RECORDING:
            listing = self._fetch(tokens, account, f"Recordings/{params['RecordingSid']}/Transcriptions.json")
        return [_hydrated(items[0], call if isinstance(call, dict) else {}, listing)]

    def _message(self, params: dict[str, str]) -> Interaction | Touch:
        """An incoming text: one customer turn from the sender's number (an outgoing one: a touch only)."""
        sid = params["MessageSid"]
        direction = DIRECTIONS.get(params.get("Direction", "inbound"))
        if direction == "outbound":
            return Touch(source=self.name, kind="outbound_text", external_id=f"message:{sid}", occurred_at=None,
                         customer=CustomerRef(phone=to_e164(params.get("To"))), line=to_e164(params.get("From")))
        text = (params.get("Body") or "").strip()
        speaker = {"inbound": "customer", "outbound": "agent"}.get(direction, "")
        return Interaction(
            source=self.name, thread_key=f"message:{sid}", channel="sms",
            customer=CustomerRef(phone=_customer_phone(direction, params)), direction=direction,
            turns=(Turn(speaker, text, id=sid),) if text else None,
            source_ids=_ids(params, message_sid="MessageSid", account_sid="AccountSid",
                            messaging_service_sid="MessagingServiceSid"), line=_line(direction, params),
        )

    def _status_touch(self, params: dict[str, str], kind: str) -> list[Touch]:
        """A sent text's status callback, or a completed outbound call's: the business reached the customer."""
        if _classify(params)[2] not in (TEXT_SENT, CALL_OUTBOUND):
            return []  # queued, failed or undelivered texts, inbound calls, unfinished calls
        if kind == MESSAGE_STATUS:
            sid, touch_kind, thread, at = params["MessageSid"], "outbound_text", None, None
        else:
            sid, touch_kind, thread = params["CallSid"], "outbound_call", f"call:{params['CallSid']}"
            at = _rfc2822(params.get("Timestamp"))
        prefix = "message" if kind == MESSAGE_STATUS else "call"
        return [Touch(source=self.name, kind=touch_kind, external_id=f"{prefix}:{sid}", occurred_at=at,
                      customer=CustomerRef(phone=to_e164(params.get("To"))), thread_key=thread,
                      line=to_e164(params.get("From")))]

    def _call(self, params: dict[str, str], kind: str) -> Interaction:
        """A transcription (one turn, appended) or a recording (no words until hydration) of a call."""
        direction = DIRECTIONS.get(params.get("Direction", ""))
        text = (params.get("TranscriptionText") or "").strip()
        complete = kind == TRANSCRIPTION and params.get("TranscriptionStatus") == "completed" and text
        return Interaction(
            source=self.name, thread_key=f"call:{params['CallSid']}", channel="call",
            customer=CustomerRef(phone=_customer_phone(direction, params)), direction=direction,
            occurred_at=_rfc2822(params.get("RecordingStartTime")),
            turns=(Turn(_speaker(direction), text, id=params["TranscriptionSid"]),) if complete else None,
            append_turns=True,
            source_ids=_ids(params, call_sid="CallSid", recording_sid="RecordingSid",
                            transcription_sid="TranscriptionSid", account_sid="AccountSid"),
            line=_line(direction, params),
        )

    def _fetch(self, tokens: list[str], account: str, path: str) -> Any:
        """GET a REST resource of `account`, trying each token on 401; None when it is gone (404)."""
        user = self.api.get("account_sid") or account
        for token in tokens:
            api = ProviderAPI(base_url=self.api["base_url"], auth=(user, token), sleep=self.sleep)
            try:
                return api.get_json(f"{API_ROOT}/{account}/{path}")
            except ProviderError as exc:
                if exc.status == 404:
                    log.info("twilio: %s not found; keeping what the callback carried", path)
                    return None
                if exc.status != 401 or token == tokens[-1]:
                    raise
        raise AssertionError("unreachable")


def _signed_payload(request: WebhookRequest) -> str | MultiDict:
    """What the signature covers besides the URL: the raw JSON text, or the form parameters."""
    try:
        text = request.body.decode("utf-8")
        if "bodySHA256" in parse_qs(urlsplit(request.url).query):
            return text  # the validator checks its hash; the signature covers the URL only
        return MultiDict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except ValueError:  # not UTF-8, or too many fields: nothing Twilio signs
        raise SignatureInvalid("twilio: body cannot be a signed Twilio callback") from None


def _params(body: bytes) -> dict[str, str]:
    """The callback's parameters (first value of each) from a form or JSON body; else MalformedPayload."""
    try:
        text = body.decode("utf-8")
        if text.lstrip().startswith("{"):
            data = json.loads(text)
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items() if v is not None}
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=True, errors="strict",
                          max_num_fields=MAX_FIELDS)
    except (ValueError, AttributeError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise MalformedPayload("twilio: body is neither form-encoded nor a JSON object") from None
    return {k: v[0] for k, v in fields.items()}


def _kind(params: dict[str, str]) -> str:
    """The callback kind, from the parameters present (Twilio sends no event type)."""
    if "TranscriptionSid" in params:
        return TRANSCRIPTION
    if "RecordingSid" in params and "RecordingStatus" in params:
        return RECORDING
    if "MessageSid" in params:
        return SMS if "Body" in params else MESSAGE_STATUS
    if "CallSid" in params:
        return CALL_STATUS
    raise MalformedPayload("twilio: no CallSid, MessageSid, RecordingSid or TranscriptionSid")


def _classify(params: dict[str, str]) -> tuple[str, str, str]:
    """(kind, event id, event type); the type gets a `.<status>` suffix unless the status is useful."""
    kind = _kind(params)
    sid_keys, status_keys, status_in_id = SHAPES[kind]
    sids = [_required(params, key, _SID) for key in sid_keys]
    status = next((params[k] for k in status_keys if k in params), None) if status_keys else ""
    if status is None or (status and not _STATUS.fullmatch(status)):
        raise MalformedPayload(f"twilio: {status_keys[0]} missing or invalid")
    event_id = ":".join([kind, sids[0]] + ([status] if status_in_id else []))
    waits = kind in (TRANSCRIPTION, RECORDING) and status != "completed"
    if _is_touch(kind, status, params):
        return kind, event_id, TEXT_SENT if kind == MESSAGE_STATUS else CALL_OUTBOUND
    return kind, event_id, f"{kind}.{status}" if waits else kind


def _is_touch(kind: str, status: str, params: dict[str, str]) -> bool:
    """A sent (or delivered) text, or a completed outbound call: the business reached the customer."""
    if kind == MESSAGE_STATUS:
        return status in SENT_STATUSES
    outbound = DIRECTIONS.get(params.get("Direction", "")) == "outbound"
    return kind == CALL_STATUS and status == "completed" and outbound


def _required(params: dict[str, str], key: str, pattern: re.Pattern) -> str:
    """A parameter the event cannot do without; MalformedPayload when absent or odd."""
    value = params.get(key)
    if value is None or not pattern.fullmatch(value):
        raise MalformedPayload(f"twilio: {key} missing or invalid")
    return value


def _speaker(direction: str | None) -> str:
    """Who a call transcription is of: the caller of an inbound call; otherwise unknown ("")."""
    return "customer" if direction == "inbound" else ""


def _customer_phone(direction: str | None, params: dict[str, str]) -> str | None:
    """The customer's E.164 number: From when inbound, To when outbound, None when unknown."""
    raw = {"inbound": params.get("From"), "outbound": params.get("To")}.get(direction or "")
    return to_e164(raw)  # phonenumbers reads past prefixes such as "whatsapp:"


def _line(direction: str | None, params: dict[str, str]) -> str | None:
    """The business number: To when inbound, From when outbound, None when unknown."""
    return to_e164({"inbound": params.get("To"), "outbound": params.get("From")}.get(direction or ""))


def _rfc2822(value: Any) -> datetime | None:
    """An RFC 2822 date (Twilio's format) as aware UTC; None if absent or unreadable."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _ids(params: dict[str, str], **keys: str) -> dict[str, str]:
    """Provider ids worth keeping (present ones only), renamed to snake_case."""
    return {name: params[key] for name, key in keys.items() if params.get(key)}


def _hydrated(item: Interaction, call: dict, listing: Any) -> Interaction:
    """The interaction with the call's parties and time, and the recording's transcriptions if fetched."""
    direction = item.direction or DIRECTIONS.get(call.get("direction") or "")
    parties = {"From": call.get("from"), "To": call.get("to")}
    phone = item.customer.phone or _customer_phone(direction, parties)
    turns = item.turns
    if isinstance(listing, dict):
        turns = _transcription_turns(listing.get("transcriptions"), _speaker(direction)) or None
    elif turns is not None:
        turns = tuple(replace(t, speaker=_speaker(direction)) for t in turns)
    return replace(item, customer=replace(item.customer, phone=phone), direction=direction, turns=turns,
                   occurred_at=item.occurred_at or _rfc2822(call.get("start_time")),
                   line=item.line or _line(direction, parties))


def _transcription_turns(entries: Any, speaker: str) -> tuple[Turn, ...]:
    """Completed, non-empty transcriptions of a recording, in the API's order."""
    usable = [e for e in entries if isinstance(e, dict) and e.get("status") == "completed"
              and isinstance(e.get("transcription_text"), str)] if isinstance(entries, list) else []
    return tuple(Turn(speaker, e["transcription_text"].strip(), id=e.get("sid"))
                 for e in usable if e["transcription_text"].strip())
