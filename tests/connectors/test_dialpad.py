"""Dialpad connector: JWT verification, event splitting, parsing, transcript hydration, the web path.

Fixtures hold the JWT claims Dialpad documents; tests sign them at test time (`sign`, with pyjwt, and
`sign_by_hand`, HMAC-SHA256 over `<header>.<payload>` per RFC 7515, so each checks the other).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import jwt
import pydantic
import pytest
from sqlalchemy import select

from connectors.base import InboundEvent, MalformedPayload, SignatureInvalid, WebhookRequest
from connectors.dialpad import DialpadConnector
from connectors.http import ProviderError
from tests.servers.json_api import JsonAPIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialpad"
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))
NOW = 1_775_000_000  # 2026-03-31T23:33:20Z
SECRET = "dialpad-subscription-secret-0001-for-tests-only-0123456789abcdefgh"  # 64 bytes: HS512 needs it
SECRET_2 = "dialpad-subscription-secret-0002-for-tests-only-0123456789abcdefgh"
CALL_ID = "6512700238102528"
CUSTOMER = "+13125550147"
API_KEY = "dp-api-key-0001"
NONE_HEADER = b'{"alg":"none","typ":"JWT"}'


def b64url(raw: bytes) -> str:
    """Unpadded base64url, as JWS uses."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims_of(name: str) -> dict:
    """A fixture's claims as a dict."""
    return json.loads((FIXTURES / f"{name}.json").read_bytes())


def sign(claims: dict, secret: str = SECRET, algorithm: str = "HS256", **extra) -> bytes:
    """A compact JWT of `claims` (plus `extra` claims such as iat), as Dialpad posts it."""
    return jwt.encode({**claims, **extra}, secret, algorithm=algorithm).encode()


def sign_by_hand(payload: bytes, secret: str = SECRET, header: dict | None = None) -> bytes:
    """A JWS built without pyjwt: HMAC-SHA256 over `<b64 header>.<b64 payload>`."""
    signing_input = f"{b64url(json.dumps(header or {'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64url(payload)}"
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(digest)}".encode()


def unsigned(claims: dict, signature: str = "") -> bytes:
    """An `alg: none` token (optionally with a bogus signature part)."""
    return f"{b64url(NONE_HEADER)}.{b64url(json.dumps(claims).encode())}.{signature}".encode()


def connector(*secrets: str, tolerance_s: int = 300, api: dict | None = None) -> DialpadConnector:
    """A connector with a frozen clock and a no-op back-off; SECRET unless others are given."""
    made = DialpadConnector(secrets or (SECRET,), tolerance_s=tolerance_s, clock=lambda: NOW, api=api)
    made.sleep = lambda seconds: None
    return made


def request(body: bytes, content_type: str = "application/jwt") -> WebhookRequest:
    """A request to our public Dialpad endpoint."""
    return WebhookRequest(body=body, headers={"content-type": content_type},
                          url="https://undertone.example/webhooks/dialpad")


def parse_claims(claims: dict) -> list:
    """What parse() makes of a signed token of `claims`."""
    token = sign(claims)
    return connector().parse(InboundEvent("e", "t", token))


def parse_one(name: str, **edits):
    """The single interaction parsed from a fixture, with top-level claims replaced."""
    [item] = parse_claims({**claims_of(name), **edits})
    return item


# --- verify ----------------------------------------------------------------------------------

EXPECTED_EVENTS = {
    "call_hangup": ("call.hangup", f"{CALL_ID}:hangup"),
    "call_transcription": ("call.call_transcription", f"{CALL_ID}:call_transcription"),
    "call_recap_summary": ("call.recap_summary", f"{CALL_ID}:recap_summary"),
    "call_ringing": ("call.ringing", f"{CALL_ID}:ringing"),
    "sms_inbound": ("sms.inbound", "sms:4920118377316352"),
    "sms_outbound": ("sms.outbound", "sms:4920118377316999"),
}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_each_signed_fixture_verifies_and_is_one_event_stored_as_the_jwt(name):
    token = sign(claims_of(name), iat=NOW)
    connector().verify(request(token))
    [event] = connector().events(request(token))
    assert event.body == token
    if name == "contact_event":
        assert event.event_type == "dialpad.other" and event.event_id.startswith("other:")
    else:
        assert (event.event_type, event.event_id) == EXPECTED_EVENTS[name]


