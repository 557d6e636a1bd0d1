"""Aircall connector: the body token and timestamp, event splitting, parsing, hydration, the web path.

Fixture bodies are raw JSON files carrying TOKEN and a timestamp equal to the frozen clock NOW; tests
that need another token or time rewrite the body (Aircall signs nothing, so that is all "signing" is).
"""
from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pydantic
import pytest
from sqlalchemy import select

from connectors.aircall import AircallConnector
from connectors.base import InboundEvent, MalformedPayload, SignatureInvalid, WebhookRequest
from connectors.http import ProviderError
from tests.servers.json_api import JsonAPIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aircall"
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))
NOW = 1_775_000_000  # 2026-03-31T23:33:20Z, the fixtures' timestamp
TOKEN = "5f1c0a9e7b3d4c2a8e6f0b1d3c5a7e9f"
TOKEN_2 = "9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e"
CALL_ID = "1839274650"
CUSTOMER = "+13125550147"
API_ID, API_TOKEN = "a1b2c3d4e5f6", "api-token-0001"


def connector(*secrets: str, tolerance_s: int = 300, api: dict | None = None) -> AircallConnector:
    """A connector with a frozen clock and a no-op back-off; TOKEN unless other tokens are given."""
    made = AircallConnector(secrets or (TOKEN,), tolerance_s=tolerance_s, clock=lambda: NOW, api=api)
    made.sleep = lambda seconds: None
    return made


def fixture(name: str) -> bytes:
    """A fixture's raw bytes, exactly as they would be posted."""
    return (FIXTURES / f"{name}.json").read_bytes()


def payload(name: str) -> dict:
    """A fixture as a dict, to edit."""
    return json.loads(fixture(name))


def body_of(document: dict, **envelope) -> bytes:
    """A body from a dict, with envelope fields (token, timestamp, ...) replaced or removed (None)."""
    for key, value in envelope.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    return json.dumps(document).encode()


def request(body: bytes) -> WebhookRequest:
    """A request to our public Aircall endpoint (Aircall sends no auth headers)."""
    return WebhookRequest(body=body, headers={"content-type": "application/json"},
                          url="https://undertone.example/webhooks/aircall")


def parse_one(name: str, document: dict | None = None):
    """The single interaction parsed from a fixture (or an edited copy of one)."""
    document = document or payload(name)
    [item] = connector().parse(InboundEvent("test", document["event"], json.dumps(document).encode()))
    return item


# --- verify ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_each_fixture_verifies_and_is_one_event_stored_without_its_token(name):
    body = fixture(name)
    connector().verify(request(body))
    [event] = connector().events(request(body))
    document = json.loads(body)
    ident = document["data"]["id"]
    assert (event.event_id, event.event_type) == (f"{document['event']}:{ident}", document["event"])
    stored = json.loads(event.body)
    assert "token" not in stored and TOKEN.encode() not in event.body
    assert stored == {k: v for k, v in document.items() if k != "token"}


@pytest.mark.parametrize("secret", [TOKEN, TOKEN_2])
def test_either_token_verifies_during_rotation(secret):
    body = body_of(payload("call_ended"), token=secret)
    connector(TOKEN, TOKEN_2).verify(request(body))
    with pytest.raises(SignatureInvalid):
        connector(TOKEN_2 if secret == TOKEN else TOKEN).verify(request(body))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("0123456789abcdef0123456789abcdef", id="wrong"),
        pytest.param(TOKEN[:-1] + ("0" if TOKEN[-1] != "0" else "1"), id="changed-last-byte"),
        pytest.param("X" + TOKEN[1:], id="changed-first-byte"),
        pytest.param(TOKEN[:-1], id="truncated"),
        pytest.param(TOKEN + " ", id="appended-byte"),
        pytest.param("", id="empty"),
        pytest.param(None, id="missing"),
        pytest.param(12345, id="number"),
        pytest.param([TOKEN], id="list"),
        pytest.param(True, id="boolean"),
        pytest.param("a" * 600, id="oversized"),
    ],
)
def test_a_bad_or_missing_token_fails(token):
    document = payload("message_received")
    body = body_of(document, token=token) if token is not None else body_of(document, token=None)
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body))


