"""Twilio connector: signatures (form, JSON, SharedKey), callback kinds, parsing, hydration, the endpoint.

Fixture bodies are raw form posts signed at test time (tests/connectors/signing_twilio.py) against
the public URL, with twilio's RequestValidator and with an independent HMAC, which must agree.
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from connectors.base import InboundEvent, MalformedPayload, SignatureInvalid, WebhookRequest
from connectors.http import ProviderError
from connectors.twilio import TwilioConnector
from tests.connectors.signing_twilio import (
    SETTINGS,
    SIGNATURE,
    form_pairs,
    independent_signature,
    json_url,
    reference_signature,
    sign_form,
    sign_json,
)
from tests.servers.json_api import JsonAPIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "twilio"
FORM_FIXTURES = sorted(p.stem for p in FIXTURES.glob("*.txt"))
URL = "https://undertone.example/webhooks/twilio"
TOKEN = "9f3b2c1d8e7a6f5e4d3c2b1a0f9e8d7c"
TOKEN_2 = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
ACCOUNT = "AC3f7e2a9c41b84d6e8a0c5b7d9e1f2a3b"
CALL = "CA9d4e7b2a6c1f4e8b9a3d5c7e1f0b2d4a"
RECORDING = "RE5b8c1d9e3f7a4b6c8d2e0f1a3b5c7d9e"
TRANSCRIPTION = "TR7a1c3e5b9d2f4a6c8e0b1d3f5a7c9e2b"
MESSAGE = "SM2e4a6c8e0b1d3f5a7c9e1b3d5f7a9c0e"
CUSTOMER, BUSINESS = "+13125550147", "+16175550100"


def connector(*tokens: str, api: dict | None = None) -> TwilioConnector:
    """A connector holding `tokens` (TOKEN by default) and optional API settings."""
    return TwilioConnector(tokens or (TOKEN,), api=api)


def fixture(name: str, ext: str = "txt") -> bytes:
    """A fixture's raw bytes, exactly as Twilio would post them."""
    return (FIXTURES / f"{name}.{ext}").read_bytes()


def params(name: str) -> dict[str, str]:
    """A form fixture as an editable dict."""
    return dict(form_pairs(fixture(name)))


def form(values: dict[str, str]) -> bytes:
    """A form body from parameters."""
    return urlencode(values).encode()


def request(body: bytes, headers: dict[str, str], url: str = URL) -> WebhookRequest:
    """A request as the web layer builds it (`url` is the public URL)."""
    return WebhookRequest(body=body, headers=headers, url=url)


def signed(body: bytes, token: str = TOKEN, url: str = URL) -> WebhookRequest:
    """A form body signed for `url` and posted to it."""
    return request(body, sign_form(url, body, token), url)


def event_of(body: bytes) -> InboundEvent:
    """The single event a body yields."""
    [event] = connector().events(request(body, {}))
    return event


def parse_body(body: bytes) -> list:
    """parse() of a body's event."""
    return connector().parse(event_of(body))


# --- signatures -----------------------------------------------------------------------------