def test_the_fixture_names_and_expected_events_agree():
    assert set(FIXTURE_NAMES) == set(EXPECTED_EVENTS) | {"contact_event"}


def test_a_token_signed_by_hand_verifies_so_the_library_is_used_as_specified():
    payload = json.dumps(claims_of("sms_inbound")).encode()
    token = sign_by_hand(payload)
    connector().verify(request(token))
    assert connector().events(request(token))[0].event_id == "sms:4920118377316352"
    with pytest.raises(SignatureInvalid):
        connector().verify(request(sign_by_hand(payload, secret=SECRET_2)))


@pytest.mark.parametrize("content_type", ["application/jwt", "text/plain", "application/json", ""])
def test_the_content_type_does_not_matter(content_type):
    connector().verify(request(sign(claims_of("call_hangup")), content_type))


def test_surrounding_whitespace_is_tolerated():
    token = b"\n  " + sign(claims_of("call_hangup")) + b"\r\n"
    connector().verify(request(token))
    assert connector().events(request(token))[0].event_id == f"{CALL_ID}:hangup"


@pytest.mark.parametrize("secret", [SECRET, SECRET_2])
def test_either_secret_verifies_during_rotation(secret):
    token = sign(claims_of("call_transcription"), secret=secret)
    connector(SECRET, SECRET_2).verify(request(token))
    with pytest.raises(SignatureInvalid):
        connector(SECRET_2 if secret == SECRET else SECRET).verify(request(token))


def _flip(token: bytes, part: int) -> bytes:
    """The token with one character of part `part` (0 header, 1 payload, 2 signature) changed."""
    parts = token.split(b".")
    middle = len(parts[part]) // 2
    char = parts[part][middle:middle + 1]
    parts[part] = parts[part][:middle] + (b"A" if char != b"A" else b"B") + parts[part][middle + 1:]
    return b".".join(parts)


@pytest.mark.parametrize("part", [0, 1, 2], ids=["header", "payload", "signature"])
def test_a_changed_byte_fails(part):
    token = sign(claims_of("sms_inbound"))
    assert _flip(token, part) != token
    with pytest.raises(SignatureInvalid):
        connector().verify(request(_flip(token, part)))


def test_a_changed_claim_fails():
    token = sign(claims_of("sms_inbound"))
    header, _, signature = token.split(b".")
    forged = claims_of("sms_inbound") | {"text": "All good, thanks!"}
    with pytest.raises(SignatureInvalid):
        connector().verify(request(header + b"." + b64url(json.dumps(forged).encode()).encode() + b"." + signature))


def test_a_wrong_secret_fails():
    with pytest.raises(SignatureInvalid):
        connector().verify(request(sign(claims_of("call_hangup"), secret="x" * 64)))


@pytest.mark.parametrize("body", [b"", b"   \n", b"\xff\xfe\x00garbage", b"not-a-jwt", b"a.b", b"a.b.c",
                                  b"a.b.c.d.e", b"....", "ä.ö.ü".encode()],
                         ids=["empty", "blank", "binary", "one-part", "two-parts", "bad-base64", "five-parts",
                              "empty-parts", "non-ascii"])
def test_a_missing_or_malformed_jwt_fails(body):
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body))


@pytest.mark.parametrize("body", [json.dumps(claims_of("call_hangup")).encode(), b"[]", b'  {"state": "hangup"}'],
                         ids=["plain-json", "json-array", "padded-json"])
def test_unsigned_json_is_refused(body):
    with pytest.raises(SignatureInvalid, match="unsigned"):
        connector().verify(request(body, "application/json"))


