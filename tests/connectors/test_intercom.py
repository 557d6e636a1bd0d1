"""Intercom connector: X-Hub-Signature checks, notification splitting, parsing, contact hydration, web path.

Fixture bodies are raw notifications (shaped after Intercom's webhook and conversation models) signed
at test time with HMAC-SHA1 of the exact bytes.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pydantic
import pytest
from sqlalchemy import select

from connectors import names
from connectors.base import InboundEvent, Interaction, MalformedPayload, SignatureInvalid, WebhookRequest
from connectors.http import ProviderError
from connectors.intercom import IntercomConnector
from integration.models import WebhookEvent
from tests.connectors.signing import hmac_hex
from tests.servers.json_api import JsonAPIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "intercom"
SECRET = "ic-client-secret-0001"
SECRET_2 = "ic-client-secret-0002"
TOKEN = "dG9rOmludGVyY29tLXRlc3Q="
WEBHOOKS = sorted(p.stem for p in FIXTURES.glob("*.json") if not p.stem.startswith("api_"))
CONVERSATION = "215471234567891"
MAYA = "6650f1a2c3d4e5f601234567"
SMS_LEAD = "6652bb11cc22dd33ee44ff55"


def sign_intercom(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """Headers of an Intercom delivery: `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>`."""
    return {"X-Hub-Signature": "sha1=" + hmac_hex(secret.encode(), body, "sha1"), "Content-Type": "application/json"}


def connector(*secrets: str, api: dict | None = None) -> IntercomConnector:
    made = IntercomConnector(secrets or (SECRET,), api=api)
    made.sleep = lambda seconds: None
    return made


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def request(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(body=body, headers=headers, url="https://undertone.example/webhooks/intercom")


def event_of(payload: dict | bytes) -> InboundEvent:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return InboundEvent("notif_test", json.loads(body)["topic"], body)


def parse_one(payload: dict | bytes) -> Interaction:
    """The interaction an event gives (teammates' messages also give touches, checked elsewhere)."""
    interaction, *touches = connector().parse(event_of(payload))
    assert all(t.kind in ("agent_reply", "outbound_email") for t in touches)
    return interaction


def payload(name: str) -> dict:
    return json.loads(fixture(name))


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


# --- verify ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", WEBHOOKS)
def test_signed_fixture_verifies_and_is_one_event(name):
    body = fixture(name)
    req = request(body, sign_intercom(body))
    connector().verify(req)
    [event] = connector().events(req)
    document = json.loads(body)
    assert event.event_type == document["topic"] and event.body == body
    if document["id"] is not None:
        assert event.event_id == document["id"]


def test_a_changed_byte_fails():
    body = fixture("conversation_user_replied")
    headers = sign_intercom(body)
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body.replace(b"twice", b"thrice"), headers))


def test_a_wrong_secret_fails():
    body = fixture("conversation_user_created")
    with pytest.raises(SignatureInvalid, match="no matching"):
        connector().verify(request(body, sign_intercom(body, secret="someone-else")))


def test_a_missing_header_fails():
    body = fixture("conversation_user_created")
    with pytest.raises(SignatureInvalid, match="missing or malformed"):
        connector().verify(request(body, {"Content-Type": "application/json"}))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda sig: sig.removeprefix("sha1="),
        lambda sig: sig.replace("sha1=", "sha256="),
        lambda sig: sig[:-1],
        lambda sig: sig + "0",
        lambda sig: "sha1=" + "z" * 40,
        lambda sig: "sha1=",
        lambda sig: "",
        lambda sig: sig.replace("=", ":"),
    ],
    ids=["no-prefix", "sha256-prefix", "short", "long", "not-hex", "empty-digest", "empty", "colon"],
)
def test_a_malformed_header_fails(mangle):
    body = fixture("conversation_user_created")
    good = sign_intercom(body)["X-Hub-Signature"]
    with pytest.raises(SignatureInvalid):
        connector().verify(request(body, {"X-Hub-Signature": mangle(good)}))


