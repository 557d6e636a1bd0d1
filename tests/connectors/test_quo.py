"""Quo connector: signature checks for both schemes, event splitting, and parsing of the fixtures.

Fixture bodies are raw files signed at test time (tests/connectors/signing.py) against a fixed,
injected clock, so nothing sleeps and no stored signature goes stale.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from connectors.base import InboundEvent, MalformedPayload, SignatureInvalid, WebhookRequest
from connectors.phones import to_e164
from connectors.quo import QuoConnector
from tests.connectors.signing import (
    b64_secret,
    hmac_b64,
    quo_classic_entry,
    sign_quo_classic,
    sign_standard,
    whsec_secret,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "quo"
NOW = 1_775_000_000.0  # 2026-03-31T23:33:20Z
CLASSIC = b64_secret(b"classic-signing-key-0001")
CLASSIC_2 = b64_secret(b"classic-signing-key-0002")
WHSEC = whsec_secret(b"standard-signing-key-0001")
WHSEC_2 = whsec_secret(b"standard-signing-key-0002")
MSG_ID = "msg_2abcDEFghiJKLmnoPQRstu"
CALL_ID = "AC3f9c1b7e2d4a4f0b9e8d7c6b5a4f3e21"
CUSTOMER = "+13125550147"
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))


def connector(*secrets: str, tolerance_s: int = 300) -> QuoConnector:
    """A connector with a frozen clock; both default secrets unless others are given."""
    return QuoConnector(secrets or (CLASSIC, WHSEC), tolerance_s=tolerance_s, clock=lambda: NOW)


def fixture(name: str) -> bytes:
    """A fixture's raw bytes, exactly as they would be posted."""
    return (FIXTURES / f"{name}.json").read_bytes()


def request(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    """A request to our public Quo endpoint."""
    return WebhookRequest(body=body, headers=headers, url="https://undertone.example/webhooks/quo")


def classic(body: bytes, secret: str = CLASSIC, offset_s: float = 0) -> dict[str, str]:
    """Classic headers signed `offset_s` away from the frozen clock (timestamp in ms)."""
    return sign_quo_classic(body, secret, int((NOW + offset_s) * 1000))


def standard(body: bytes, secret: str = WHSEC, offset_s: float = 0) -> dict[str, str]:
    """Standard Webhooks headers signed `offset_s` away from the frozen clock."""
    return sign_standard(body, secret, MSG_ID, int(NOW + offset_s))


def event_of(payload: dict) -> InboundEvent:
    """A stored event for an in-memory payload."""
    return InboundEvent(event_id="EVtest", event_type=payload["type"], body=json.dumps(payload).encode())


def parse_one(name: str) -> object:
    """The single interaction parsed from a fixture."""
    body = fixture(name)
    [interaction] = connector().parse(InboundEvent("EVtest", json.loads(body)["type"], body))
    return interaction


# --- verify: valid deliveries ---------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_classic_signed_fixture_verifies_and_is_one_event(name):
    body = fixture(name)
    req = request(body, classic(body))
    connector().verify(req)
    [event] = connector().events(req)
    payload = json.loads(body)
    assert (event.event_id, event.event_type, event.body) == (payload["id"], payload["type"], body)
    assert event.event_id.startswith("EV")


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_standard_signed_fixture_verifies_and_dedupes_on_webhook_id(name):
    body = fixture(name)
    req = request(body, standard(body))
    connector().verify(req)
    [event] = connector().events(req)
    assert (event.event_id, event.event_type) == (MSG_ID, json.loads(body)["type"])


def test_header_names_are_case_insensitive():
    body = fixture("message_received")
    connector().verify(request(body, {k.title(): v for k, v in standard(body).items()}))
    connector().verify(request(body, {"OpenPhone-Signature": classic(body)["openphone-signature"]}))


# --- verify: failures -----------------------------------------------------------------------

MUTATIONS = [
    pytest.param(lambda b: b.replace(b"three weeks", b"three days!"), id="word"),
    pytest.param(lambda b: b[:-1] + bytes([b[-1] ^ 1]), id="last-byte"),
    pytest.param(lambda b: b + b" ", id="appended-byte"),
]


@pytest.mark.parametrize("sign", [classic, standard], ids=["classic", "standard"])
@pytest.mark.parametrize("mutate", MUTATIONS)
def test_a_changed_byte_fails(sign, mutate):
    body = fixture("message_received")
    headers = sign(body)
    assert mutate(body) != body
    with pytest.raises(SignatureInvalid):
        connector().verify(request(mutate(body), headers))


@pytest.mark.parametrize(
    "headers_for",
    [
        lambda b: classic(b, secret=b64_secret(b"not-our-key")),
        lambda b: standard(b, secret=whsec_secret(b"not-our-key")),
    ],
    ids=["classic", "standard"],
)
def test_a_wrong_secret_fails(headers_for):
    body = fixture("call_completed")
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, headers_for(body)))