@pytest.mark.parametrize("token", [
    pytest.param(unsigned(claims_of("call_hangup")), id="alg-none"),
    pytest.param(unsigned(claims_of("call_hangup"), signature="c2lnbmF0dXJl"), id="alg-none-with-signature"),
    pytest.param(sign(claims_of("call_hangup"), algorithm="HS512"), id="hs512-right-key"),
    pytest.param(sign(claims_of("call_hangup"), algorithm="HS384"), id="hs384-right-key"),
    pytest.param(sign_by_hand(json.dumps(claims_of("call_hangup")).encode(), header={"alg": "HS512", "typ": "JWT"}),
                 id="hs512-header-hs256-signature"),
    pytest.param(sign_by_hand(json.dumps(claims_of("call_hangup")).encode(), header={"typ": "JWT"}), id="no-alg"),
])
def test_other_algorithms_are_refused(token):
    with pytest.raises(SignatureInvalid):
        connector().verify(request(token))


@pytest.mark.parametrize(
    ("offset_s", "accepted"),
    [(0, True), (-300, True), (300, True), (-301, False), (301, False), (-86400, False), (86400, False)],
)
def test_iat_is_accepted_only_within_the_window_both_ways(offset_s, accepted):
    token = sign(claims_of("call_hangup"), iat=NOW + offset_s)
    if accepted:
        connector().verify(request(token))
    else:
        with pytest.raises(SignatureInvalid, match="iat"):
            connector().verify(request(token))


def test_the_window_is_the_configured_tolerance():
    token = sign(claims_of("call_hangup"), iat=NOW - 100)
    connector(tolerance_s=100).verify(request(token))
    with pytest.raises(SignatureInvalid):
        connector(tolerance_s=99).verify(request(token))


@pytest.mark.parametrize(("extra", "accepted"), [
    ({}, True), ({"exp": NOW + 60}, True), ({"exp": NOW - 300}, True), ({"exp": NOW - 301}, False),
    ({"iat": str(NOW)}, False), ({"iat": True}, False), ({"exp": "soon"}, False), ({"iat": float(NOW)}, True),
    ({"iat": float("nan")}, False), ({"exp": float("inf")}, False),
], ids=["no-iat", "exp-future", "exp-edge", "exp-past", "iat-string", "iat-boolean", "exp-string", "iat-float",
        "iat-nan", "exp-infinite"])
def test_time_claims_are_checked_when_present(extra, accepted):
    token = sign(claims_of("sms_inbound"), **extra)
    if accepted:
        connector().verify(request(token))
    else:
        with pytest.raises(SignatureInvalid):
            connector().verify(request(token))


def test_without_secrets_nothing_verifies():
    with pytest.raises(SignatureInvalid):
        DialpadConnector((), clock=lambda: NOW).verify(request(sign(claims_of("call_hangup"))))


# --- events ----------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b'"hangup"', b"\xff\xfe"],
                         ids=["text", "array", "string", "binary"])
def test_an_authentic_token_whose_claims_are_not_a_json_object_is_malformed(payload):
    token = sign_by_hand(payload)
    connector().verify(request(token))
    with pytest.raises(MalformedPayload):
        connector().events(request(token))


@pytest.mark.parametrize("claims", [
    pytest.param({"call_id": 1}, id="call-without-state"),
    pytest.param({"call_id": 1, "state": ""}, id="blank-state"),
    pytest.param({"state": "hangup"}, id="state-without-call-id"),
    pytest.param({"call_id": True, "state": "hangup"}, id="boolean-call-id"),
    pytest.param({"from_number": CUSTOMER, "text": "hi"}, id="sms-without-id"),
])
def test_authentic_events_missing_their_ids_are_malformed(claims):
    token = sign(claims)
    connector().verify(request(token))
    with pytest.raises(MalformedPayload):
        connector().events(request(token))


def test_non_jwt_bodies_are_malformed_for_events():
    for body in (b"not json", b"", b'{"call_id": 1}'):
        with pytest.raises(MalformedPayload):
            connector().events(request(body))


def test_a_status_update_of_the_same_sms_dedupes_with_it():
    first = connector().events(request(sign(claims_of("sms_inbound"))))[0]
    update = connector().events(request(sign(claims_of("sms_inbound") | {"message_status": "delivered"})))[0]
    assert first.event_id == update.event_id == "sms:4920118377316352"


def test_other_subscription_kinds_get_a_stable_id_and_are_ignored():
    first, again = (connector().events(request(sign(claims_of("contact_event"))))[0] for _ in range(2))
    assert first.event_id == again.event_id and first.event_type == "dialpad.other"
    changed = connector().events(request(sign(claims_of("contact_event") | {"event": "Deleted"})))[0]
    assert changed.event_id != first.event_id and not connector().handles(changed.event_type)