def test_the_token_is_not_read_from_headers_or_the_query():
    body = body_of(payload("call_ended"), token=None)
    req = WebhookRequest(body=body, headers={"token": TOKEN, "x-aircall-token": TOKEN},
                         url=f"https://undertone.example/webhooks/aircall?token={TOKEN}")
    with pytest.raises(SignatureInvalid):
        connector().verify(req)


def test_a_changed_byte_outside_the_token_still_verifies_because_aircall_signs_nothing():
    original = fixture("message_received")
    tampered = original.replace(b"ridiculous", b"wonderful!")
    assert tampered != original
    connector().verify(request(tampered))  # documented limitation: the token proves origin, not integrity
    [item] = connector().parse(connector().events(request(tampered))[0])
    assert item.turns[0].text.endswith("this is wonderful!.")


@pytest.mark.parametrize("offset_s", [0, -301, 301, -12 * 3600, 86400])
def test_the_timestamp_is_not_a_replay_window(offset_s):
    """A static token proves nothing about time (whoever holds it can write any timestamp), and a
    late retry refused with 401 would be an event lost: dedupe on the event id stops replays."""
    connector().verify(request(body_of(payload("call_ended"), timestamp=NOW + offset_s)))


@pytest.mark.parametrize("stamp", [None, str(NOW), True])
def test_a_missing_or_odd_timestamp_does_not_refuse_a_tokened_event(stamp):
    connector().verify(request(body_of(payload("call_ended"), timestamp=stamp)))


def test_without_tokens_nothing_verifies():
    bare = AircallConnector((), clock=lambda: NOW)
    with pytest.raises(SignatureInvalid):
        bare.verify(request(fixture("call_ended")))


@pytest.mark.parametrize("body", [b"not json", b"", b"\xff\xfe\x00garbage", b"[1, 2]", b'"call.ended"',
                                  b"token=" + TOKEN.encode(),
                                  pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested")])
def test_a_body_that_is_not_a_json_object_fails_verification_and_is_malformed(body):
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body))
    with pytest.raises(MalformedPayload):
        connector().events(request(body))


# --- events ----------------------------------------------------------------------------------

AUTHENTIC_BUT_MALFORMED = [
    pytest.param({"resource": "call", "data": {"id": 1}}, id="no-event"),
    pytest.param({"event": "", "data": {"id": 1}}, id="empty-event"),
    pytest.param({"event": 7, "data": {"id": 1}}, id="event-not-string"),
    pytest.param({"event": "call.ended"}, id="no-data"),
    pytest.param({"event": "call.ended", "data": [1]}, id="data-not-object"),
    pytest.param({"event": "call.ended", "data": {}}, id="no-id"),
    pytest.param({"event": "call.ended", "data": {"id": True}}, id="boolean-id"),
    pytest.param({"event": "summary.created", "data": {"call_id": " "}}, id="blank-call-id"),
]


@pytest.mark.parametrize("document", AUTHENTIC_BUT_MALFORMED)
def test_an_authentic_but_unreadable_body_is_malformed(document):
    body = body_of(dict(document), token=TOKEN, timestamp=NOW)
    connector().verify(request(body))
    with pytest.raises(MalformedPayload):
        connector().events(request(body))


def test_ai_events_without_their_own_id_dedupe_on_the_call_id():
    document = payload("summary_created")
    del document["data"]["id"]
    [event] = connector().events(request(body_of(document)))
    assert event.event_id == f"summary.created:{CALL_ID}"


def test_a_retry_with_a_rebuilt_timestamp_keeps_the_event_id():
    first = connector().events(request(fixture("call_ended")))[0]
    retry = connector().events(request(body_of(payload("call_ended"), timestamp=NOW + 60)))[0]
    assert first.event_id == retry.event_id == f"call.ended:{CALL_ID}"


@pytest.mark.parametrize(
    ("event_type", "handled"),
    [
        ("call.ended", True), ("transcription.created", True), ("summary.created", True),
        ("sentiment.created", True), ("message.received", True), ("call.created", False),
        ("call.hungup", False), ("call.answered", False), ("message.sent", True), ("topics.created", False),
        ("message.status_updated", False), ("contact.updated", False), ("", False), ("CALL.ENDED", False),
    ],
)
def test_handles_only_events_with_customer_content(event_type, handled):
    assert connector().handles(event_type) is handled


# --- parse -----------------------------------------------------------------------------------


