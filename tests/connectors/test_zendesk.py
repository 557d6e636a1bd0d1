"""Zendesk connector: signature and replay checks, event splitting, parsing, and requester hydration.

Fixture bodies are raw event-webhook payloads signed at test time (`zendesk_headers` below, built
on `hmac_b64`) against a frozen clock. Hydration runs against a local server answering like the
Zendesk Users API.
"""
from __future__ import annotations

import base64
import hmac
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pydantic
import pytest
from sqlalchemy import select

from connectors import names
from connectors.base import InboundEvent, Interaction, MalformedPayload, SignatureInvalid, WebhookRequest
from connectors.http import ProviderError
from connectors.zendesk import ZendeskConnector
from integration.models import WebhookEvent
from tests.connectors.signing import hmac_b64
from tests.servers.json_api import JsonAPIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "zendesk"
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))
NOW = 1_775_000_000.0  # 2026-03-31T23:33:20Z
SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="  # used as text, like Zendesk's own example
SECRET_2 = "zendesk-rotated-signing-secret-0002"
TICKET, REQUESTER, AGENT = "5158", "8447388090494", "8447388090495"
BRAND, ASSIGNEE = "8447346621310", AGENT  # the assignee of the sample ticket is the agent who replies
API_EMAIL, API_TOKEN = "agent@brightline.example", "zd-api-token-123"


def iso(at: float) -> str:
    """Zendesk's timestamp format, e.g. 2026-03-31T23:33:20Z."""
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def zendesk_headers(body: bytes, secret: str = SECRET, offset_s: float = 0, stamp: str | None = None) -> dict:
    """Headers of a Zendesk delivery: base64 HMAC-SHA256 over timestamp + body, key = the secret's text."""
    stamp = stamp if stamp is not None else iso(NOW + offset_s)
    return {"X-Zendesk-Webhook-Signature": hmac_b64(secret.encode(), stamp.encode() + body),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp}


def connector(*secrets: str, api: dict | None = None) -> ZendeskConnector:
    """A connector with a frozen clock."""
    return ZendeskConnector(secrets or (SECRET,), tolerance_s=300, clock=lambda: NOW, api=api)


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def payload(name: str) -> dict:
    return json.loads(fixture(name))


def request(body: bytes, headers: dict) -> WebhookRequest:
    return WebhookRequest(body=body, headers=headers, url="https://undertone.example/webhooks/zendesk")


def event_of(body: dict | bytes) -> InboundEvent:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return InboundEvent("EVtest", json.loads(raw)["type"], raw)


def parse_one(body: dict | bytes, **options) -> Interaction:
    """The interaction an event gives (an agent's reply also gives a touch, checked elsewhere)."""
    item, *touches = connector(**options).parse(event_of(body))
    assert all(t.kind == "agent_reply" for t in touches)
    return item


# --- verify ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_signed_fixture_verifies_and_is_one_event_keyed_on_the_body_id(name):
    body = fixture(name)
    req = request(body, zendesk_headers(body))
    connector().verify(req)
    [event] = connector().events(req)
    assert (event.event_id, event.event_type, event.body) == (payload(name)["id"], payload(name)["type"], body)


def test_header_names_are_case_insensitive():
    body = fixture("comment_added")
    connector().verify(request(body, {k.lower(): v for k, v in zendesk_headers(body).items()}))
    connector().verify(request(body, {k.upper(): v for k, v in zendesk_headers(body).items()}))


def test_signing_follows_the_documented_order_timestamp_then_body():
    body, stamp = fixture("comment_added"), iso(NOW)
    expected = base64.b64encode(hmac.new(SECRET.encode(), stamp.encode() + body, "sha256").digest())
    assert zendesk_headers(body)["X-Zendesk-Webhook-Signature"] == expected.decode()
    body_first = {"X-Zendesk-Webhook-Signature": hmac_b64(SECRET.encode(), body + stamp.encode()),
                  "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    with pytest.raises(SignatureInvalid):  # the older docs' (BODY)(TIMESTAMP) order is not accepted
        connector().verify(request(body, body_first))


@pytest.mark.parametrize(
    "mutate",
    [lambda b: b.replace(b"three weeks", b"three days!"), lambda b: b[:-1] + bytes([b[-1] ^ 1]), lambda b: b + b" "],
    ids=["word", "last-byte", "appended-byte"],
)
def test_a_changed_byte_fails(mutate):
    body = fixture("comment_added")
    headers = zendesk_headers(body)
    assert mutate(body) != body
    with pytest.raises(SignatureInvalid):
        connector().verify(request(mutate(body), headers))


def test_a_wrong_secret_fails():
    body = fixture("comment_added")
    with pytest.raises(SignatureInvalid, match="no matching signature"):
        connector().verify(request(body, zendesk_headers(body, secret="not-our-secret")))


def test_the_timestamp_is_signed_too():
    body = fixture("comment_added")
    headers = zendesk_headers(body)
    headers["X-Zendesk-Webhook-Signature-Timestamp"] = iso(NOW + 1)  # fresh, but not what was signed
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, headers))