@pytest.mark.parametrize("drop", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_standard_header_fails(drop):
    body = fixture("call_completed")
    headers = {k: v for k, v in standard(body).items() if k != drop}
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, headers))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-type": "application/json"},
        {"x-quo-api-version": "2026-03-30"},
        {"openphone-signature": ""},
    ],
    ids=["none", "unrelated", "version-only", "empty-classic"],
)
def test_unsigned_requests_fail(headers):
    with pytest.raises(SignatureInvalid):
        connector().verify(request(fixture("call_completed"), headers))


def _classic_header(mutate):
    """Builds a classic header by mutating the four fields of a valid entry."""
    def build(body):
        return {"openphone-signature": mutate(*classic(body)["openphone-signature"].split(";"))}
    return build


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(_classic_header(lambda s, v, t, d: "garbage"), id="garbage"),
        pytest.param(_classic_header(lambda s, v, t, d: f"hmac;2;{t};{d}"), id="version-2"),
        pytest.param(_classic_header(lambda s, v, t, d: f"sha256;1;{t};{d}"), id="other-scheme"),
        pytest.param(_classic_header(lambda s, v, t, d: f"hmac;1;{t}"), id="three-fields"),
        pytest.param(_classic_header(lambda s, v, t, d: f"hmac;1;{t};{d};x"), id="five-fields"),
        pytest.param(_classic_header(lambda s, v, t, d: f"hmac;1;{t};!!not*base64!!"), id="non-base64"),
        pytest.param(_classic_header(lambda s, v, t, d: f"hmac;1;{t};{d[:-4]}"), id="truncated-digest"),
        pytest.param(_classic_header(lambda s, v, t, d: f"hmac;1;soon;{d}"), id="non-numeric-ts"),
        pytest.param(_classic_header(lambda s, v, t, d: f"hmac;1;-{t};{d}"), id="negative-ts"),
        pytest.param(_classic_header(lambda s, v, t, d: f"hmac;1;{int(t) + 1};{d}"), id="other-ts"),
        pytest.param(_classic_header(lambda s, v, t, d: f"hmac;1;{'9' * 5000};{d}"), id="huge-ts"),
    ],
)
def test_malformed_classic_headers_fail(build):
    body = fixture("call_transcript_completed")
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, build(body)))


def _standard_header(**changes):
    """Builds Standard Webhooks headers from a valid set, with some values replaced."""
    def build(body):
        headers = standard(body)
        signature = headers["webhook-signature"].partition(",")[2]
        return {**headers, **{k.replace("_", "-"): v.format(sig=signature) for k, v in changes.items()}}
    return build


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(_standard_header(webhook_signature="garbage"), id="garbage"),
        pytest.param(_standard_header(webhook_signature="v2,{sig}"), id="version-2"),
        pytest.param(_standard_header(webhook_signature="v1"), id="no-comma"),
        pytest.param(_standard_header(webhook_signature="v1,!!not*base64!!"), id="non-base64"),
        pytest.param(_standard_header(webhook_timestamp="soon"), id="non-numeric-ts"),
        pytest.param(_standard_header(webhook_timestamp=f"{NOW:.1f}"), id="decimal-ts"),
        pytest.param(_standard_header(webhook_timestamp=str(int(NOW * 1000))), id="ms-ts"),
        pytest.param(_standard_header(webhook_id="msg_other"), id="other-id"),
        pytest.param(_standard_header(webhook_timestamp="9" * 5000), id="huge-ts"),
    ],
)
def test_malformed_standard_headers_fail(build):
    body = fixture("call_transcript_completed")
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, build(body)))


# --- verify: replay window ------------------------------------------------------------------

WINDOW = [
    (-86_400, False), (-301, False), (-299, True), (0, True), (299, True), (301, False), (86_400, False),
]