def test_parse_call_ended():
    call = parse_one("call_ended")
    assert (call.source, call.thread_key, call.channel) == ("aircall", f"call:{CALL_ID}", "call")
    assert call.direction == "inbound"
    assert call.customer.phone == CUSTOMER
    assert call.customer.email == "morgan.reyes@reyesplumbing.example"
    assert (call.customer.name, call.customer.provider_id) == ("Morgan Reyes", "7821004")
    assert call.occurred_at == datetime(2026, 3, 31, 23, 20, tzinfo=timezone.utc)
    assert call.turns is None and call.summary is None and call.url is None
    assert call.source_ids == {"call_id": CALL_ID, "call_uuid": "CAed058bba60a84d62c77cee898a852b05",
                               "user_id": "456123", "number_id": "98231"}


def test_parse_transcription_that_names_only_ids_leaves_turns_to_hydration():
    transcript = parse_one("transcription_created")
    assert (transcript.thread_key, transcript.channel) == (f"call:{CALL_ID}", "call")
    assert transcript.turns is None and transcript.customer.phone is None
    assert transcript.occurred_at == datetime(2026, 3, 31, 23, 20, tzinfo=timezone.utc)
    assert transcript.source_ids == {"call_id": CALL_ID}


def test_parse_transcription_with_utterances_splits_customer_and_agent():
    transcript = parse_one("transcription_created_with_content")
    assert [t.speaker for t in transcript.turns] == ["agent", "customer", "agent", "customer", "agent"]
    assert transcript.turns[1].text.startswith("Hi Dana. This is the third time")
    assert "dispute the charge" in transcript.turns[3].text  # the blank utterance was skipped
    assert transcript.customer.phone == CUSTOMER
    assert transcript.summary is None and transcript.direction is None


def test_unknown_participant_types_are_not_guessed():
    document = payload("transcription_created_with_content")
    document["data"]["content"]["utterances"] = [{"text": "Hello", "participant_type": "ai_agent"},
                                                 {"text": "Hi", "participant_type": "external"}]
    assert [(t.speaker, t.text) for t in parse_one("", document).turns] == [("customer", "Hi")]


def test_parse_summary():
    summary = parse_one("summary_created")
    assert (summary.thread_key, summary.turns) == (f"call:{CALL_ID}", None)
    assert summary.summary.startswith("The customer called for the third time")
    assert summary.summary.endswith("call back by Friday.")


def test_parse_sentiment_keeps_aircalls_verdict_as_a_source_id():
    sentiment = parse_one("sentiment_created")
    assert sentiment.source_ids == {"call_id": CALL_ID, "aircall_sentiment": "negative"}
    assert sentiment.customer.phone == CUSTOMER
    assert sentiment.turns is None and sentiment.summary is None


def test_parse_message_received():
    message = parse_one("message_received")
    assert (message.thread_key, message.channel, message.direction) == (
        "message:1775000000123abcdefghij4567", "sms", "inbound")
    [turn] = message.turns
    assert (turn.speaker, turn.id) == ("customer", "1775000000123abcdefghij4567")
    assert turn.text.startswith("Still no refund") and "Three weeks —" in turn.text
    assert turn.at == message.occurred_at == datetime(2026, 3, 31, 23, 31, 5, tzinfo=timezone.utc)
    assert message.customer.phone == CUSTOMER
    assert message.source_ids == {"message_id": "1775000000123abcdefghij4567", "number_id": "98231"}


@pytest.mark.parametrize(
    ("fields", "channel", "text"),
    [
        ({"channel": "whatsapp"}, "chat", "Still no refund"),
        ({"body": None, "content": "Sent as content"}, "sms", "Sent as content"),
        ({"body": "   "}, "sms", None),
        ({"body": None}, "sms", None),
    ],
    ids=["whatsapp", "content-field", "blank", "no-text"],
)
def test_message_variants(fields, channel, text):
    document = payload("message_received")
    document["data"].update(fields)
    message = parse_one("", document)
    assert message.channel == channel
    assert (message.turns[0].text[: len(text)] if message.turns else None) == text


def test_call_events_share_one_thread_whatever_their_order():
    names = ["sentiment_created", "summary_created", "transcription_created", "call_ended"]
    assert {parse_one(n).thread_key for n in names} == {f"call:{CALL_ID}"}


def test_an_unused_event_parses_to_nothing():
    assert connector().parse(InboundEvent("e", "call.created", fixture("call_created"))) == []