@pytest.mark.parametrize("missing", ["X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"])
def test_a_missing_header_fails(missing):
    body = fixture("comment_added")
    headers = {k: v for k, v in zendesk_headers(body).items() if k != missing}
    with pytest.raises(SignatureInvalid, match="missing"):
        connector().verify(request(body, headers))


@pytest.mark.parametrize(
    "signature",
    ["", "not base64 at all!", "c2hvcnQ=", "A" * 300, "sha256=" + "0" * 64],
    ids=["empty", "not-base64", "short-digest", "huge", "hex-style"],
)
def test_a_malformed_signature_fails(signature):
    body = fixture("comment_added")
    headers = {**zendesk_headers(body), "X-Zendesk-Webhook-Signature": signature}
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, headers))


@pytest.mark.parametrize("stamp", ["yesterday", str(int(NOW)), "2026-13-45T99:00:00Z", "", "2026-03-31T23:33:20Z" * 5],
                         ids=["word", "epoch-seconds", "impossible-date", "empty", "huge"])
def test_a_malformed_timestamp_fails_even_when_signed(stamp):
    body = fixture("comment_added")
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, zendesk_headers(body, stamp=stamp)))


@pytest.mark.parametrize(("offset_s", "ok"), [(-301, False), (301, False), (-3600, False), (86400, False),
                                               (-300, True), (300, True), (-5, True)])
def test_replay_window_applies_in_both_directions(offset_s, ok):
    body = fixture("comment_added")
    req = request(body, zendesk_headers(body, offset_s=offset_s))
    if ok:
        connector().verify(req)
    else:
        with pytest.raises(SignatureInvalid, match="tolerance"):
            connector().verify(req)


def test_timestamps_with_fractions_and_offsets_are_read():
    body = fixture("comment_added")
    for stamp in ("2026-03-31T23:33:20.000Z", "2026-04-01T01:33:20+02:00"):
        connector().verify(request(body, zendesk_headers(body, stamp=stamp)))


@pytest.mark.parametrize("secret", [SECRET, SECRET_2])
def test_both_secrets_verify_during_rotation(secret):
    body = fixture("comment_added")
    connector(SECRET, SECRET_2).verify(request(body, zendesk_headers(body, secret=secret)))
    with pytest.raises(SignatureInvalid):  # a retired secret no longer verifies
        connector(SECRET_2 if secret == SECRET else SECRET).verify(request(body, zendesk_headers(body, secret=secret)))


def test_without_secrets_nothing_verifies():
    body = fixture("comment_added")
    with pytest.raises(SignatureInvalid):
        ZendeskConnector((), clock=lambda: NOW).verify(request(body, zendesk_headers(body, secret="")))


# --- events and handles ---------------------------------------------------------------------

MALFORMED_BODIES = [
    b"not json", b"", b"\xff\xfe\x00garbage", b"[1, 2]", b'"zen:event-type:ticket.created"',
    b'{"id": "01J", "detail": {"id": "1"}}',
    b'{"type": "zen:event-type:ticket.created", "detail": {"id": "1"}}',
    b'{"id": 7, "type": "zen:event-type:ticket.created", "detail": {"id": "1"}}',
    b'{"id": "01J", "type": "", "detail": {"id": "1"}}',
    b'{"id": "01J", "type": "zen:event-type:ticket.comment_added", "detail": {"id": "abc"}}',
    b'{"id": "01J", "type": "zen:event-type:ticket.created", "subject": "zen:user:5"}',
    b'{"ticket_id": "5158", "comment": "a trigger-style webhook body"}',
]


@pytest.mark.parametrize("body", MALFORMED_BODIES)
def test_an_authentic_but_unreadable_body_is_malformed(body):
    req = request(body, zendesk_headers(body))
    connector().verify(req)
    with pytest.raises(MalformedPayload):
        connector().events(req)