@pytest.mark.parametrize("sign", [classic, standard], ids=["classic", "standard"])
@pytest.mark.parametrize(("offset_s", "accepted"), WINDOW)
def test_timestamps_are_accepted_only_within_the_window_both_ways(sign, offset_s, accepted):
    body = fixture("call_summary_completed")
    req = request(body, sign(body, offset_s=offset_s))
    if accepted:
        connector().verify(req)
    else:
        with pytest.raises(SignatureInvalid):
            connector().verify(req)


@pytest.mark.parametrize(("offset_s", "accepted"), [(-120, False), (-30, True), (30, True), (120, False)])
def test_the_window_is_the_configured_tolerance(offset_s, accepted):
    body = fixture("call_summary_completed")
    tight = connector(tolerance_s=60)
    for headers in (classic(body, offset_s=offset_s), standard(body, offset_s=offset_s)):
        if accepted:
            tight.verify(request(body, headers))
        else:
            with pytest.raises(SignatureInvalid):
                tight.verify(request(body, headers))


@pytest.mark.parametrize(("offset_s", "accepted"), [(0, True), (-10, True), (-400, False), (400, False)])
def test_classic_timestamps_in_seconds_are_also_understood(offset_s, accepted):
    body = fixture("call_completed")
    headers = sign_quo_classic(body, CLASSIC, int(NOW + offset_s))  # seconds, not milliseconds
    if accepted:
        connector().verify(request(body, headers))
    else:
        with pytest.raises(SignatureInvalid):
            connector().verify(request(body, headers))


# --- verify: rotation and key kinds ---------------------------------------------------------


@pytest.mark.parametrize(
    ("sign", "secret"),
    [(classic, CLASSIC), (classic, CLASSIC_2), (standard, WHSEC), (standard, WHSEC_2)],
)
def test_either_rotated_secret_verifies(sign, secret):
    body = fixture("message_received")
    connector(CLASSIC, CLASSIC_2, WHSEC, WHSEC_2).verify(request(body, sign(body, secret=secret)))


@pytest.mark.parametrize("valid_first", [True, False])
def test_a_classic_header_with_one_valid_signature_of_two_verifies(valid_first):
    body = fixture("message_received")
    ts = int(NOW * 1000)
    good, old = quo_classic_entry(body, CLASSIC, ts), quo_classic_entry(body, b64_secret(b"retired"), ts)
    header = f"{good},{old}" if valid_first else f"{old}, {good}"
    connector(CLASSIC).verify(request(body, {"openphone-signature": header}))
    with pytest.raises(SignatureInvalid):  # the same header without the valid entry
        connector(CLASSIC).verify(request(body, {"openphone-signature": f"{old},{old}"}))


@pytest.mark.parametrize("valid_first", [True, False])
def test_a_standard_header_with_one_valid_signature_of_two_verifies(valid_first):
    body = fixture("message_received")
    good = standard(body)
    old = standard(body, secret=whsec_secret(b"retired"))["webhook-signature"]
    pair = [good["webhook-signature"], old] if valid_first else [old, good["webhook-signature"]]
    connector(WHSEC).verify(request(body, {**good, "webhook-signature": " ".join(pair)}))
    with pytest.raises(SignatureInvalid):
        connector(WHSEC).verify(request(body, {**good, "webhook-signature": f"{old} {old}"}))


def test_only_the_first_eight_signatures_are_tried():
    body = fixture("message_received")
    ts = int(NOW * 1000)
    old = quo_classic_entry(body, b64_secret(b"retired"), ts)
    good = quo_classic_entry(body, CLASSIC, ts)
    connector(CLASSIC).verify(request(body, {"openphone-signature": ",".join([old] * 7 + [good])}))
    with pytest.raises(SignatureInvalid):
        connector(CLASSIC).verify(request(body, {"openphone-signature": ",".join([old] * 8 + [good])}))


def test_a_whsec_key_never_verifies_classic_headers():
    body = fixture("call_completed")
    same_key_material = WHSEC.removeprefix("whsec_")
    with pytest.raises(SignatureInvalid):
        connector(WHSEC).verify(request(body, classic(body, secret=same_key_material)))
    connector(same_key_material).verify(request(body, classic(body, secret=same_key_material)))