@pytest.mark.parametrize(("event_type", "handled"), [
    ("call.hangup", True), ("call.call_transcription", True), ("call.recap_summary", True), ("sms.inbound", True),
    ("sms.outbound", True), ("sms.unknown", False), ("call.ringing", False), ("call.connected", False),
    ("call.transcription", False), ("call.recap_action_items", False), ("dialpad.other", False), ("", False),
])
def test_handles_only_events_with_customer_content(event_type, handled):
    assert connector().handles(event_type) is handled


# --- parse -----------------------------------------------------------------------------------


def test_parse_hangup():
    call = parse_one("call_hangup")
    assert (call.source, call.thread_key, call.channel) == ("dialpad", f"call:{CALL_ID}", "call")
    assert call.direction == "inbound"
    assert (call.customer.phone, call.customer.name) == (CUSTOMER, "Morgan Reyes")
    assert call.customer.email == "morgan.reyes@reyesplumbing.example"
    assert call.customer.provider_id.endswith("/base/4c1a")
    assert call.occurred_at == datetime(2026, 3, 31, 23, 20, tzinfo=timezone.utc)
    assert call.turns is None and call.summary is None and call.url is None
    assert call.source_ids == {"call_id": CALL_ID, "master_call_id": CALL_ID, "target_id": "5207388610527232"}


def test_parse_transcription_text_keeps_only_lines_whose_speaker_is_certain():
    transcript = parse_one("call_transcription")
    assert [(t.speaker, t.text[:24]) for t in transcript.turns] == [
        ("agent", "Thanks for calling Brigh"), ("customer", "Hi Dana. This is the thi"),
        ("agent", "I'm sorry about that. Le"), ("customer", "I've been waiting three "),
        ("agent", "I'm escalating it to my "),
    ]
    assert transcript.customer.phone == CUSTOMER and transcript.summary is None


@pytest.mark.parametrize("text", [None, "", "Nobody: here\nJust words", 42])
def test_transcription_text_without_known_speakers_brings_no_turns(text):
    assert parse_one("call_transcription", transcription_text=text).turns is None


def test_parse_recap_summary():
    recap = parse_one("call_recap_summary")
    assert recap.thread_key == f"call:{CALL_ID}" and recap.turns is None
    assert recap.summary.startswith("Morgan called for the third time") and recap.summary.endswith("by Friday.")
    assert parse_one("call_recap_summary", recap_summary=[" First.", "", "Second. "]).summary == "First.\nSecond."
    assert parse_one("call_recap_summary", recap_summary=None).summary is None


def test_parse_sms_inbound():
    sms = parse_one("sms_inbound")
    assert (sms.thread_key, sms.channel, sms.direction) == ("message:4920118377316352", "sms", "inbound")
    [turn] = sms.turns
    assert (turn.speaker, turn.id) == ("customer", "sms:4920118377316352")
    assert turn.text.startswith("Still no refund") and "Three weeks —" in turn.text
    assert turn.at == sms.occurred_at == datetime(2026, 3, 31, 23, 31, 5, tzinfo=timezone.utc)
    assert (sms.customer.phone, sms.customer.name, sms.customer.provider_id) == (CUSTOMER, "Morgan Reyes", "4c1a")
    assert sms.source_ids == {"message_id": "4920118377316352"}


@pytest.mark.parametrize("edits", [{"mms": True, "text": "https://dialpad.example/mms/1.jpg"}, {"text": None},
                                   {"text": "   "}], ids=["mms", "text-not-exported", "blank"])
def test_sms_without_usable_text_brings_no_turns(edits):
    sms = parse_one("sms_inbound", **edits)
    assert sms.turns is None and sms.customer.phone == CUSTOMER


@pytest.mark.parametrize("name", ["call_ringing", "contact_event"])
def test_unused_events_parse_to_nothing(name):
    assert parse_claims(claims_of(name)) == []