def test_an_unused_event_type_needs_no_ticket():
    body = b'{"id": "01JUSER", "type": "zen:event-type:user.created", "detail": {"id": "9"}}'
    [event] = connector().events(request(body, zendesk_headers(body)))
    assert (event.event_id, event.event_type) == ("01JUSER", "zen:event-type:user.created")


@pytest.mark.parametrize(
    ("event_type", "handled"),
    [("zen:event-type:ticket.comment_added", True), ("zen:event-type:ticket.created", True),
     ("zen:event-type:ticket.status_changed", False), ("zen:event-type:ticket.comment_made_private", False),
     ("zen:event-type:user.created", False), ("ticket.comment_added", False), ("", False)],
)
def test_handles_only_events_with_customer_words(event_type, handled):
    assert connector().handles(event_type) is handled


# --- parse ----------------------------------------------------------------------------------


def test_parse_customer_comment_strips_html_and_quoted_history():
    item = parse_one(fixture("comment_added"), api={"base_url": "https://brightline.zendesk.com"})
    assert (item.source, item.thread_key, item.channel) == ("zendesk", f"ticket:{TICKET}", "email")
    assert item.append_turns is True and item.direction is None and item.summary is None
    [turn] = item.turns
    assert (turn.speaker, turn.id) == ("customer", "41257788120113")
    assert turn.text == ("It has been three weeks and my refund still has not arrived — this is the third time "
                         "I am writing.\nIf nobody calls me back today I will dispute the charge with my bank.")
    assert "<" not in turn.text and "being processed" not in turn.text and "wrote:" not in turn.text
    assert turn.at == datetime(2026, 3, 4, 9, 12, 30, 402118, tzinfo=timezone.utc)
    assert item.occurred_at == datetime(2026, 3, 2, 15, 12, 7, tzinfo=timezone.utc)  # the ticket's start
    assert (item.customer.provider_id, item.customer.name) == (REQUESTER, "Dana Whitfield")
    assert item.customer.email is None and item.customer.phone is None  # hydration brings them
    assert item.source_ids == {"ticket_id": TICKET, "requester_id": REQUESTER}
    assert item.url == f"https://brightline.zendesk.com/agent/tickets/{TICKET}"


def test_parse_agent_reply_is_an_agent_turn_without_the_quoted_customer_text():
    item = parse_one(fixture("comment_added_agent"))
    [turn] = item.turns
    assert (turn.speaker, turn.id) == ("agent", "41257790332871")
    assert turn.text.startswith("Hi Dana,") and "escalated your refund" in turn.text
    assert "dispute the charge" not in turn.text  # the quoted customer e-mail is gone
    assert item.customer.provider_id == REQUESTER and item.customer.name is None  # Sam is not the customer
    assert item.url is None  # no base URL configured


def test_a_private_note_is_not_parsed():
    assert connector().parse(event_of(fixture("comment_added_private_note"))) == []


def test_a_second_comment_appends_to_the_same_thread_under_its_own_id():
    first, second = parse_one(fixture("comment_added")), parse_one(fixture("comment_added_followup"))
    assert first.thread_key == second.thread_key == f"ticket:{TICKET}"
    assert first.append_turns and second.append_turns
    assert [t.id for t in second.turns] == ["41257795518002"] != [t.id for t in first.turns]
    assert second.turns[0].text == "Still nothing. Nobody called me yesterday, again."
    assert parse_one(fixture("comment_added_followup")) == second  # a re-run yields the same turn id


def test_parse_ticket_created_uses_the_description_as_opening_turn():
    item = parse_one(fixture("ticket_created"))
    assert (item.thread_key, item.channel, item.direction) == (f"ticket:{TICKET}", "email", "inbound")
    [turn] = item.turns
    assert (turn.speaker, turn.id) == ("customer", "description")
    assert turn.text.startswith("My water heater installation was cancelled")
    assert turn.at == item.occurred_at == datetime(2026, 3, 2, 15, 12, 7, tzinfo=timezone.utc)
    assert item.append_turns is True and item.customer.provider_id == REQUESTER


def test_a_ticket_opened_by_an_agent_is_outbound_and_its_description_the_agents():
    body = payload("ticket_created")
    body["detail"]["submitter_id"] = AGENT
    item = parse_one(body)
    assert (item.direction, item.turns[0].speaker) == ("outbound", "agent")