def test_upper_case_hex_and_header_case_are_accepted():
    body = fixture("conversation_user_created")
    digest = sign_intercom(body)["X-Hub-Signature"].removeprefix("sha1=")
    connector().verify(request(body, {"x-hub-signature": "SHA1=" + digest.upper()}))


@pytest.mark.parametrize("secret", [SECRET, SECRET_2])
def test_either_secret_verifies_during_rotation(secret):
    body = fixture("conversation_admin_replied")
    connector(SECRET_2, SECRET).verify(request(body, sign_intercom(body, secret=secret)))


def test_without_secrets_nothing_verifies():
    body = fixture("conversation_user_created")
    with pytest.raises(SignatureInvalid):
        IntercomConnector(()).verify(request(body, sign_intercom(body, secret="")))


def test_no_replay_window_a_months_old_notification_still_verifies():
    document = payload("conversation_user_created")
    document["created_at"] = document["first_sent_at"] = 1_700_000_000  # late 2023
    body = json.dumps(document).encode()
    connector().verify(request(body, sign_intercom(body)))  # dedupe on the id, not a window, stops replays


# --- events ---------------------------------------------------------------------------------

MALFORMED = [
    b"not json", b"", b"\xff\xfe\x00", b"[]", b'"ping"',
    b'{"type": "notification_event", "id": "n1", "data": {"item": {}}}',
    b'{"type": "notification_event", "id": "n1", "topic": "", "data": {"item": {}}}',
    b'{"type": "event", "id": "n1", "topic": "conversation.user.created", "data": {"item": {}}}',
    b'{"type": "notification_event", "id": "n1", "topic": "conversation.user.created"}',
    b'{"type": "notification_event", "id": "n1", "topic": "conversation.user.created", "data": {"item": []}}',
    b'{"type": "notification_event", "topic": "conversation.user.created", "data": {"item": {}}}',
    b'{"type": "notification_event", "id": null, "topic": "conversation.user.created", "data": {"item": {}}}',
    b'{"type": "notification_event", "id": true, "topic": "conversation.user.created", "data": {"item": {}}}',
]


@pytest.mark.parametrize("body", MALFORMED)
def test_an_authentic_but_unreadable_body_is_malformed(body):
    req = request(body, sign_intercom(body))
    connector().verify(req)
    with pytest.raises(MalformedPayload):
        connector().events(req)


def test_a_ping_without_id_gets_a_stable_id_from_its_bytes():
    body = fixture("ping")
    [event] = connector().events(request(body, sign_intercom(body)))
    assert event.event_id == "ping:" + hashlib.sha256(body).hexdigest()[:32]
    assert connector().events(request(body, {}))[0].event_id == event.event_id
    assert event.event_type == "ping" and not connector().handles("ping")


@pytest.mark.parametrize(
    ("topic", "handled"),
    [
        ("conversation.user.created", True), ("conversation.user.replied", True),
        ("conversation.admin.replied", True), ("conversation.admin.closed", False),
        ("conversation.admin.noted", False), ("conversation.admin.assigned", False),
        ("conversation.admin.single.created", False), ("contact.user.created", False), ("ping", False),
        ("", False), ("CONVERSATION.USER.CREATED", False),
    ],
)
def test_handles_only_topics_with_conversation_words(topic, handled):
    assert connector().handles(topic) is handled


# --- parse: the fixtures --------------------------------------------------------------------


def test_parse_user_created():
    chat = parse_one(fixture("conversation_user_created"))
    assert (chat.source, chat.thread_key, chat.channel, chat.direction) == (
        "intercom", f"conversation:{CONVERSATION}", "chat", "inbound")
    assert chat.append_turns is True
    [turn] = chat.turns
    assert (turn.speaker, turn.id, turn.at) == ("customer", "2987654321", at(1774999701))
    assert turn.text == ("Hi, my order #4417 arrived with a cracked screen.\nThis is the second replacement "
                         "that's been broken — I'm really disappointed. Ich bin wirklich verärgert.")
    assert chat.customer.email == "maya.okafor@example.com" and chat.customer.name == "Maya Okafor"
    assert chat.customer.provider_id == MAYA and chat.customer.phone is None
    assert chat.occurred_at == at(1774999701)
    assert chat.source_ids == {"conversation_id": CONVERSATION, "contact_id": MAYA,
                               "contact_external_id": "cust-88213", "app_id": "x7k2pq9r"}
    assert chat.url == f"https://app.intercom.com/a/apps/x7k2pq9r/conversations/{CONVERSATION}"
    assert chat.summary is None


