"""HubSpot webhooks connector: v3 signatures, batch splitting, parsing, Conversations API hydration, web path.

Bodies are raw arrays shaped after HubSpot's documented events, signed at test time against a frozen
clock. `sign_hubspot` is checked against hubspot-api-client's own `Signature.is_valid`.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import pydantic
import pytest
from hubspot.utils.signature import Signature
from sqlalchemy import select

from connectors.base import ContactMerge, InboundEvent, Interaction, MalformedPayload, SignatureInvalid, WebhookRequest
from connectors.http import ProviderError
from connectors.hubspot_webhooks import HubSpotWebhooksConnector
from integration.models import WebhookEvent
from tests.connectors.signing import hmac_b64
from tests.servers.json_api import JsonAPIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hubspot"
NOW = 1_775_000_000.0  # 2026-03-31T23:33:20Z
URL = "https://undertone.example/webhooks/hubspot"
SECRET = "3f9a1c2e-hub-client-secret-0001"
SECRET_2 = "7b2d4e6f-hub-client-secret-0002"
TOKEN = "pat-na1-00000000-test"
WEBHOOKS = sorted(p.stem for p in FIXTURES.glob("*.json") if not p.stem.startswith("api_"))
THREAD, CHAT_MESSAGE, REPLY = "7480127731", "9b38dc6d5b5744a788931a9cf3a7b225", "4e1f7a22c9d84b0e9a3b5c6d7e8f9012"
EMAIL_THREAD, EMAIL_MESSAGE = "7480139902", "e5a1b2c3d4e54f6a8b9c0d1e2f3a4b5c"


def sign_hubspot(body: bytes, secret: str = SECRET, *, url: str = URL, at: float = NOW,
                 method: str = "POST") -> dict[str, str]:
    """v3 headers: base64 HMAC-SHA256 of method + URI + body + timestamp (ms), keyed with the client secret."""
    stamp = str(int(at * 1000))
    digest = hmac_b64(secret.encode(), method.encode() + url.encode() + body + stamp.encode())
    return {"X-HubSpot-Signature-v3": digest, "X-HubSpot-Request-Timestamp": stamp,
            "X-HubSpot-Signature-Version": "v3", "Content-Type": "application/json"}


def connector(*secrets: str, tolerance_s: int = 300, api: dict | None = None, clock=lambda: NOW):
    made = HubSpotWebhooksConnector(secrets or (SECRET,), tolerance_s=tolerance_s, clock=clock, api=api)
    made.sleep = lambda seconds: None
    return made


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def api_fixture(name: str) -> dict:
    return json.loads(fixture(f"api_{name}"))


def request(body: bytes, headers: dict[str, str], url: str = URL, method: str = "POST") -> WebhookRequest:
    return WebhookRequest(body=body, headers=headers, url=url, method=method)


def event_of(element: dict) -> InboundEvent:
    return InboundEvent(str(element.get("eventId", "1")), element["subscriptionType"], json.dumps(element).encode())


def element(name: str, index: int = 0) -> dict:
    return json.loads(fixture(name))[index]


# --- verify ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", WEBHOOKS)
def test_signed_fixture_verifies_and_splits_into_its_events(name):
    body = fixture(name)
    req = request(body, sign_hubspot(body))
    connector().verify(req)
    events = connector().events(req)
    assert [(e.event_id, e.event_type) for e in events] == [
        (str(e["eventId"]), e["subscriptionType"]) for e in json.loads(body)]


def test_our_signer_matches_hubspot_api_client_and_a_fresh_request_verifies_on_the_real_clock():
    body = fixture("new_message")
    now = time.time()
    headers = sign_hubspot(body, at=now)
    assert Signature.is_valid(signature=headers["X-HubSpot-Signature-v3"], client_secret=SECRET,
                              request_body=body.decode(), http_uri=URL, http_method="POST",
                              timestamp=headers["X-HubSpot-Request-Timestamp"], signature_version="v3")
    HubSpotWebhooksConnector((SECRET,)).verify(request(body, headers))


def test_a_changed_byte_fails():
    body = fixture("batch_three")
    headers = sign_hubspot(body)
    with pytest.raises(SignatureInvalid, match="no matching"):
        connector().verify(request(body.replace(b"48877", b"48878"), headers))


def test_a_wrong_secret_fails():
    body = fixture("new_message")
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, sign_hubspot(body, secret="not-ours")))


@pytest.mark.parametrize("dropped", ["X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"])
def test_a_missing_header_fails(dropped):
    body = fixture("new_message")
    headers = {k: v for k, v in sign_hubspot(body).items() if k != dropped}
    with pytest.raises(SignatureInvalid, match="missing"):
        connector().verify(request(body, headers))


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-HubSpot-Signature-v3", "garbage"),
        ("X-HubSpot-Signature-v3", "sha256=abc123"),
        ("X-HubSpot-Signature-v3", "A" * 500),
        ("X-HubSpot-Signature-v3", "ü" * 44),
        ("X-HubSpot-Request-Timestamp", "abc"),
        ("X-HubSpot-Request-Timestamp", "1.775e12"),
        ("X-HubSpot-Request-Timestamp", "-1775000000000"),
        ("X-HubSpot-Request-Timestamp", "9" * 25),
    ],
)
def test_a_malformed_header_fails(header, value):
    body = fixture("new_message")
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, {**sign_hubspot(body), header: value}))


@pytest.mark.parametrize(("offset", "ok"), [(-301, False), (301, False), (-299, True), (299, True), (0, True)])
def test_the_timestamp_must_be_within_tolerance_both_ways(offset, ok):
    body = fixture("new_message")
    req = request(body, sign_hubspot(body, at=NOW + offset))
    if ok:
        connector().verify(req)
    else:
        with pytest.raises(SignatureInvalid, match="timestamp"):
            connector().verify(req)


def test_the_signed_url_and_method_matter():
    body = fixture("new_message")
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, sign_hubspot(body, url="https://other.example/webhooks/hubspot")))
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, sign_hubspot(body, method="GET")))


def test_listed_percent_escapes_in_the_uri_are_decoded_before_hashing():
    body = fixture("new_message")
    sent = URL + "?app=crm%3Aprod&tag=%28a%29&q=x%2By"
    signed = URL + "?app=crm:prod&tag=(a)&q=x%2By"  # %2B is not in HubSpot's list: it stays
    connector().verify(request(body, sign_hubspot(body, url=signed), url=sent))
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, sign_hubspot(body, url=sent), url=sent))


def test_a_space_in_the_signature_is_read_as_plus():
    body = fixture("new_message")
    for at in range(int(NOW), int(NOW) + 200):  # find a timestamp whose digest contains "+"
        headers = sign_hubspot(body, at=at)
        if "+" in headers["X-HubSpot-Signature-v3"]:
            break
    mangled = {**headers, "X-HubSpot-Signature-v3": headers["X-HubSpot-Signature-v3"].replace("+", " ")}
    connector(clock=lambda: at).verify(request(body, mangled))


@pytest.mark.parametrize("secret", [SECRET, SECRET_2])
def test_either_secret_verifies_during_rotation(secret):
    body = fixture("batch_three")
    connector(SECRET_2, SECRET).verify(request(body, sign_hubspot(body, secret=secret)))


def test_without_secrets_nothing_verifies():
    body = fixture("new_message")
    with pytest.raises(SignatureInvalid):
        HubSpotWebhooksConnector((), clock=lambda: NOW).verify(request(body, sign_hubspot(body, secret="")))


def test_a_body_that_is_not_utf8_cannot_be_checked():
    body = b"\xff\xfe[]"
    with pytest.raises(SignatureInvalid, match="UTF-8"):
        connector().verify(request(body, sign_hubspot(body)))


# --- events ---------------------------------------------------------------------------------

MALFORMED = [
    b"not json", b"", b"{}", b'{"eventId": 1, "subscriptionType": "contact.merge"}', b"[]", b"[1]",
    b'[{"subscriptionType": "contact.merge"}]', b'[{"eventId": true, "subscriptionType": "contact.merge"}]',
    b'[{"eventId": 1.5, "subscriptionType": "contact.merge"}]', b'[{"eventId": "", "subscriptionType": "x"}]',
    b'[{"eventId": 1}]', b'[{"eventId": 1, "subscriptionType": ""}]',
    b'[{"eventId": 1, "subscriptionType": "contact.merge"}, "two"]',
]


@pytest.mark.parametrize("body", MALFORMED)
def test_an_authentic_but_unreadable_body_is_malformed(body):
    req = request(body, sign_hubspot(body))
    connector().verify(req)
    with pytest.raises(MalformedPayload):
        connector().events(req)


def test_a_batch_of_three_is_three_events_each_with_its_own_id_and_body():
    body = fixture("batch_three")
    events = connector().events(request(body, sign_hubspot(body)))
    assert [e.event_id for e in events] == ["3269195544", "3269195578", "1887345210"]
    assert [e.event_type for e in events] == ["conversation.newMessage", "conversation.newMessage", "contact.merge"]
    assert [json.loads(e.body) for e in events] == json.loads(body)


def test_more_than_a_hundred_events_are_accepted():
    batch = [{**element("new_message"), "eventId": 5000 + i, "messageId": f"m{i}"} for i in range(101)]
    body = json.dumps(batch).encode()
    events = connector().events(request(body, sign_hubspot(body)))
    assert len(events) == 101 and events[-1].event_id == "5100"


@pytest.mark.parametrize(
    ("kind", "handled"),
    [
        ("conversation.newMessage", True), ("contact.merge", True), ("object.merge", True),
        ("contact.propertyChange", False), ("contact.creation", False), ("conversation.creation", False),
        ("conversation.propertyChange", False), ("company.merge", False), ("", False),
    ],
)
def test_handles_messages_and_merges_only(kind, handled):
    assert connector().handles(kind) is handled


# --- parse ----------------------------------------------------------------------------------


def test_parse_new_message_names_the_thread_and_waits_for_words():
    [thread] = connector().parse(event_of(element("new_message")))
    assert (thread.source, thread.thread_key, thread.append_turns, thread.turns) == (
        "hubspot", f"conversation:{THREAD}", True, None)
    assert thread.occurred_at == datetime(2026, 3, 31, 23, 30, 12, 345000, tzinfo=timezone.utc)
    assert thread.source_ids == {"thread_id": THREAD, "message_id": CHAT_MESSAGE, "portal_id": "23428445"}
    assert thread.url == f"https://app.hubspot.com/live-messages/23428445/inbox/{THREAD}"
    assert not thread.customer.is_known() and thread.direction is None


def test_an_internal_comment_parses_to_nothing():
    assert connector().parse(event_of(element("new_comment"))) == []


def test_parse_contact_merge():
    assert connector().parse(event_of(element("contact_merge"))) == [
        ContactMerge(crm="hubspot", surviving_id="51201", merged_ids=("48877",))]


def test_parse_generic_object_merge_follows_a_replaced_primary_too():
    assert connector().parse(event_of(element("object_merge"))) == [
        ContactMerge(crm="hubspot", surviving_id="61001", merged_ids=("48877", "50990", "60001"))]


def test_a_generic_merge_of_another_object_type_is_not_a_contact_merge():
    assert connector().parse(event_of({**element("object_merge"), "objectTypeId": "0-2"})) == []


def test_a_merge_without_new_object_id_survives_on_the_primary():
    merge = {k: v for k, v in element("contact_merge").items() if k != "newObjectId"}
    assert connector().parse(event_of({**merge, "mergedObjectIds": ["48877", 48877, 51201]})) == [
        ContactMerge(crm="hubspot", surviving_id="51201", merged_ids=("48877",))]


def test_a_merge_with_nothing_to_follow_parses_to_nothing():
    assert connector().parse(event_of({**element("contact_merge"), "mergedObjectIds": [51201]})) == []


def test_a_property_change_parses_to_nothing():
    assert connector().parse(event_of(element("contact_property_change"))) == []


@pytest.mark.parametrize(
    "changes",
    [{"objectId": None}, {"messageId": ""}, {"primaryObjectId": None, "newObjectId": None,
                                              "subscriptionType": "contact.merge"},
     {"mergedObjectIds": "48877", "subscriptionType": "contact.merge"}],
    ids=["no-thread", "no-message", "no-survivor", "merged-not-a-list"],
)
def test_missing_fields_we_need_are_malformed(changes):
    base = element("contact_merge") if changes.get("subscriptionType") == "contact.merge" else element("new_message")
    with pytest.raises(MalformedPayload):
        connector().parse(event_of({**base, **changes}))


def test_a_stored_body_that_is_not_an_event_is_malformed():
    with pytest.raises(MalformedPayload):
        connector().parse(InboundEvent("1", "contact.merge", b"[]"))


# --- hydration ------------------------------------------------------------------------------


@pytest.fixture
def hubspot_api():
    """A local server answering the Conversations API's thread and message reads (bearer token checked)."""
    names = ["message_incoming_chat", "message_outgoing_agent", "message_email"]
    messages = {m["id"]: m for m in map(api_fixture, names)}
    threads = {t["id"]: t for t in map(api_fixture, ["thread", "thread_email"])}
    base = "/conversations/v3/conversations/threads"
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == f"Bearer {TOKEN}",
                       unauthorized_body={"status": "error", "message": "Authentication credentials not found.",
                                          "category": "INVALID_AUTHENTICATION"}) as api:
        api.messages = messages  # tests add messages here
        api.route("GET", base + "/<thread_id>/messages/<message_id>", lambda req, thread_id, message_id: (
            (200, messages[message_id]) if message_id in messages else (404, {"status": "error", "message": "no"})))
        api.route("GET", base + "/<thread_id>", lambda req, thread_id: (
            (200, threads[thread_id]) if thread_id in threads else (404, {"status": "error"})))
        yield api