def test_the_first_comment_reuses_the_description_turn_id():
    body = payload("comment_added")
    body["event"]["comment"]["body"] = "<p>" + body["detail"]["description"] + "</p>"
    assert parse_one(body).turns[0].id == "description"  # stored once, whichever event comes first


def test_unused_types_parse_to_nothing():
    assert connector().parse(event_of(fixture("ticket_status_changed"))) == []


def test_numeric_ids_and_the_subject_fallback_are_read():
    body = payload("comment_added")
    body["detail"].pop("id")
    body["detail"]["requester_id"] = int(REQUESTER)
    body["event"]["comment"]["id"] = 41257788120113
    item = parse_one(body)
    assert (item.thread_key, item.customer.provider_id, item.turns[0].id) == (
        f"ticket:{TICKET}", REQUESTER, "41257788120113")


@pytest.mark.parametrize("text", ["", None, "<p> </p>"])
def test_a_comment_without_words_brings_no_turns(text):
    body = payload("comment_added")
    body["event"]["comment"]["body"] = text
    item = parse_one(body)
    assert item.turns is None and item.customer.provider_id == REQUESTER


@pytest.mark.parametrize(("via", "channel"), [("chat", "chat"), ("native_messaging", "chat"), ("web", "ticket"),
                                              (None, "ticket")])
def test_channel_follows_the_tickets_via_channel(via, channel):
    body = payload("comment_added")
    body["detail"]["via"] = {"channel": via}
    assert parse_one(body).channel == channel


@pytest.mark.parametrize("edit", [lambda b: b.pop("event"), lambda b: b["event"].pop("comment"),
                                  lambda b: b.update(detail="x")], ids=["no-event", "no-comment", "detail-string"])
def test_a_comment_event_without_its_parts_is_malformed(edit):
    body = payload("comment_added")
    edit(body)
    with pytest.raises(MalformedPayload):
        connector().parse(event_of(body))


# --- hydration ------------------------------------------------------------------------------

USER = {"id": int(REQUESTER), "name": "Dana Whitfield", "email": "dana.whitfield@example.com",
        "phone": "(312) 555-0147", "role": "end-user"}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(autouse=True)
def no_cached_names():
    names.clear()  # names are cached per process; each test starts without


@pytest.fixture
def users_api():
    """A local server answering like the Zendesk Users API, checking token basic auth."""
    expected = basic(f"{API_EMAIL}/token", API_TOKEN)
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == expected) as server:
        server.route("GET", "/api/v2/users/<user_id>.json",
                     lambda req, user_id: (200, {"user": USER}) if user_id == REQUESTER else (404, {"error": "RecordNotFound"}))
        yield server


def hydrating(server: JsonAPIServer, token: str = API_TOKEN) -> tuple[ZendeskConnector, list]:
    """A connector pointed at the local server, recording its retry waits instead of sleeping."""
    waits: list = []
    zd = connector(api={"base_url": server.base_url, "email": API_EMAIL, "api_token": token})
    zd.sleep = waits.append
    return zd, waits


def hydrate_fixture(zd: ZendeskConnector, name: str = "comment_added") -> list:
    event = event_of(fixture(name))
    return zd.hydrate(zd.parse(event), event)


def test_hydration_adds_the_requesters_email_phone_and_name(users_api):
    zd, _ = hydrating(users_api)
    [item] = hydrate_fixture(zd)
    assert item.customer.email == "dana.whitfield@example.com"
    assert item.customer.phone == "+13125550147"
    assert (item.customer.name, item.customer.provider_id) == ("Dana Whitfield", REQUESTER)
    # Then the names of the brand and the assignee, which this server does not know (404: no name, no failure).
    assert [(r.method, r.path, r.status) for r in users_api.requests] == [
        ("GET", f"/api/v2/users/{REQUESTER}.json", 200), ("GET", f"/api/v2/brands/{BRAND}.json", 404),
        ("GET", f"/api/v2/users/{ASSIGNEE}.json", 404)]
    assert item.turns == parse_one(fixture("comment_added")).turns  # nothing else changes
    assert (item.line, item.line_name, item.agent, item.agent_name) == (
        f"zendesk:brand:{BRAND}", None, f"zendesk:{ASSIGNEE}", None)