def test_a_classic_key_never_verifies_standard_headers():
    body = fixture("call_completed")
    with pytest.raises(SignatureInvalid):
        connector(CLASSIC).verify(request(body, standard(body, secret="whsec_" + CLASSIC)))


def test_both_header_sets_prefer_standard_webhooks():
    body = fixture("call_completed")
    bad_classic = classic(body, secret=b64_secret(b"not-our-key"))
    req = request(body, {**bad_classic, **standard(body)})
    connector().verify(req)
    assert connector().events(req)[0].event_id == MSG_ID
    bad_standard = standard(body, secret=whsec_secret(b"not-our-key"))
    with pytest.raises(SignatureInvalid):  # a valid classic signature does not rescue it
        connector().verify(request(body, {**classic(body), **bad_standard}))


def test_without_secrets_nothing_verifies():
    body = fixture("call_completed")
    bare = QuoConnector((), clock=lambda: NOW)
    for headers in (classic(body), standard(body)):
        with pytest.raises(SignatureInvalid):
            bare.verify(request(body, headers))


@pytest.mark.parametrize("secret", ["not base64 at all!", "whsec_***", "whsec_"])
def test_an_unusable_secret_is_refused_at_configuration_without_echoing_it(secret):
    with pytest.raises(ValueError) as raised:
        QuoConnector((CLASSIC, secret))
    assert secret not in str(raised.value)


# --- events ---------------------------------------------------------------------------------

MALFORMED_BODIES = [
    b"not json",
    b"",
    b"\xff\xfe\x00garbage",
    b"[1, 2]",
    b'"call.completed"',
    b'{"id": "EV1", "data": {"object": {}}}',
    b'{"id": "EV1", "type": "", "data": {"object": {}}}',
    b'{"id": "EV1", "type": "call.completed"}',
    b'{"id": "EV1", "type": "call.completed", "data": "x"}',
    b'{"id": "EV1", "type": "call.completed", "data": {"object": []}}',
    b'{"type": "call.completed", "data": {"object": {"id": "AC1"}}}',
    b'{"id": 7, "type": "call.completed", "data": {"object": {"id": "AC1"}}}',
]


@pytest.mark.parametrize("body", MALFORMED_BODIES)
def test_an_authentic_but_unreadable_body_is_malformed(body):
    req = request(body, classic(body))
    connector().verify(req)
    with pytest.raises(MalformedPayload):
        connector().events(req)


def test_a_standard_delivery_with_a_non_utf8_body_is_malformed_not_a_crash():
    body = b"\xff\xfe\x00garbage"
    req = request(body, standard(body))
    connector().verify(req)
    with pytest.raises(MalformedPayload):
        connector().events(req)


def test_a_2026_delivery_without_webhook_id_falls_back_to_the_body_id():
    body = fixture("v2026_message_received")
    [event] = connector().events(request(body, {"x-quo-api-version": "2026-03-30"}))
    assert event.event_id == "EV6e4c2a0f8d6b4a2c0e8f6d4b2a0c8e6f"


@pytest.mark.parametrize(
    ("event_type", "handled"),
    [
        ("call.completed", True), ("call.transcript.completed", True), ("call.summary.completed", True),
        ("message.received", True), ("callTranscript", True), ("callSummary", True),
        ("message.delivered", True), ("call.ringing", False), ("call.recording.completed", False),
        ("contact.updated", False), ("contact.deleted", False), ("", False), ("CALL.COMPLETED", False),
    ],
)
def test_handles_events_with_customer_content_or_touches(event_type, handled):
    assert connector().handles(event_type) is handled


# --- parse: the fixtures --------------------------------------------------------------------


def test_parse_call_completed():
    call = parse_one("call_completed")
    assert (call.source, call.thread_key, call.channel) == ("quo", f"call:{CALL_ID}", "call")
    assert call.direction == "inbound"
    assert call.customer.phone == CUSTOMER
    assert call.turns is None and call.summary is None
    assert call.occurred_at == datetime(2026, 3, 2, 15, 16, 58, tzinfo=timezone.utc)
    assert call.source_ids == {"call_id": CALL_ID, "phone_number_id": "PNq7Xk2LmR", "user_id": "USa1B2c3D4"}