def test_parse_user_replied_keeps_bot_and_customer_turns_and_skips_the_assignment():
    reply = parse_one(fixture("conversation_user_replied"))
    assert reply.thread_key == f"conversation:{CONVERSATION}"
    assert [(t.speaker, t.id) for t in reply.turns] == [
        ("customer", "2987654321"), ("bot", "18846001"), ("customer", "18846002")]
    assert reply.turns[1].text.startswith("I'm sorry to hear that!")
    assert reply.turns[2].text == "I already sent photos twice.\nPlease just refund me, this is ridiculous."
    assert reply.turns[2].at == at(1774999820)
    assert reply.customer.email == "maya.okafor@example.com"


def test_parse_admin_replied_marks_the_teammate_as_agent_and_keeps_no_admin_email():
    reply = parse_one(fixture("conversation_admin_replied"))
    agent = reply.turns[-1]
    assert (agent.speaker, agent.id) == ("agent", "18846010")
    assert agent.text == ("Hi Maya, I'm so sorry about this. I've issued a full refund — "
                          "you'll see it within 3–5 business days.")
    assert reply.customer.email == "maya.okafor@example.com"  # never the teammate's address
    assert reply.direction == "inbound"


def test_parse_email_strips_quoted_history():
    mail = parse_one(fixture("conversation_email_created"))
    assert (mail.channel, mail.direction, mail.thread_key) == ("email", "inbound", "conversation:215471234599004")
    [turn] = mail.turns
    assert turn.speaker == "customer"
    assert turn.text == "This is the third email about this. Where is my refund?\n\nJordan"  # no quoted history
    assert mail.customer.email == "jordan.pike@example.org" and mail.customer.name == "Jordan Pike"
    assert "contact_external_id" not in mail.source_ids


def test_parse_sms_lead_without_email_names_only_the_contact():
    sms = parse_one(fixture("conversation_sms_created"))
    assert sms.channel == "sms" and sms.turns[0].text == "Technician never showed up today. Second time this week."
    assert sms.customer.email is None and sms.customer.name is None and sms.customer.provider_id == SMS_LEAD


@pytest.mark.parametrize("name", ["conversation_admin_closed", "ping"])
def test_unused_topics_parse_to_nothing(name):
    assert connector().parse(event_of(fixture(name))) == []


def test_every_reply_fixture_shares_the_conversation_thread():
    names = ["conversation_admin_replied", "conversation_user_created", "conversation_user_replied"]
    assert {parse_one(fixture(n)).thread_key for n in names} == {f"conversation:{CONVERSATION}"}


# --- parse: odd shapes ----------------------------------------------------------------------


def _with_parts(*parts: dict, name: str = "conversation_admin_replied") -> dict:
    document = payload(name)
    document["data"]["item"]["conversation_parts"]["conversation_parts"] = list(parts)
    return document


def _part(part_id: str, part_type: str, body, author_type: str = "admin", **extra) -> dict:
    return {"id": part_id, "part_type": part_type, "body": body, "created_at": 1775000200,
            "author": {"type": author_type, "id": "5512301", "name": "Dana Reyes"}, **extra}


def test_notes_redacted_blank_and_unknown_authors_are_not_turns():
    document = _with_parts(
        _part("p1", "note", "<p>Customer is VIP, be nice</p>"),
        _part("p2", "comment", "<p>secret</p>", redacted=True),
        _part("p3", "comment", "<p> </p>"),
        _part("p4", "comment", "<p>from nowhere</p>", author_type="campaign"),
        _part("p5", "open", "<p>Reopening: still broken</p>", author_type="user"),
        _part("p6", "comment", "<p>Team reply</p>", author_type="team"),
        _part("p7", "comment", "<p>Operator here</p>", author_type="bot"),
    )
    turns = parse_one(document).turns
    assert [(t.id, t.speaker) for t in turns] == [
        ("2987654321", "customer"), ("p5", "customer"), ("p6", "agent"), ("p7", "bot")]