def hydrate(api: JsonAPIServer, payload: dict, token: str = TOKEN, waits: list | None = None) -> list:
    made = connector(api={"base_url": api.base_url, "access_token": token})
    if waits is not None:
        made.sleep = waits.append
    event = event_of(payload)
    return made.hydrate(made.parse(event), event)


def test_an_incoming_chat_message_is_a_customer_turn_with_the_thread_contact(hubspot_api):
    [chat] = hydrate(hubspot_api, element("new_message"))
    [turn] = chat.turns
    assert (turn.speaker, turn.id) == ("customer", CHAT_MESSAGE)
    assert turn.text == "My replacement arrived broken AGAIN. Second time. I want a refund, not another one."
    assert turn.at == datetime(2026, 3, 31, 23, 30, 12, 345000, tzinfo=timezone.utc)
    assert (chat.channel, chat.direction, chat.append_turns) == ("chat", "inbound", True)
    assert (chat.customer.email, chat.customer.name, chat.customer.provider_id, chat.customer.phone) == (
        "maya.okafor@example.com", "Maya Okafor", "51201", None)
    assert chat.occurred_at == datetime(2026, 3, 31, 23, 28, 58, 120000, tzinfo=timezone.utc)  # the thread's start
    assert chat.source_ids == {"thread_id": THREAD, "message_id": CHAT_MESSAGE, "portal_id": "23428445",
                               "channel_id": "1000", "contact_id": "51201"}
    paths = [r.path for r in hubspot_api.requests]
    assert paths == [f"/conversations/v3/conversations/threads/{THREAD}/messages/{CHAT_MESSAGE}",
                     f"/conversations/v3/conversations/threads/{THREAD}"]