@pytest.mark.parametrize(
    ("name", "edit"),
    [
        ("call_ended", lambda d: d["data"].pop("id")),
        ("transcription_created", lambda d: d["data"].pop("call_id")),
        ("summary_created", lambda d: d["data"].pop("call_id")),
        ("message_received", lambda d: d["data"].update(id=None)),
        ("transcription_created_with_content", lambda d: d["data"]["content"].update(utterances="Hello")),
        ("transcription_created_with_content", lambda d: d["data"]["content"].update(utterances=["Hello"])),
    ],
    ids=["call-no-id", "transcript-no-call-id", "summary-no-call-id", "message-null-id",
         "utterances-string", "utterances-of-strings"],
)
def test_missing_fields_we_need_are_malformed(name, edit):
    document = payload(name)
    edit(document)
    with pytest.raises(MalformedPayload):
        connector().parse(InboundEvent("e", document["event"], json.dumps(document).encode()))


@pytest.mark.parametrize("odd", [{"participants": 5}, {"participants": [5, "x", None]},
                                 {"contact": {"emails": 7, "phone_numbers": "x", "id": [1]}}])
def test_mistyped_lists_are_skipped_not_crashed_on(odd):
    document = payload("call_ended")
    document["data"].update(odd)
    call = parse_one("", document)
    assert call.customer.phone == CUSTOMER  # raw_digits still names the customer
    sentiment = payload("sentiment_created")
    sentiment["data"].update(participants=odd.get("participants", 9))
    assert "aircall_sentiment" not in parse_one("", sentiment).source_ids


def test_odd_call_fields_degrade_to_none():
    document = payload("call_ended")
    document["data"].update(raw_digits="anonymous", participants="x", contact=None, direction="sideways",
                            started_at="yesterday")
    call = parse_one("", document)
    assert (call.customer.phone, call.direction) == (None, None)
    assert call.occurred_at == datetime(2026, 3, 31, 23, 33, 20, tzinfo=timezone.utc)  # envelope timestamp


# --- hydration -------------------------------------------------------------------------------

UTTERANCES = payload("transcription_created_with_content")["data"]["content"]["utterances"]
BASIC = "Basic " + base64.b64encode(f"{API_ID}:{API_TOKEN}".encode()).decode()


@pytest.fixture
def aircall_api():
    """A local server answering like api.aircall.io (basic auth api_id:api_token)."""
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == BASIC) as server:
        server.route("GET", "/v1/calls/<call_id>/transcription", lambda req, call_id: (200, {"transcription": {
            "id": 5520318, "call_id": int(call_id), "call_created_at": "2026-03-31T23:20:00.000Z", "type": "call",
            "content": {"language": "en", "utterances": UTTERANCES}}}))
        server.route("GET", "/v1/calls/<call_id>/summary", lambda req, call_id: (200, {"summary": {
            "id": 880142, "call_id": int(call_id), "content": "Refund escalated; call back by Friday."}}))
        yield server


def hydrate(server: JsonAPIServer, name: str, document: dict | None = None, api_token: str = API_TOKEN,
            slept: list | None = None) -> list:
    """Parse then hydrate a fixture against the local server."""
    body = json.dumps(document or payload(name)).encode()
    event = InboundEvent("e", json.loads(body)["event"], body)
    made = connector(api={"base_url": server.base_url, "api_id": API_ID, "api_token": api_token})
    made.sleep = (slept.append if slept is not None else made.sleep)
    return made.hydrate(made.parse(event), event)


def test_hydration_fetches_the_transcript_with_basic_auth(aircall_api):
    [transcript] = hydrate(aircall_api, "transcription_created")
    assert [t.speaker for t in transcript.turns] == ["agent", "customer", "agent", "customer", "agent"]
    assert transcript.customer.phone == CUSTOMER and transcript.thread_key == f"call:{CALL_ID}"
    [seen] = aircall_api.requests
    assert (seen.method, seen.path, seen.status) == ("GET", f"/v1/calls/{CALL_ID}/transcription", 200)
    assert seen.headers["Authorization"] == BASIC


def test_hydration_fetches_a_missing_summary(aircall_api):
    document = payload("summary_created")
    del document["data"]["content"]
    [summary] = hydrate(aircall_api, "", document)
    assert summary.summary == "Refund escalated; call back by Friday."
    assert [r.path for r in aircall_api.requests] == [f"/v1/calls/{CALL_ID}/summary"]