def test_an_ai_agent_answer_is_the_bot_whatever_the_author_type():
    document = _with_parts(_part("p1", "comment", "<p>Fin here</p>", author_type="admin", ))
    document["data"]["item"]["conversation_parts"]["conversation_parts"][0]["author"]["from_ai_agent"] = True
    assert parse_one(document).turns[-1].speaker == "bot"


@pytest.mark.parametrize(("delivered_as", "direction"), [
    ("customer_initiated", "inbound"), ("admin_initiated", "outbound"), ("automated", "outbound"),
    ("operator_initiated", "outbound"), (None, "inbound"),
])
def test_direction_follows_who_started_the_conversation(delivered_as, direction):
    document = payload("conversation_user_created")
    document["data"]["item"]["source"]["delivered_as"] = delivered_as
    assert parse_one(document).direction == direction


def test_an_admin_initiated_conversation_takes_the_customer_from_contacts_not_the_admin():
    document = payload("conversation_user_created")
    document["data"]["item"]["source"].update(delivered_as="admin_initiated", author={
        "type": "admin", "id": "5512301", "name": "Dana Reyes", "email": "dana@brightline.example"})
    item = parse_one(document)
    assert (item.direction, item.turns[0].speaker, item.customer.email, item.customer.provider_id) == (
        "outbound", "agent", None, MAYA)


def test_numeric_ids_and_missing_pieces_are_tolerated():
    document = payload("conversation_user_created")
    item = document["data"]["item"]
    item.update(id=215471234567891, created_at="yesterday", contacts=None, conversation_parts=None)
    del document["app_id"]
    parsed = parse_one(document)
    assert parsed.thread_key == f"conversation:{CONVERSATION}" and parsed.occurred_at is None
    assert parsed.customer.provider_id == MAYA  # the source author's id
    assert parsed.url is None and len(parsed.turns) == 1


def test_a_conversation_without_id_is_malformed():
    document = payload("conversation_user_created")
    del document["data"]["item"]["id"]
    with pytest.raises(MalformedPayload):
        connector().parse(event_of(document))


def test_a_conversation_without_words_brings_no_turns():
    document = payload("conversation_sms_created")
    document["data"]["item"]["source"]["body"] = ""
    assert parse_one(document).turns is None


# --- hydration ------------------------------------------------------------------------------


@pytest.fixture
def intercom_api():
    """A local server answering GET /contacts/{id} like Intercom's API (bearer token checked)."""
    contact = json.loads(fixture("api_contact_sms_lead"))
    error = {"type": "error.list", "errors": [{"code": "unauthorized", "message": "Access Token Invalid"}]}
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == f"Bearer {TOKEN}", unauthorized_body=error) as api:
        api.route("GET", "/contacts/<contact_id>",
                  lambda req, contact_id: (200, contact) if contact_id == SMS_LEAD else (404, {"type": "error.list"}))
        yield api


def hydrated(api: JsonAPIServer, name: str = "conversation_sms_created", token: str = TOKEN) -> list:
    made = connector(api={"base_url": api.base_url, "access_token": token})
    event = event_of(fixture(name))
    return made.hydrate(made.parse(event), event)


def test_hydration_adds_the_phone_and_name_of_a_contact_without_email(intercom_api):
    [sms] = hydrated(intercom_api)
    assert sms.customer.phone == "+13125550147" and sms.customer.name == "Luis Ortega"
    assert sms.customer.email is None and sms.customer.provider_id == SMS_LEAD
    [seen] = intercom_api.requests
    assert (seen.method, seen.path) == ("GET", f"/contacts/{SMS_LEAD}")
    assert seen.headers["Intercom-Version"] == "2.14" and seen.headers["Accept"] == "application/json"


def test_no_call_when_the_webhook_carried_the_email(intercom_api):
    [chat] = hydrated(intercom_api, "conversation_user_created")
    assert chat.customer.email == "maya.okafor@example.com" and intercom_api.requests == []