def test_an_outgoing_reply_is_the_agent_and_the_customer_comes_from_the_recipients(hubspot_api):
    reply, touch = hydrate(hubspot_api, element("batch_three", 1))
    assert [(t.speaker, t.id) for t in reply.turns] == [("agent", REPLY)]
    assert (touch.kind, touch.external_id, touch.thread_key) == ("agent_reply", f"message:{REPLY}", reply.thread_key)
    assert (reply.line, reply.agent, reply.agent_name) == ("hubspot:inbox:147959634", "hubspot:5512301", "Dana Reyes")
    assert reply.direction is None  # a reply never flips the thread's direction
    assert reply.customer.email == "maya.okafor@example.com"  # the recipient, not the agent
    assert reply.turns[0].text.startswith("I'm so sorry, Maya.")


def test_an_outgoing_bot_message_is_the_bot(hubspot_api):
    bot = api_fixture("message_outgoing_agent")
    bot["senders"] = [{"actorId": "B-771", "name": "Helper bot"}]
    hubspot_api.messages["botmsg"] = bot
    [reply] = hydrate(hubspot_api, {**element("new_message"), "messageId": "botmsg"})
    assert reply.turns[0].speaker == "bot"


def test_an_email_keeps_only_the_newest_reply_and_the_senders_address(hubspot_api):
    [mail] = hydrate(hubspot_api, element("email_message"))
    assert (mail.channel, mail.thread_key) == ("email", f"conversation:{EMAIL_THREAD}")
    assert mail.turns[0].text == "This is the third email about this. Where is my refund?"
    assert mail.customer.email == "jordan.pike@example.org" and mail.customer.provider_id == "60044"