@pytest.mark.parametrize("name", ["transcription_created_with_content", "summary_created", "call_ended",
                                  "message_received", "sentiment_created"])
def test_nothing_is_fetched_when_the_webhook_carries_it_or_names_nothing(aircall_api, name):
    before = connector().parse(InboundEvent("e", payload(name)["event"], fixture(name)))
    assert hydrate(aircall_api, name) == before
    assert aircall_api.requests == []


def test_hydration_without_credentials_is_skipped(aircall_api):
    event = InboundEvent("e", "transcription.created", fixture("transcription_created"))
    made = connector(api={"base_url": aircall_api.base_url, "api_id": "", "api_token": ""})
    assert made.hydrate(made.parse(event), event)[0].turns is None
    assert aircall_api.requests == []


def test_wrong_credentials_are_a_provider_error_that_is_not_retried(aircall_api):
    with pytest.raises(ProviderError) as caught:
        hydrate(aircall_api, "transcription_created", api_token="revoked")
    assert (caught.value.status, caught.value.retryable) == (401, False)
    assert len(aircall_api.requests) == 1


def test_a_missing_transcript_degrades_to_the_webhook_content(aircall_api):
    aircall_api.fail_next("/v1/calls/", 404, body={"troubleshoot": "Call not found"})
    [transcript] = hydrate(aircall_api, "transcription_created")
    assert transcript.turns is None and transcript.thread_key == f"call:{CALL_ID}"


def test_429_with_retry_after_is_waited_then_succeeds(aircall_api):
    slept: list = []
    aircall_api.fail_next("/v1/calls/", 429, headers={"Retry-After": "2"})
    [transcript] = hydrate(aircall_api, "transcription_created", slept=slept)
    assert slept == [2.0] and len(transcript.turns) == 5
    assert [r.status for r in aircall_api.requests] == [429, 200]


def test_server_errors_are_retryable_after_bounded_attempts(aircall_api):
    aircall_api.fail_next("/v1/calls/", 503, count=10)
    with pytest.raises(ProviderError) as caught:
        hydrate(aircall_api, "transcription_created", slept=[])
    assert (caught.value.status, caught.value.retryable) == (503, True)
    assert len(aircall_api.requests) == 3


@pytest.mark.parametrize("answer", [{"transcription": {"content": {}}}, {"transcription": None}, [1, 2],
                                    {"transcription": [1]}, {"transcription": {"content": []}},
                                    {"transcription": {"content": {"utterances": "x"}}},
                                    {"transcription": {"content": {"utterances": [
                                        {"participant_type": ["external"], "text": "x"}]}}}])
def test_an_answer_without_utterances_keeps_the_webhook_content(answer):
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == BASIC) as server:
        server.route("GET", "/v1/calls/<call_id>/transcription", lambda req, call_id: (200, answer))
        [transcript] = hydrate(server, "transcription_created")
        assert transcript.turns is None and [r.status for r in server.requests] == [200]


# --- the web path ----------------------------------------------------------------------------


@pytest.fixture
def aircall_settings(settings):
    """The app's settings with the Aircall webhook token configured."""
    settings.aircall_webhook_token = pydantic.SecretStr(f"{TOKEN_2},{TOKEN}")
    return settings


def stored_events(app) -> list:
    """The inbox rows, oldest first."""
    from integration.models import WebhookEvent

    with app.extensions["undertone"].db.session() as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def test_web_a_valid_event_is_stored_and_a_bad_token_is_refused(aircall_settings, app, client):
    fresh = body_of(payload("transcription_created"), timestamp=int(time.time()))
    bad = body_of(payload("call_ended"), timestamp=int(time.time()), token="not-the-token")
    refused = client.post("/webhooks/aircall", data=bad, headers={"content-type": "application/json"})
    assert refused.status_code == 401 and stored_events(app) == []
    response = client.post("/webhooks/aircall", data=fresh, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["accepted"] == 1
    [row] = stored_events(app)
    assert (row.source, row.event_id, row.event_type, row.status) == (
        "aircall", "transcription.created:5520318", "transcription.created", "pending")
    assert TOKEN.encode() not in row.body and json.loads(row.body)["data"]["call_id"] == int(CALL_ID)