def test_hydration_names_the_brand_and_the_assignee_once_per_process():
    people = {REQUESTER: USER, ASSIGNEE: {"id": int(ASSIGNEE), "name": "Sam Ortega"}}
    with JsonAPIServer() as users_api:
        users_api.route("GET", "/api/v2/users/<user_id>.json", lambda req, user_id: (200, {"user": people[user_id]}))
        users_api.route("GET", f"/api/v2/brands/{BRAND}.json", lambda req: (200, {"brand": {"name": "Brightline"}}))
        zd, _ = hydrating(users_api)
        [first] = hydrate_fixture(zd)
        [again] = hydrate_fixture(zd)
    assert (first.line_name, first.agent_name) == (again.line_name, again.agent_name) == ("Brightline", "Sam Ortega")
    paths = [r.path for r in users_api.requests]
    assert paths.count(f"/api/v2/brands/{BRAND}.json") == 1 and paths.count(f"/api/v2/users/{ASSIGNEE}.json") == 1


def test_a_wrong_api_token_is_401_and_not_retryable(users_api):
    zd, waits = hydrating(users_api, token="wrong")
    with pytest.raises(ProviderError) as raised:
        hydrate_fixture(zd)
    assert (raised.value.status, raised.value.retryable) == (401, False)
    assert len(users_api.requests) == 1 and waits == []


def test_403_is_not_retryable(users_api):
    users_api.fail_next("/api/v2/users/", 403)
    zd, _ = hydrating(users_api)
    with pytest.raises(ProviderError) as raised:
        hydrate_fixture(zd)
    assert (raised.value.status, raised.value.retryable) == (403, False)


def test_a_deleted_user_degrades_to_the_provider_id_alone(users_api):
    body = payload("comment_added")
    body["detail"]["requester_id"] = "999"
    zd, _ = hydrating(users_api)
    event = event_of(body)
    [item] = zd.hydrate(zd.parse(event), event)
    assert item.customer.provider_id == "999" and item.customer.email is None
    assert users_api.requests[0].status == 404


def test_429_waits_for_retry_after_then_succeeds(users_api):
    users_api.fail_next("/api/v2/users/", 429, headers={"Retry-After": "2"})
    zd, waits = hydrating(users_api)
    [item] = hydrate_fixture(zd)
    assert item.customer.email == "dana.whitfield@example.com"
    assert waits == [2.0] and [r.status for r in users_api.requests][:2] == [429, 200]


def test_5xx_is_retryable_after_bounded_attempts(users_api):
    users_api.fail_next("/api/v2/users/", 503, count=10)
    zd, waits = hydrating(users_api)
    with pytest.raises(ProviderError) as raised:
        hydrate_fixture(zd)
    assert (raised.value.status, raised.value.retryable) == (503, True)
    assert len(users_api.requests) == 3 and len(waits) == 2


def test_without_credentials_hydration_is_skipped(users_api):
    zd = connector(api={"base_url": users_api.base_url, "email": API_EMAIL})  # no token
    [item] = hydrate_fixture(zd)
    assert item.customer.email is None and users_api.requests == []


def test_nothing_to_hydrate_makes_no_request(users_api):
    zd, _ = hydrating(users_api)
    assert hydrate_fixture(zd, "comment_added_private_note") == []
    assert users_api.requests == []


# --- the web path ---------------------------------------------------------------------------


def stored_events(app) -> list[WebhookEvent]:
    with app.extensions["undertone"].db.session() as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def live_headers(body: bytes, secret: str = SECRET) -> dict:
    """Signed now: the web path verifies against the real clock."""
    stamp = iso(time.time())
    return {"X-Zendesk-Webhook-Signature": hmac_b64(secret.encode(), stamp.encode() + body),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp, "Content-Type": "application/json"}


def test_web_stores_a_signed_delivery_and_refuses_a_bad_one(settings, app, client):
    settings.zendesk_webhook_secret = pydantic.SecretStr(f"{SECRET_2},{SECRET}")
    body = fixture("comment_added")
    assert client.post("/webhooks/zendesk", data=body, headers=live_headers(body, "wrong")).status_code == 401
    assert stored_events(app) == []
    response = client.post("/webhooks/zendesk", data=body, headers=live_headers(body))
    assert response.status_code == 200, response.get_json()
    [event] = stored_events(app)
    assert (event.source, event.event_id, event.event_type, event.status) == (
        "zendesk", "01JNQ4W8V6Z3K2M1P0R9S8T7U6", "zen:event-type:ticket.comment_added", "pending")
    assert event.body == body