def test_a_phone_identifier_becomes_e164(hubspot_api):
    whatsapp = api_fixture("message_incoming_chat")
    whatsapp.update(channelId="1007", senders=[{"actorId": "V-1", "deliveryIdentifier": {
        "type": "HS_PHONE_NUMBER", "value": "(312) 555-0147"}}])
    hubspot_api.messages["wa"] = whatsapp
    [chat] = hydrate(hubspot_api, {**element("new_message"), "messageId": "wa"})
    assert (chat.customer.phone, chat.customer.email, chat.channel) == ("+13125550147", None, "chat")


def test_a_message_gone_is_left_out(hubspot_api):
    assert hydrate(hubspot_api, {**element("new_message"), "messageId": "deleted"}) == []


def test_a_thread_gone_keeps_the_message_without_contact_id(hubspot_api):
    [chat] = hydrate(hubspot_api, {**element("new_message"), "objectId": 999})  # the server knows no thread 999
    assert chat.customer.provider_id is None and chat.customer.email == "maya.okafor@example.com"
    assert [r.status for r in hubspot_api.requests] == [200, 404] and chat.thread_key == "conversation:999"


def test_a_message_that_is_not_a_message_is_left_out(hubspot_api):
    status_change = {**api_fixture("message_incoming_chat"), "type": "THREAD_STATUS_CHANGE"}
    hubspot_api.messages["st"] = status_change
    assert hydrate(hubspot_api, {**element("new_message"), "messageId": "st"}) == []