def test_signing_helpers_match_twilios_published_vector():
    """The example in Twilio's docs and SDK tests: token 12345, this URL and these parameters."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    pairs = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
             ("From", "+14158675309"), ("To", "+18005551212")]
    assert independent_signature(url, pairs, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert reference_signature(url, form(dict(pairs)), "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@pytest.mark.parametrize("name", FORM_FIXTURES)
@pytest.mark.parametrize(("algorithm", "digest"), [(None, "sha1"), ("HMAC_SHA256", "sha256")])
def test_reference_and_independent_signatures_agree(name, algorithm, digest):
    body = fixture(name)
    reference = reference_signature(URL, body, TOKEN, algorithm)
    assert reference == independent_signature(URL, form_pairs(body), TOKEN, digest)
    assert len(base64.b64decode(reference)) == (20 if digest == "sha1" else 32)


@pytest.mark.parametrize("name", FORM_FIXTURES)
def test_signed_fixtures_verify(name):
    connector().verify(signed(fixture(name)))


def test_the_signature_covers_parameters_not_their_order():
    body = fixture("sms_received")
    reordered = b"&".join(reversed(body.split(b"&")))
    connector().verify(request(reordered, sign_form(URL, body, TOKEN)))


def _tampered(edit) -> dict[str, str]:
    values = params("sms_received")
    edit(values)
    return values


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(form(_tampered(lambda v: v.update(Body="All good, thanks!"))), id="changed-value"),
        pytest.param(form(_tampered(lambda v: v.update(From="+13125550999"))), id="changed-sender"),
        pytest.param(form(_tampered(lambda v: v.update(Extra="1"))), id="extra-param"),
        pytest.param(form(_tampered(lambda v: v.pop("NumMedia"))), id="removed-param"),
        pytest.param(form(_tampered(lambda v: v.update(Body=v["Body"] + " "))), id="trailing-space"),
    ],
)
def test_a_changed_body_fails(body):
    original = fixture("sms_received")
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, sign_form(URL, original, TOKEN)))


@pytest.mark.parametrize(
    "posted_to",
    [
        pytest.param("http://undertone.example/webhooks/twilio", id="http-not-https"),
        pytest.param("https://other.example/webhooks/twilio", id="other-host"),
        pytest.param("https://undertone.example/webhooks/quo", id="other-path"),
        pytest.param("https://undertone.example/webhooks/twilio?x=1", id="added-query"),
        pytest.param("https://undertone.example/webhooks/twilio/", id="trailing-slash"),
    ],
)
def test_the_public_url_is_part_of_the_signature(posted_to):
    body = fixture("sms_received")
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, sign_form(URL, body, TOKEN), url=posted_to))
    connector().verify(request(body, sign_form(posted_to, body, TOKEN), url=posted_to))


@pytest.mark.parametrize(("signed_for", "posted_to"), [
    ("https://undertone.example:443/webhooks/twilio", URL),
    (URL, "https://undertone.example:443/webhooks/twilio"),
])
def test_the_default_port_may_or_may_not_be_in_the_signed_url(signed_for, posted_to):
    body = fixture("sms_received")
    connector().verify(request(body, sign_form(signed_for, body, TOKEN), url=posted_to))


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({SIGNATURE: ""}, id="empty"),
        pytest.param({SIGNATURE: "not base64 at all!"}, id="garbage"),
        pytest.param({SIGNATURE: base64.b64encode(b"\0" * 20).decode()}, id="zero-digest"),
        pytest.param({"X-Twilio-Signature-Sha1": "x"}, id="other-header"),
    ],
)
def test_missing_or_malformed_signature_headers_fail(headers):
    with pytest.raises(SignatureInvalid):
        connector().verify(request(fixture("sms_received"), headers))


def test_a_wrong_token_fails():
    with pytest.raises(SignatureInvalid, match="no configured token"):
        connector().verify(signed(fixture("transcription_completed"), token="not-our-token"))


def test_the_header_is_found_whatever_its_case():
    body = fixture("sms_received")
    connector().verify(request(body, {"x-twilio-signature": reference_signature(URL, body, TOKEN)}))


def test_either_token_verifies_during_rotation():
    body = fixture("recording_completed")
    for token in (TOKEN, TOKEN_2):
        connector(TOKEN, TOKEN_2).verify(signed(body, token=token))
    with pytest.raises(SignatureInvalid):
        connector(TOKEN).verify(signed(body, token=TOKEN_2))


def test_without_tokens_nothing_verifies():
    with pytest.raises(SignatureInvalid):
        TwilioConnector(()).verify(signed(fixture("sms_received")))


def test_a_shared_key_signature_uses_the_named_algorithm():
    body, secret = fixture("sms_received"), "sharedkey-secret-0001"
    headers = sign_form(URL, body, secret, "HMAC_SHA256")
    connector(TOKEN, secret).verify(request(body, headers))
    with pytest.raises(SignatureInvalid):  # the same digest read as SHA-1
        connector(TOKEN, secret).verify(request(body, {SIGNATURE: headers[SIGNATURE]}))
    with pytest.raises(SignatureInvalid, match="unsupported"):
        connector(secret).verify(request(body, {**headers, SETTINGS: "key=k,algorithm=HMAC_MD5"}))


def test_an_unusable_request_url_fails_closed():
    body = fixture("sms_received")
    url = "https://undertone.example:99999/webhooks/twilio"
    with pytest.raises(SignatureInvalid, match="URL"):
        connector().verify(request(body, sign_form(URL, body, TOKEN), url=url))


@pytest.mark.parametrize("body", [b"Body=\xff\xfe", b"a=1&" * 600], ids=["not-utf8", "too-many-fields"])
def test_bodies_twilio_cannot_have_signed_fail_before_any_hmac(body):
    with pytest.raises(SignatureInvalid, match="cannot be a signed"):
        connector().verify(request(body, {SIGNATURE: "x" * 28}))


# --- JSON bodies (bodySHA256) ---------------------------------------------------------------


def test_a_json_body_with_its_hash_in_the_url_verifies():
    body = fixture("sms_received", "json")
    url = json_url(URL, body)
    connector().verify(request(body, sign_json(url, TOKEN), url=url))
    connector(TOKEN_2, TOKEN).verify(request(body, sign_json(url, TOKEN), url=url))


def test_a_tampered_json_body_fails():
    body = fixture("sms_received", "json")
    url = json_url(URL, body)
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body.replace(b"Much better", b"Much worse!"), sign_json(url, TOKEN), url=url))
    forged_url = json_url(URL, body.replace(b"Much better", b"Much worse!"))
    with pytest.raises(SignatureInvalid):  # a matching hash does not help: the URL is signed
        connector().verify(request(body.replace(b"Much better", b"Much worse!"), sign_json(url, TOKEN), url=forged_url))


def test_a_json_body_without_bodysha256_is_checked_as_a_form():
    body = fixture("sms_received", "json")
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, sign_json(URL, TOKEN)))


def test_json_events_and_parse_read_the_same_parameter_names():
    body = fixture("sms_received", "json")
    [event] = connector().events(request(body, {}))
    assert (event.event_id, event.event_type) == ("sms:SM4f6b8d0a2c4e6b8d0f2a4c6e8b0d2f4a", "sms")
    [message] = connector().parse(event)
    assert message.turns[0].text == "Ok thanks, the technician fixed it. Much better now!"
    assert message.customer.phone == CUSTOMER and message.channel == "sms"


# --- events and handles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "event_id", "event_type", "handled"),
    [
        ("sms_received", f"sms:{MESSAGE}", "sms", True),
        ("transcription_completed", f"transcription:{TRANSCRIPTION}", "transcription", True),
        ("transcription_failed", f"transcription:{TRANSCRIPTION}", "transcription.failed", False),
        ("recording_completed", f"recording:{RECORDING}:completed", "recording", True),
        ("call_status_completed", f"call_status:{CALL}:completed", "call_status", False),
        ("message_status_delivered", "message_status:SM8c0e2a4c6e8b0d2f4a6c8e1b3d5f7a9c:delivered",
         "message_status.sent", True),
    ],
)
def test_kind_event_id_and_handling_follow_the_parameters(name, event_id, event_type, handled):
    req = signed(fixture(name))
    connector().verify(req)
    [event] = connector().events(req)
    assert (event.event_id, event.event_type, event.body) == (event_id, event_type, fixture(name))
    assert connector().handles(event.event_type) is handled


@pytest.mark.parametrize("status", ["in-progress", "absent", "failed"])
def test_unfinished_recordings_are_distinct_ignored_events(status):
    event = event_of(form({**params("recording_completed"), "RecordingStatus": status}))
    assert (event.event_id, event.event_type) == (f"recording:{RECORDING}:{status}", f"recording.{status}")
    assert not connector().handles(event.event_type)


@pytest.mark.parametrize("event_type", ["SMS", "transcription.failed", "recording.absent", "call_status",
                                        "message_status", "", "call"])
def test_handles_nothing_else(event_type):
    assert connector().handles(event_type) is False


def _edited(name: str, **changes) -> bytes:
    values = params(name)
    for key, value in changes.items():
        if value is None:
            values.pop(key)
        else:
            values[key] = value
    return form(values)


MALFORMED = [
    pytest.param(b"this is not a form", id="prose"),
    pytest.param(b"", id="empty"),
    pytest.param(b"{not json", id="broken-json"),
    pytest.param(b'{"ok": true}', id="json-without-sids"),
    pytest.param(b"[1, 2]", id="json-array"),
    pytest.param(b"To=%2B16175550100&Body=hi", id="form-without-sids"),
    pytest.param(b"MessageSid=SM1&Body=%FF", id="not-utf8-escapes"),
    pytest.param(b"MessageSid=SM1&Body=hi&&x", id="stray-field"),
    pytest.param(b"a=1&" * 501 + b"MessageSid=SM1&Body=hi", id="too-many-fields"),
    pytest.param(_edited("sms_received", MessageSid="SM../../x"), id="odd-sid"),
    pytest.param(_edited("transcription_completed", CallSid=None), id="transcription-without-call"),
    pytest.param(_edited("transcription_completed", TranscriptionStatus=None), id="transcription-without-status"),
    pytest.param(_edited("recording_completed", CallSid=""), id="recording-empty-call"),
    pytest.param(_edited("recording_completed", RecordingStatus="done:1"), id="recording-odd-status"),
    pytest.param(_edited("call_status_completed", CallStatus=None), id="call-without-status"),
    pytest.param(_edited("message_status_delivered", MessageStatus=None, SmsStatus=None), id="status-without-status"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_an_authentic_but_unreadable_body_is_malformed(body):
    req = request(body, {SIGNATURE: reference_signature(URL, body, TOKEN)})
    if body.count(b"&") < 500:  # the signature is valid: the body is authentic, just unreadable
        connector().verify(req)
    with pytest.raises(MalformedPayload):
        connector().events(req)


def test_an_authentic_non_json_body_with_a_body_hash_is_malformed():
    body = b"this is not json"
    url = json_url(URL, body)
    req = request(body, sign_json(url, TOKEN), url=url)
    connector().verify(req)
    with pytest.raises(MalformedPayload):
        connector().events(req)


# --- parse ----------------------------------------------------------------------------------


def test_parse_sms():
    [message] = parse_body(fixture("sms_received"))
    assert (message.source, message.thread_key, message.channel, message.direction) == (
        "twilio", f"message:{MESSAGE}", "sms", "inbound")
    assert message.customer.phone == CUSTOMER and message.customer.email is None
    [turn] = message.turns
    assert (turn.speaker, turn.id) == ("customer", MESSAGE)
    assert turn.text == ("Still no refund \u2014 third time I'm asking & nobody calls back. "
                         "100% fed up = cancelling +1 star")  # &, =, %, + and non-ASCII survive
    assert message.occurred_at is None and message.summary is None and message.url is None
    assert message.source_ids == {"message_sid": MESSAGE, "account_sid": ACCOUNT,
                                  "messaging_service_sid": "MG1b3d5f7a9c0e2a4c6e8b0d2f4a6c8e1b"}


@pytest.mark.parametrize("body", ["", "   "])
def test_a_text_without_words_brings_no_turns(body):
    [message] = parse_body(_edited("sms_received", Body=body, NumMedia="1"))
    assert message.turns is None and message.customer.phone == CUSTOMER


def test_a_whatsapp_sender_is_still_a_phone_number():
    [message] = parse_body(_edited("sms_received", From=f"whatsapp:{CUSTOMER}"))
    assert message.customer.phone == CUSTOMER


def test_parse_transcription_of_an_inbound_call_is_the_customers_turn():
    [call] = parse_body(fixture("transcription_completed"))
    assert (call.thread_key, call.channel, call.direction) == (f"call:{CALL}", "call", "inbound")
    assert call.customer.phone == CUSTOMER
    [turn] = call.turns
    assert (turn.speaker, turn.id, turn.at) == ("customer", TRANSCRIPTION, None)
    assert turn.text.startswith("Hi, this is Maria Lopez") and "really frustrated" in turn.text
    assert call.append_turns is True and call.occurred_at is None
    assert call.source_ids == {"call_sid": CALL, "recording_sid": RECORDING,
                               "transcription_sid": TRANSCRIPTION, "account_sid": ACCOUNT}


@pytest.mark.parametrize(
    ("direction", "phone", "normalised"),
    [("outbound-api", CUSTOMER, "outbound"), ("outbound-dial", None, None), (None, None, None)],
)
def test_other_transcriptions_are_not_attributed(direction, phone, normalised):
    body = _edited("transcription_completed", Direction=direction, From=BUSINESS, To=CUSTOMER)
    [call] = parse_body(body)
    assert call.turns[0].speaker == "" and call.direction == normalised
    assert call.customer.phone == phone  # outbound-api: the called party (To); otherwise unknown


def test_a_failed_transcription_brings_no_turns():
    [call] = parse_body(fixture("transcription_failed"))
    assert call.turns is None and call.thread_key == f"call:{CALL}"


def test_parse_recording_has_the_call_and_time_but_no_words():
    [call] = parse_body(fixture("recording_completed"))
    assert (call.thread_key, call.channel, call.turns, call.direction) == (f"call:{CALL}", "call", None, None)
    assert call.customer.phone is None
    assert call.occurred_at == datetime(2026, 3, 2, 15, 17, 3, tzinfo=timezone.utc)
    assert call.source_ids == {"call_sid": CALL, "recording_sid": RECORDING, "account_sid": ACCOUNT}


def test_a_bad_recording_start_time_is_none():
    [call] = parse_body(_edited("recording_completed", RecordingStartTime="yesterday"))
    assert call.occurred_at is None


@pytest.mark.parametrize("name", ["call_status_completed"])
def test_kinds_without_words_parse_to_nothing(name):
    assert parse_body(fixture(name)) == []


def test_a_calls_events_share_one_thread():
    names = ["transcription_completed", "recording_completed", "transcription_failed"]
    assert {parse_body(fixture(n))[0].thread_key for n in names} == {f"call:{CALL}"}


# --- hydration ------------------------------------------------------------------------------


def basic(user: str, token: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


CALL_JSON = {"sid": CALL, "account_sid": ACCOUNT, "from": CUSTOMER, "to": BUSINESS, "direction": "inbound",
             "start_time": "Mon, 02 Mar 2026 15:16:40 +0000", "status": "completed"}


def _transcriptions(*entries: dict) -> dict:
    return {"transcriptions": list(entries), "next_page_uri": None, "page": 0, "page_size": 50}


def _entry(sid: str, text: str, status: str = "completed") -> dict:
    return {"sid": sid, "account_sid": ACCOUNT, "recording_sid": RECORDING, "status": status,
            "transcription_text": text, "type": "fast", "duration": "38"}


@pytest.fixture
def twilio_api():
    """A local server answering like api.twilio.com for one account, with basic auth."""
    calls = {"call": CALL_JSON}
    listing = {"value": _transcriptions(
        _entry("TRaaaa0000000000000000000000000001", "Nobody called me back, I want my refund."),
        _entry("TRaaaa0000000000000000000000000002", "THIS IS A TEST", "in-progress"),  # as in Twilio's example
        _entry("TRaaaa0000000000000000000000000003", "Please call me today."),
    )}
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == basic(ACCOUNT, TOKEN)) as server:
        base = f"/2010-04-01/Accounts/{ACCOUNT}"
        server.route("GET", f"{base}/Calls/<sid>.json", lambda req, sid: (200, calls["call"]))
        server.route("GET", f"{base}/Recordings/<sid>/Transcriptions.json", lambda req, sid: (200, listing["value"]))
        server.listing, server.calls = listing, calls
        yield server


def hydrating(server: JsonAPIServer, tokens: str = TOKEN, account_sid: str = ACCOUNT) -> TwilioConnector:
    """A worker-side connector for `server`; retry waits are recorded, not slept."""
    built = TwilioConnector((), api={"base_url": server.base_url, "account_sid": account_sid, "auth_token": tokens})
    built.slept = []
    built.sleep = built.slept.append
    return built


def hydrate(built: TwilioConnector, body: bytes) -> list:
    event = event_of(body)
    return built.hydrate(built.parse(event), event)


def test_hydrating_a_recording_fetches_the_call_and_its_transcriptions(twilio_api):
    [call] = hydrate(hydrating(twilio_api), fixture("recording_completed"))
    assert (call.customer.phone, call.direction) == (CUSTOMER, "inbound")
    assert [(t.speaker, t.id, t.text) for t in call.turns] == [
        ("customer", "TRaaaa0000000000000000000000000001", "Nobody called me back, I want my refund."),
        ("customer", "TRaaaa0000000000000000000000000003", "Please call me today."),
    ]
    assert call.append_turns and call.occurred_at == datetime(2026, 3, 2, 15, 17, 3, tzinfo=timezone.utc)
    assert [(r.method, r.path, r.status) for r in twilio_api.requests] == [
        ("GET", f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json", 200),
        ("GET", f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING}/Transcriptions.json", 200),
    ]
    assert twilio_api.requests[0].headers["Authorization"] == basic(ACCOUNT, TOKEN)


def test_an_outbound_calls_transcriptions_stay_unattributed(twilio_api):
    twilio_api.calls["call"] = {**CALL_JSON, "direction": "outbound-api", "from": BUSINESS, "to": CUSTOMER}
    [call] = hydrate(hydrating(twilio_api), fixture("recording_completed"))
    assert {t.speaker for t in call.turns} == {""}
    assert (call.direction, call.customer.phone) == ("outbound", CUSTOMER)


def test_a_transcription_without_direction_learns_it_from_the_call(twilio_api):
    [call] = hydrate(hydrating(twilio_api), _edited("transcription_completed", Direction=None))
    assert call.direction == "inbound" and call.customer.phone == CUSTOMER
    assert [(t.speaker, t.id) for t in call.turns] == [("customer", TRANSCRIPTION)]
    assert call.occurred_at == datetime(2026, 3, 2, 15, 16, 40, tzinfo=timezone.utc)  # the call's start
    assert [r.path.rsplit("/", 1)[-1] for r in twilio_api.requests] == [f"{CALL}.json"]


@pytest.mark.parametrize("name", ["transcription_completed", "sms_received"])
def test_callbacks_that_carry_everything_are_not_hydrated(twilio_api, name):
    built = hydrating(twilio_api)
    event = event_of(fixture(name))
    parsed = built.parse(event)
    assert built.hydrate(parsed, event) == parsed
    assert twilio_api.requests == []


@pytest.mark.parametrize("api", [
    {"base_url": "", "account_sid": ACCOUNT, "auth_token": TOKEN},
    {"account_sid": ACCOUNT, "auth_token": ""},
    {},
], ids=["no-base-url", "no-token", "nothing"])
def test_without_credentials_hydration_is_skipped(twilio_api, api):
    built = TwilioConnector((), api={"base_url": twilio_api.base_url, **api})
    event = event_of(fixture("recording_completed"))
    parsed = built.parse(event)
    assert built.hydrate(parsed, event) == parsed
    assert twilio_api.requests == []


def test_the_callbacks_account_is_used_when_none_is_configured(twilio_api):
    [call] = hydrate(hydrating(twilio_api, account_sid=""), fixture("recording_completed"))
    assert call.customer.phone == CUSTOMER
    assert twilio_api.requests[0].headers["Authorization"] == basic(ACCOUNT, TOKEN)


def test_a_wrong_token_is_401_and_not_retryable(twilio_api):
    with pytest.raises(ProviderError) as caught:
        hydrate(hydrating(twilio_api, tokens="wrong-token"), fixture("recording_completed"))
    assert (caught.value.status, caught.value.retryable) == (401, False)
    assert len(twilio_api.requests) == 1


def test_during_rotation_the_next_token_is_tried_after_a_401(twilio_api):
    [call] = hydrate(hydrating(twilio_api, tokens=f"retired-token,{TOKEN}"), fixture("recording_completed"))
    assert len(call.turns) == 2
    assert [r.status for r in twilio_api.requests] == [401, 200, 401, 200]


def test_a_deleted_recording_degrades_to_what_the_callback_carried(twilio_api):
    twilio_api.fail_next("/2010-04-01/Accounts/" + ACCOUNT + "/Recordings/", 404, body={
        "code": 20404, "message": "The requested resource was not found", "status": 404})
    [call] = hydrate(hydrating(twilio_api), fixture("recording_completed"))
    assert call.turns is None and call.customer.phone == CUSTOMER


def test_a_deleted_call_leaves_the_turns_unattributed(twilio_api):
    twilio_api.fail_next(f"/2010-04-01/Accounts/{ACCOUNT}/Calls/", 404)
    [call] = hydrate(hydrating(twilio_api), fixture("recording_completed"))
    assert call.customer.phone is None and call.direction is None
    assert [t.speaker for t in call.turns] == ["", ""]


def test_429_waits_as_told_then_succeeds(twilio_api):
    built = hydrating(twilio_api)
    twilio_api.fail_next(f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/", 429, headers={"Retry-After": "2"})
    [call] = hydrate(built, fixture("recording_completed"))
    assert built.slept == [2.0] and len(call.turns) == 2
    assert [r.status for r in twilio_api.requests] == [200, 429, 200]


def test_a_persistent_500_is_a_retryable_error_after_bounded_attempts(twilio_api):
    built = hydrating(twilio_api)
    twilio_api.fail_next(f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/", 500, count=10)
    with pytest.raises(ProviderError) as caught:
        hydrate(built, fixture("recording_completed"))
    assert (caught.value.status, caught.value.retryable) == (500, True)
    assert [r.status for r in twilio_api.requests] == [200, 500, 500, 500]
    assert len(built.slept) == 2


def test_an_empty_transcription_list_brings_no_turns(twilio_api):
    twilio_api.listing["value"] = _transcriptions()
    [call] = hydrate(hydrating(twilio_api), fixture("recording_completed"))
    assert call.turns is None and call.direction == "inbound"


# --- the web endpoint -----------------------------------------------------------------------


def test_the_endpoint_accepts_a_signed_form_post_and_refuses_a_tampered_one(settings, app, client):
    from integration.models import WebhookEvent

    settings.public_base_url = "https://undertone.example"
    settings.twilio_auth_token = SecretStr(f"{TOKEN_2},{TOKEN}")
    body = fixture("sms_received")
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    response = client.post("/webhooks/twilio", data=body, headers={**form_type, **sign_form(URL, body, TOKEN)})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["accepted"] == 1
    tampered = body.replace(b"Still+no+refund", b"Got+my+refund")
    response = client.post("/webhooks/twilio", data=tampered, headers={**form_type, **sign_form(URL, body, TOKEN)})
    assert response.status_code == 401
    with app.extensions["undertone"].db.session() as session:
        stored = list(session.scalars(select(WebhookEvent).where(WebhookEvent.source == "twilio")))
    assert [(e.event_id, e.event_type, e.status, e.body) for e in stored] == [
        (f"sms:{MESSAGE}", "sms", "pending", body)]


def test_the_endpoint_stores_call_status_callbacks_as_ignored(settings, app, client):
    settings.public_base_url = "https://undertone.example"
    settings.twilio_auth_token = SecretStr(TOKEN)
    body = fixture("call_status_completed")
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign_form(URL, body, TOKEN)}
    response = client.post("/webhooks/twilio", data=body, headers=headers)
    assert response.status_code == 200 and response.get_json()["ignored"] == 1
    response = client.post("/webhooks/twilio", data=body, headers=headers)
    assert response.get_json() == {"accepted": 0, "queued": 0, "duplicates": 1, "ignored": 0}