def test_parse_transcript_splits_business_and_customer_turns():
    transcript = parse_one("call_transcript_completed")
    assert transcript.thread_key == f"call:{CALL_ID}" and transcript.channel == "call"
    assert [t.speaker for t in transcript.turns] == ["agent", "customer"] * 4 + ["agent"]
    customer_words = " ".join(t.text for t in transcript.turns if t.speaker == "customer")
    assert "third time I'm calling" in customer_words and "waiting three weeks and nobody" in customer_words
    assert transcript.turns[0].text.startswith("Thank you for calling Brightline")
    assert transcript.customer.phone == CUSTOMER  # the customer's identifier, not the business line
    assert transcript.occurred_at == datetime(2026, 3, 2, 15, 26, 3, 412000, tzinfo=timezone.utc)
    assert transcript.summary is None and transcript.direction is None


def test_parse_summary_joins_summary_and_next_steps():
    summary = parse_one("call_summary_completed")
    assert summary.thread_key == f"call:{CALL_ID}" and summary.turns is None
    assert summary.summary == (
        "The customer called for the third time about a refund for a water heater installation that was "
        "promised three weeks ago. They are frustrated that nobody has followed up and said they may dispute "
        "the charge with their bank. Dana apologized and escalated the refund request to a manager.\n"
        "Next steps:\n- Escalate the refund request to the manager today.\n"
        "- Call the customer back by Friday with a confirmed refund date."
    )


def test_call_events_share_one_thread_key_whatever_their_order():
    names = ["call_summary_completed", "call_transcript_completed", "call_completed"]
    assert {parse_one(n).thread_key for n in names} == {f"call:{CALL_ID}"}


def test_parse_message_received():
    message = parse_one("message_received")
    assert (message.thread_key, message.channel, message.direction) == (
        "message:AC7e1d4c2b9a8f4e6d5c3b2a1f0e9d8c7b", "sms", "inbound")
    [turn] = message.turns
    assert turn.speaker == "customer" and turn.text.startswith("Still no refund")
    assert "third time" in turn.text and "three weeks —" in turn.text  # non-ASCII survives signing
    assert message.customer.phone == CUSTOMER
    assert message.occurred_at == datetime(2026, 3, 4, 9, 12, 30, 402000, tzinfo=timezone.utc)
    assert message.source_ids["message_id"] == "AC7e1d4c2b9a8f4e6d5c3b2a1f0e9d8c7b"


def test_an_unused_event_parses_to_nothing():
    body = fixture("call_ringing")
    assert connector().parse(InboundEvent("EVtest", "call.ringing", body)) == []


def test_parse_2026_transcript_reads_resource_and_context():
    transcript = parse_one("v2026_call_transcript_completed")
    assert transcript.thread_key == "call:AC9b8a7f6e5d4c4b3a2f1e0d9c8b7a6f5e"
    assert [t.speaker for t in transcript.turns] == ["agent", "customer", "agent", "customer"]
    assert transcript.customer.phone == CUSTOMER
    assert transcript.url.startswith("https://my.quo.com/inbox/")
    assert transcript.source_ids["conversation_id"] == "CN5d4c3b2a1f0e4d9c8b7a6f5e4d3c2b1a"


def test_parse_2026_message_reads_the_sender_from_context():
    message = parse_one("v2026_message_received")
    assert (message.channel, message.direction, message.customer.phone) == ("sms", "inbound", CUSTOMER)
    assert message.turns[0].text.startswith("Nobody called me back AGAIN")
    assert message.occurred_at.utcoffset().total_seconds() == 0


# --- parse: missing and odd fields ----------------------------------------------------------


def _payload(name: str) -> dict:
    """A fixture as a dict, to edit."""
    return json.loads(fixture(name))


def _without(name: str, key: str) -> dict:
    """A fixture with one field removed from its data object."""
    payload = _payload(name)
    del payload["data"]["object"][key]
    return payload


def _with(name: str, **fields) -> dict:
    """A fixture with some data-object fields replaced."""
    payload = _payload(name)
    payload["data"]["object"].update(fields)
    return payload


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(_without("call_transcript_completed", "callId"), id="transcript-no-callId"),
        pytest.param(_without("call_summary_completed", "callId"), id="summary-no-callId"),
        pytest.param(_without("call_completed", "id"), id="call-no-id"),
        pytest.param(_without("message_received", "id"), id="message-no-id"),
        pytest.param(_with("call_transcript_completed", dialogue="Hello"), id="dialogue-string"),
        pytest.param(_with("call_transcript_completed", dialogue=["Hello"]), id="dialogue-of-strings"),
    ],
)
def test_missing_fields_we_need_are_malformed(payload):
    with pytest.raises(MalformedPayload):
        connector().parse(event_of(payload))