def test_call_events_share_one_thread():
    names = ["call_recap_summary", "call_transcription", "call_hangup"]
    assert {parse_one(n).thread_key for n in names} == {f"call:{CALL_ID}"}


def test_odd_call_fields_degrade_to_none():
    call = parse_one("call_hangup", contact="x", external_number="anonymous", direction="sideways",
                     date_started=None, event_timestamp=1_774_999_680)
    assert (call.customer.phone, call.customer.name, call.direction) == (None, None, None)
    assert call.occurred_at == datetime(2026, 3, 31, 23, 28, tzinfo=timezone.utc)  # seconds are understood too
    assert parse_one("call_hangup", date_started=True, event_timestamp="x").occurred_at is None


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -5, 10**20])
def test_impossible_times_are_none_not_a_crash(value):
    assert parse_one("call_hangup", date_started=value, event_timestamp=value).occurred_at is None


def test_deeply_nested_claims_are_malformed_not_a_crash():
    token = sign_by_hand(b"[" * 100_000 + b"]" * 100_000)
    connector().verify(request(token))
    with pytest.raises(MalformedPayload):
        connector().events(request(token))


def test_parse_needs_the_call_id():
    with pytest.raises(MalformedPayload):
        parse_claims({**claims_of("call_hangup"), "call_id": None})


# --- hydration -------------------------------------------------------------------------------

LINES = [
    {"contact_id": "ag5kZXZ-dWJlci12b2ljZXIOCxIHQ29udGFjdBjoBww", "content": "hi, it's about my refund again",
     "name": "(312) 555-0147", "time": "2026-03-31T23:20:15.300000", "type": "transcript"},
    {"content": "Thanks for calling, this is Dana", "name": "Dana Whitfield", "time": "2026-03-31T23:20:13.300000",
     "type": "transcript", "user_id": "5207388610527232"},
    {"content": "refund_request", "name": "Dana Whitfield", "time": "2026-03-31T23:20:16.300000", "type": "moment",
     "user_id": "5207388610527232"},
    {"content": "  ", "name": "(312) 555-0147", "type": "transcript", "contact_id": "ag5"},
    {"content": "no speaker id", "name": "Someone", "type": "transcript"},
    {"content": "three weeks and nobody called back", "name": "(312) 555-0147", "type": "transcript",
     "contact_id": "ag5", "time": "2026-03-31T23:21:02Z"},
]


@pytest.fixture
def dialpad_api():
    """A local server answering like dialpad.com/api/v2 (Bearer API key)."""
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == f"Bearer {API_KEY}") as server:
        server.route("GET", "/api/v2/transcripts/<call_id>",
                     lambda req, call_id: (200, {"call_id": call_id, "lines": LINES}))
        yield server


def hydrate(server: JsonAPIServer, claims: dict, key: str = API_KEY, slept: list | None = None) -> list:
    """Parse then hydrate a signed token of `claims` against the local server."""
    event = InboundEvent("e", "t", sign(claims))
    made = connector(api={"base_url": server.base_url, "api_key": key})
    if slept is not None:
        made.sleep = slept.append
    return made.hydrate(made.parse(event), event)


def test_hydration_fetches_the_transcript_lines_with_the_api_key(dialpad_api):
    [transcript] = hydrate(dialpad_api, claims_of("call_transcription"))
    assert [(t.speaker, t.text) for t in transcript.turns] == [
        ("customer", "hi, it's about my refund again"), ("agent", "Thanks for calling, this is Dana"),
        ("customer", "three weeks and nobody called back")]
    assert transcript.turns[0].at == datetime(2026, 3, 31, 23, 20, 15, 300000, tzinfo=timezone.utc)
    assert transcript.turns[2].at == datetime(2026, 3, 31, 23, 21, 2, tzinfo=timezone.utc)
    [seen] = dialpad_api.requests
    assert (seen.path, seen.status) == (f"/api/v2/transcripts/{CALL_ID}", 200)
    assert seen.headers["Authorization"] == f"Bearer {API_KEY}"


def test_hydration_learns_the_customer_number_from_the_transcript(dialpad_api):
    claims = {**claims_of("call_transcription"), "contact": {}, "external_number": None}
    [transcript] = hydrate(dialpad_api, claims)
    assert transcript.customer.phone == CUSTOMER