def test_without_credentials_hydration_is_skipped(intercom_api):
    [sms] = hydrated(intercom_api, token="")
    assert sms.customer.phone is None and intercom_api.requests == []


def test_a_rejected_token_fails_without_retry(intercom_api):
    with pytest.raises(ProviderError) as raised:
        hydrated(intercom_api, token="wrong")
    assert (raised.value.status, raised.value.retryable) == (401, False)
    assert len(intercom_api.requests) == 1


def test_a_contact_gone_degrades_to_the_webhook(intercom_api):
    intercom_api.fail_next("/contacts/", 404, body={"type": "error.list", "errors": [{"code": "not_found"}]})
    [sms] = hydrated(intercom_api)
    assert sms.customer.phone is None and sms.customer.provider_id == SMS_LEAD and sms.turns


def test_429_waits_for_retry_after_then_succeeds(intercom_api):
    intercom_api.fail_next("/contacts/", 429, headers={"Retry-After": "2"})
    made = connector(api={"base_url": intercom_api.base_url, "access_token": TOKEN})
    waits: list[float] = []
    made.sleep = waits.append
    event = event_of(fixture("conversation_sms_created"))
    [sms] = made.hydrate(made.parse(event), event)
    assert waits == [2.0] and sms.customer.phone == "+13125550147"
    assert [r.status for r in intercom_api.requests] == [429, 200]


def test_hydration_names_the_team_inbox_and_the_assignee_once_per_process(intercom_api):
    names.clear()
    intercom_api.route("GET", "/teams/5017691", lambda req: (200, {"type": "team", "id": "5017691", "name": "Billing"}))
    intercom_api.route("GET", "/admins/5512301", lambda req: (200, {"type": "admin", "id": "5512301", "name": "Dana"}))
    [first, *_] = hydrated(intercom_api, "conversation_admin_replied")  # the assignee wrote a part: named already
    [again, *_] = hydrated(intercom_api, "conversation_admin_replied")
    assert (first.line, first.line_name, first.agent, first.agent_name) == (
        "intercom:inbox:5017691", "Billing", "intercom:5512301", "Dana Reyes")
    assert again.line_name == "Billing"
    assert [r.path for r in intercom_api.requests] == ["/teams/5017691"]  # once: the name is cached
    names.clear()


def test_a_name_the_api_will_not_give_leaves_the_key_and_fails_nothing(intercom_api):
    names.clear()
    [item, *_] = hydrated(intercom_api, "conversation_admin_replied")
    assert (item.line, item.line_name) == ("intercom:inbox:5017691", None)
    assert [(r.path, r.status) for r in intercom_api.requests] == [("/teams/5017691", 404)]


def test_server_errors_give_a_retryable_error_after_bounded_retries(intercom_api):
    intercom_api.fail_next("/contacts/", 503, count=10)
    with pytest.raises(ProviderError) as raised:
        hydrated(intercom_api)
    assert raised.value.retryable is True and raised.value.status == 503
    assert len(intercom_api.requests) == 3


# --- web path -------------------------------------------------------------------------------


def _stored(app) -> list[WebhookEvent]:
    with app.extensions["undertone"].db.session() as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def test_web_stores_a_signed_notification_and_refuses_a_bad_one(settings, app, client):
    settings.intercom_client_secret = pydantic.SecretStr(f"{SECRET_2},{SECRET}")
    body = fixture("conversation_user_replied")
    bad = client.post("/webhooks/intercom", data=body, headers=sign_intercom(body, secret="nope"))
    assert bad.status_code == 401 and _stored(app) == []
    good = client.post("/webhooks/intercom", data=body, headers=sign_intercom(body))
    assert good.status_code == 200, good.get_json()
    assert good.get_json()["accepted"] == 1
    [row] = _stored(app)
    assert (row.source, row.event_id, row.event_type, row.status) == (
        "intercom", "notif_8b0d2e71-4c3a-4f9e-a1d5-6c7e8f9a0b21", "conversation.user.replied", "pending")
    assert row.body == body