def test_without_credentials_a_message_is_skipped_and_merges_pass(hubspot_api):
    made = connector(api={"base_url": hubspot_api.base_url, "access_token": ""})
    events = [event_of(element("batch_three", i)) for i in range(3)]
    out = [item for e in events for item in made.hydrate(made.parse(e), e)]
    assert out == [ContactMerge(crm="hubspot", surviving_id="51201", merged_ids=("48877",))]
    assert hubspot_api.requests == []


def test_a_rejected_token_fails_without_retry(hubspot_api):
    with pytest.raises(ProviderError) as raised:
        hydrate(hubspot_api, element("new_message"), token="expired")
    assert (raised.value.status, raised.value.retryable) == (401, False)
    assert raised.value.message == "Authentication credentials not found." and len(hubspot_api.requests) == 1


def test_429_waits_for_retry_after_then_succeeds(hubspot_api):
    hubspot_api.fail_next("/conversations/v3/conversations/threads/", 429, headers={"Retry-After": "1"})
    waits: list[float] = []
    [chat] = hydrate(hubspot_api, element("new_message"), waits=waits)
    assert waits == [1.0] and chat.turns[0].speaker == "customer"
    assert [r.status for r in hubspot_api.requests] == [429, 200, 200]


def test_server_errors_give_a_retryable_error_after_bounded_retries(hubspot_api):
    hubspot_api.fail_next("/conversations/", 502, count=10)
    with pytest.raises(ProviderError) as raised:
        hydrate(hubspot_api, element("new_message"))
    assert raised.value.retryable is True and len(hubspot_api.requests) == 3


def test_hydrated_items_are_interactions_and_merges_untouched(hubspot_api):
    made = connector(api={"base_url": hubspot_api.base_url, "access_token": TOKEN})
    merge = ContactMerge(crm="hubspot", surviving_id="1", merged_ids=("2",))
    assert made.hydrate([merge], event_of(element("contact_merge"))) == [merge]
    assert hubspot_api.requests == []
    assert all(isinstance(i, Interaction) for i in hydrate(hubspot_api, element("new_message")))


# --- web path -------------------------------------------------------------------------------


def _stored(app) -> list[WebhookEvent]:
    with app.extensions["undertone"].db.session() as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def test_web_stores_a_batch_of_three_and_refuses_a_bad_signature(settings, app, client):
    settings.hubspot_client_secret = pydantic.SecretStr(f"{SECRET_2},{SECRET}")
    settings.public_base_url = "https://undertone.example/"
    body = fixture("batch_three")
    bad = client.post("/webhooks/hubspot", data=body, headers=sign_hubspot(body, secret="nope", at=time.time()))
    assert bad.status_code == 401 and _stored(app) == []
    good = client.post("/webhooks/hubspot", data=body, headers=sign_hubspot(body, at=time.time()))
    assert good.status_code == 200, good.get_json()
    assert good.get_json() == {"accepted": 3, "queued": 3, "duplicates": 0, "ignored": 0}
    rows = _stored(app)
    assert [(r.source, r.event_id, r.event_type, r.status) for r in rows] == [
        ("hubspot", "3269195544", "conversation.newMessage", "pending"),
        ("hubspot", "3269195578", "conversation.newMessage", "pending"),
        ("hubspot", "1887345210", "contact.merge", "pending")]
    assert [json.loads(r.body) for r in rows] == json.loads(body)