@pytest.mark.parametrize("name", ["call_hangup", "call_recap_summary", "sms_inbound"])
def test_only_transcription_events_are_hydrated(dialpad_api, name):
    assert hydrate(dialpad_api, claims_of(name)) == parse_claims(claims_of(name))
    assert dialpad_api.requests == []


def test_hydration_without_an_api_key_is_skipped(dialpad_api):
    [transcript] = hydrate(dialpad_api, claims_of("call_transcription"), key="")
    assert transcript == parse_one("call_transcription") and dialpad_api.requests == []


def test_a_wrong_api_key_is_a_provider_error_that_is_not_retried(dialpad_api):
    with pytest.raises(ProviderError) as caught:
        hydrate(dialpad_api, claims_of("call_transcription"), key="revoked")
    assert (caught.value.status, caught.value.retryable) == (401, False)
    assert len(dialpad_api.requests) == 1


def test_a_missing_transcript_degrades_to_the_webhook_text(dialpad_api):
    dialpad_api.fail_next("/api/v2/transcripts/", 404, body={"error": {"message": "not found"}})
    [transcript] = hydrate(dialpad_api, claims_of("call_transcription"))
    assert transcript == parse_one("call_transcription") and len(transcript.turns) == 5


def test_429_with_retry_after_is_waited_then_succeeds(dialpad_api):
    slept: list = []
    dialpad_api.fail_next("/api/v2/transcripts/", 429, headers={"Retry-After": "1"})
    [transcript] = hydrate(dialpad_api, claims_of("call_transcription"), slept=slept)
    assert slept == [1.0] and len(transcript.turns) == 3
    assert [r.status for r in dialpad_api.requests] == [429, 200]


def test_server_errors_are_retryable_after_bounded_attempts(dialpad_api):
    dialpad_api.fail_next("/api/v2/transcripts/", 500, count=10)
    with pytest.raises(ProviderError) as caught:
        hydrate(dialpad_api, claims_of("call_transcription"), slept=[])
    assert (caught.value.status, caught.value.retryable) == (500, True)
    assert len(dialpad_api.requests) == 3


@pytest.mark.parametrize("answer", [{"call_id": 1, "lines": []}, {"lines": None}, [1], {"lines": 5}, "text",
                                    {"lines": [{"type": "moment", "content": "x", "user_id": 1}]},
                                    {"lines": [{"type": ["transcript"], "content": "x", "user_id": 1}]}])
def test_an_answer_without_speaker_lines_keeps_the_webhook_text(answer):
    with JsonAPIServer() as server:
        server.route("GET", "/api/v2/transcripts/<call_id>", lambda req, call_id: (200, answer))
        [transcript] = hydrate(server, claims_of("call_transcription"))
    assert transcript == parse_one("call_transcription")


# --- the web path ----------------------------------------------------------------------------


@pytest.fixture
def dialpad_settings(settings):
    """The app's settings with the Dialpad webhook secret configured (two, as during rotation)."""
    settings.dialpad_webhook_secret = pydantic.SecretStr(f"{SECRET_2},{SECRET}")
    return settings


def stored_events(app) -> list:
    """The inbox rows, oldest first."""
    from integration.models import WebhookEvent

    with app.extensions["undertone"].db.session() as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def test_web_a_signed_event_is_stored_and_unsigned_ones_are_refused(dialpad_settings, app, client):
    plain = json.dumps(claims_of("call_transcription")).encode()
    wrong_key = sign(claims_of("call_transcription"), secret="y" * 64)
    for body in (plain, unsigned(claims_of("call_transcription")), wrong_key):
        refused = client.post("/webhooks/dialpad", data=body, headers={"content-type": "application/jwt"})
        assert refused.status_code == 401
    assert stored_events(app) == []
    token = sign(claims_of("call_transcription"), iat=int(time.time()))
    response = client.post("/webhooks/dialpad", data=token, headers={"content-type": "application/jwt"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["accepted"] == 1
    [row] = stored_events(app)
    assert (row.source, row.event_id, row.event_type, row.status) == (
        "dialpad", f"{CALL_ID}:call_transcription", "call.call_transcription", "pending")
    assert row.body == token