def test_a_transcript_without_dialogue_brings_no_turns():
    [transcript] = connector().parse(event_of(_with("call_transcript_completed", dialogue=None)))
    assert transcript.turns is None and transcript.customer.phone is None


def test_blank_dialogue_lines_are_skipped():
    dialogue = [
        {"content": "  ", "userId": None, "identifier": CUSTOMER},
        {"content": "Hi", "identifier": CUSTOMER},
    ]
    [transcript] = connector().parse(event_of(_with("call_transcript_completed", dialogue=dialogue)))
    assert [(t.speaker, t.text) for t in transcript.turns] == [("customer", "Hi")]


@pytest.mark.parametrize("text", [None, "", "   "])
def test_a_message_without_text_brings_no_turns(text):
    [message] = connector().parse(event_of(_with("message_received", text=text)))
    assert message.turns is None and message.customer.phone == CUSTOMER


@pytest.mark.parametrize(
    ("fields", "phone", "direction"),
    [
        ({"participants": [CUSTOMER, "+16175550100"]}, None, "inbound"),
        ({"participants": ["(312) 555-0147", CUSTOMER]}, CUSTOMER, "inbound"),
        ({"participants": None, "from": CUSTOMER, "to": "+16175550100"}, CUSTOMER, "inbound"),
        (
            {"participants": None, "direction": "outgoing", "from": "+16175550100", "to": CUSTOMER},
            CUSTOMER,
            "outbound",
        ),
        ({"participants": [], "direction": "sideways"}, None, None),
    ],
    ids=["two-numbers", "same-number-twice", "v3-incoming", "v3-outgoing", "unknown-direction"],
)
def test_call_customer_and_direction(fields, phone, direction):
    call, *_touch = connector().parse(event_of(_with("call_completed", **fields)))
    assert (call.customer.phone, call.direction) == (phone, direction)


def test_call_time_falls_back_and_tolerates_bad_values():
    payload = _with("call_completed", createdAt="yesterday", answeredAt=None)
    [call] = connector().parse(event_of(payload))
    assert call.occurred_at == datetime(2026, 3, 2, 15, 24, 38, tzinfo=timezone.utc)  # completedAt
    payload = _with("call_completed", createdAt=None, answeredAt=None, completedAt=None)
    del payload["createdAt"]
    assert connector().parse(event_of(payload))[0].occurred_at is None


def test_an_empty_summary_is_none():
    [summary] = connector().parse(event_of(_with("call_summary_completed", summary=[], nextSteps=None)))
    assert summary.summary is None


def test_documented_alias_types_parse_like_the_event_names():
    payload = _payload("call_transcript_completed")
    payload["type"] = "callTranscript"
    [transcript] = connector().parse(event_of(payload))
    assert transcript.thread_key == f"call:{CALL_ID}" and len(transcript.turns) == 9


# --- helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+13125550147", "+13125550147"),
        ("(312) 555-0147", "+13125550147"),
        ("312.555.0147", "+13125550147"),
        ("+44 20 7946 0958", "+442079460958"), ("12", None), ("not a number", None), ("", None), (None, None),
        (3125550147, None),
    ],
)
def test_to_e164(raw, expected):
    assert to_e164(raw) == expected


def test_to_e164_uses_the_default_region():
    assert to_e164("020 7946 0958", default_region="GB") == "+442079460958"


def test_signing_helpers_follow_the_documented_algorithms():
    body = fixture("message_received")
    key = base64.b64decode(CLASSIC)
    expected = hmac_b64(key, b"1775000000000." + body)
    header = sign_quo_classic(body, CLASSIC, 1_775_000_000_000)["openphone-signature"]
    assert header == f"hmac;1;1775000000000;{expected}"
    std_key = base64.b64decode(WHSEC.removeprefix("whsec_"))
    headers = sign_standard(body, WHSEC, MSG_ID, 1_775_000_000)
    assert headers["webhook-signature"] == "v1," + hmac_b64(std_key, f"{MSG_ID}.1775000000.".encode() + body)
