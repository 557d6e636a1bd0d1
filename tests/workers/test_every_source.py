"""One customer, one interaction from every source, one HubSpot contact updated (the issue's acceptance test).

Maria is one person: phone +13125550147, email maria@example.com. Phone systems (Quo, Twilio, Aircall,
Dialpad) know her by phone; help desks (Zendesk, Intercom, Freshdesk) and HubSpot's inbox by email,
Zendesk only after asking its users API who requester 8447388090494 is. The generic event goes first
and carries both, which ties the two identities to one contact. Each body is a fixture with her
identifiers and a recent time substituted, signed the way that connector's own tests sign it, posted
through the Flask test client and processed by a real RQ worker (`drain`) against the local HubSpot
server, which must end with its one contact updated and no other contact created or touched.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

import jwt
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from connectors.hubspot_schema import CONTACT_PROPERTIES
from integration.models import Contact, ContactIdentity, CrmWrite, FollowUpTask, Interaction, WebhookEvent
from tests.connectors.signing import hmac_b64, hmac_hex, sign_standard, whsec_secret
from tests.connectors.signing_twilio import form_pairs, sign_form
from tests.quo_requests import classic_headers
from tests.servers.hubspot import HubSpotTestServer
from tests.servers.json_api import JsonAPIServer
from tests.workers.helpers import drain
from workers import context

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PUBLIC_BASE_URL = "https://undertone.example"  # what providers sign (Twilio, HubSpot) and post to
PHONE, EMAIL, NAME = "+13125550147", "maria@example.com", "Maria Lopez"
HUBSPOT_TOKEN = "pat-na1-every-source"

TWILIO_TOKEN = "9f3b2c1d8e7a6f5e4d3c2b1a0f9e8d7c"
AIRCALL_TOKEN = "5f1c0a9e7b3d4c2a8e6f0b1d3c5a7e9f"
DIALPAD_SECRET = "dialpad-subscription-secret-0001-for-tests-only-0123456789abcdefgh"
ZENDESK_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
INTERCOM_SECRET = "ic-client-secret-0001"
FRESHDESK_TOKEN = "fd-webhook-token-0001-c3VwZXJzZWNyZXQ"
HUBSPOT_SECRET = "3f9a1c2e-hub-client-secret-0001"
GENERIC_SECRET = whsec_secret(b"generic-test-key-0123456789abcdef")
ZENDESK_API_EMAIL, ZENDESK_API_TOKEN = "agent@brightline.example", "zd-api-token-123"
ZENDESK_REQUESTER = "8447388090494"
HUBSPOT_THREAD, HUBSPOT_MESSAGE = "7480127731", "9b38dc6d5b5744a788931a9cf3a7b225"

# What each source says: the phone systems' happy texts and the rest come from the fixtures.
QUO_TEXT = "Just wanted to say the new water heater works perfectly. Thanks so much, your technician was great!"
DIALPAD_TEXT = "Thank you! Everything is sorted now and the crew was fast, tidy and friendly."
INTERCOM_TEXT = "<p>Great news, the replacement arrived today in <b>perfect</b> condition. Really happy, thank you!</p>"
HUBSPOT_TEXT = "Just wanted to say thanks, Dana sorted it out in five minutes. Excellent service."


@dataclass(frozen=True)
class Delivery:
    """One signed webhook request: the path, raw body and headers a provider would send."""

    path: str
    body: bytes
    headers: dict


@dataclass(frozen=True)
class Source:
    """A source's delivery builder, the identifier it knows Maria by, and the label its words should get."""

    name: str
    build: Callable[[datetime], Delivery]
    identifier: str  # "phone+email" | "phone" | "email"
    label: str  # the lexicon scorer's label for the customer's words


def fixture(path: str) -> dict:
    return json.loads((FIXTURES / path).read_bytes())


def iso_z(moment: datetime, digits: int = 3) -> str:
    """2026-03-31T23:33:20.123Z (digits=0 drops the fraction)."""
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{moment.microsecond:06d}"[: digits + 1] if digits else "") + "Z"


def to_json(document) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


JSON = {"Content-Type": "application/json"}


# ---------------------------------------------------------------------------------------- sources


def generic(at: datetime) -> Delivery:
    """The review fixture, now from Maria with both identifiers (phone in national format)."""
    doc = fixture("generic/review.json")
    doc.update(id="rev-every-source-1", occurred_at=iso_z(at, 0))
    doc["contact"] = {"email": EMAIL, "phone": "(312) 555-0147", "name": NAME, "id": "yelp-user-88"}
    body = to_json(doc)
    return Delivery("/webhooks/generic", body, {**JSON, **sign_standard(body, GENERIC_SECRET, "msg_every_1",
                                                                         int(time.time()))})


def quo(at: datetime) -> Delivery:
    """message.received from her number, a thank-you text."""
    doc = fixture("quo/message_received.json")
    doc["createdAt"] = iso_z(at)
    doc["data"]["object"].update({"from": PHONE, "text": QUO_TEXT, "createdAt": iso_z(at)})
    body = to_json(doc)
    return Delivery("/webhooks/quo", body, classic_headers(body))


def aircall(at: datetime) -> Delivery:
    """transcription.created carrying the utterances of an angry call from her number (token in the body)."""
    doc = fixture("aircall/transcription_created_with_content.json")
    doc.update(timestamp=int(time.time()), token=AIRCALL_TOKEN)
    doc["data"]["call_created_at"] = iso_z(at)
    for utterance in doc["data"]["content"]["utterances"]:
        if utterance["participant_type"] == "external":
            utterance["phone_number"] = PHONE
    return Delivery("/webhooks/aircall", to_json(doc), dict(JSON))


def dialpad(at: datetime) -> Delivery:
    """sms.inbound as an HS256 JWT (pyjwt), a thank-you text from her number."""
    claims = fixture("dialpad/sms_inbound.json")
    claims.update(created_date=int(at.timestamp() * 1000), from_number=PHONE, text=DIALPAD_TEXT)
    claims["contact"] = {"id": "4c1a", "name": NAME, "phone": PHONE}
    token = jwt.encode({**claims, "iat": int(time.time())}, DIALPAD_SECRET, algorithm="HS256").encode()
    return Delivery("/webhooks/dialpad", token, {"Content-Type": "application/jwt"})


def zendesk(at: datetime) -> Delivery:
    """ticket.comment_added naming the requester by id only (the users API answers her email)."""
    doc = fixture("zendesk/comment_added.json")
    doc["time"] = iso_z(at)
    doc["detail"].update(created_at=iso_z(at, 0), updated_at=iso_z(at, 0), requester_id=ZENDESK_REQUESTER,
                         submitter_id=ZENDESK_REQUESTER)
    doc["event"]["comment"]["author"] = {"id": ZENDESK_REQUESTER, "is_staff": False, "name": NAME}
    body = to_json(doc)
    stamp = iso_z(datetime.now(timezone.utc), 0)
    return Delivery("/webhooks/zendesk", body, {
        **JSON, "X-Zendesk-Webhook-Signature": hmac_b64(ZENDESK_SECRET.encode(), stamp.encode() + body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp})


def intercom(at: datetime) -> Delivery:
    """conversation.user.created whose author carries her email (X-Hub-Signature, HMAC-SHA1)."""
    doc = fixture("intercom/conversation_user_created.json")
    item = doc["data"]["item"]
    stamp = int(at.timestamp())
    item.update(created_at=stamp, updated_at=stamp, waiting_since=stamp)
    item["source"]["body"] = INTERCOM_TEXT
    item["source"]["author"].update(name=NAME, email=EMAIL)
    doc.update(created_at=stamp, first_sent_at=stamp)
    body = to_json(doc)
    return Delivery("/webhooks/intercom", body,
                    {**JSON, "X-Hub-Signature": "sha1=" + hmac_hex(INTERCOM_SECRET.encode(), body, "sha1")})


def freshdesk(at: datetime) -> Delivery:
    """A customer reply from the automation rule, with her email and no phone (token in a header)."""
    doc = fixture("freshdesk/customer_reply.json")
    doc.update(created_at=iso_z(at, 0), updated_at=iso_z(at, 0), requester_name=NAME, requester_email=EMAIL,
               requester_phone="", requester_mobile="")
    comment = doc["latest_public_comment"]
    doc["latest_public_comment"] = NAME + comment[comment.index(" : "):]
    return Delivery("/webhooks/freshdesk", to_json(doc), {**JSON, "X-Undertone-Token": FRESHDESK_TOKEN})


def hubspot_event(at: datetime) -> Delivery:
    """conversation.newMessage (ids only; the words come from the Conversations API), v3-signed."""
    [element] = fixture("hubspot/new_message.json")
    element.update(occurredAt=int(at.timestamp() * 1000), objectId=int(HUBSPOT_THREAD), messageId=HUBSPOT_MESSAGE)
    body = json.dumps([element], separators=(",", ":")).encode()
    stamp = str(int(time.time() * 1000))
    signed = b"POST" + f"{PUBLIC_BASE_URL}/webhooks/hubspot".encode() + body + stamp.encode()
    return Delivery("/webhooks/hubspot", body, {
        **JSON, "X-HubSpot-Signature-v3": hmac_b64(HUBSPOT_SECRET.encode(), signed),
        "X-HubSpot-Request-Timestamp": stamp, "X-HubSpot-Signature-Version": "v3"})


def twilio(at: datetime) -> Delivery:
    """An incoming SMS form post from her number, signed against the public URL (no time: it is 'now')."""
    params = dict(form_pairs((FIXTURES / "twilio/sms_received.txt").read_bytes()))
    params["From"] = PHONE
    body = urlencode(params).encode()
    return Delivery("/webhooks/twilio", body, {"Content-Type": "application/x-www-form-urlencoded",
                                               **sign_form(f"{PUBLIC_BASE_URL}/webhooks/twilio", body, TWILIO_TOKEN)})


# In sending order. Generic first (it ties phone and email together); Twilio last, because an SMS
# callback has no time of its own and the interaction's stored time is when it was processed.
SOURCES = (
    Source("generic", generic, "phone+email", "negative"),
    Source("quo", quo, "phone", "positive"),
    Source("aircall", aircall, "phone", "negative"),
    Source("dialpad", dialpad, "phone", "positive"),
    Source("zendesk", zendesk, "email", "negative"),
    Source("intercom", intercom, "email", "positive"),
    Source("freshdesk", freshdesk, "email", "negative"),
    Source("hubspot", hubspot_event, "email", "positive"),
    Source("twilio", twilio, "phone", "negative"),
)
NEGATIVES = sum(s.label == "negative" for s in SOURCES)


def assert_identified_only_by(source: Source, delivery: Delivery) -> None:
    """The premise: a phone system's delivery carries no email, a help desk's no phone number, generic both."""
    carried = delivery.body
    if source.name == "dialpad":
        carried = jwt.PyJWS().decode_complete(delivery.body, options={"verify_signature": False})["payload"]
    text = carried.decode().lower()
    phones = ("+13125550147", "3125550147", "(312) 555-0147", "312-555-0147", "312.555.0147", "%2b13125550147")
    has_phone, has_email = any(p in text for p in phones), EMAIL in text
    if source.identifier == "phone+email":
        assert has_phone and has_email, source.name
    else:  # Zendesk and HubSpot carry neither: their APIs answer the email
        assert not (has_email if source.identifier == "phone" else has_phone), source.name


# ---------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def hubspot():
    """The local HubSpot with the undertone_* properties defined (as `undertone hubspot setup` would)."""
    with HubSpotTestServer(access_token=HUBSPOT_TOKEN) as server:
        for prop in CONTACT_PROPERTIES:
            server.define_property(prop["name"], prop["type"], prop["fieldType"], options=prop.get("options"))
        yield server


@pytest.fixture
def zendesk_api():
    """Zendesk's users API: requester 8447388090494 is Maria (her email as she typed it once)."""
    expected = "Basic " + base64.b64encode(f"{ZENDESK_API_EMAIL}/token:{ZENDESK_API_TOKEN}".encode()).decode()
    user = {"id": int(ZENDESK_REQUESTER), "name": NAME, "email": "Maria@Example.com", "role": "end-user"}
    with JsonAPIServer(auth=lambda headers: headers.get("Authorization") == expected) as api:
        api.route("GET", "/api/v2/users/<user_id>.json",
                  lambda req, user_id: (200, {"user": user}) if user_id == ZENDESK_REQUESTER
                  else (404, {"error": "RecordNotFound", "description": "Not found"}))
        yield api


@pytest.fixture
def configured(settings, worker_env, hubspot, zendesk_api):
    """Every source's secret on the web settings; HubSpot and the Zendesk API for the workers."""
    settings.public_base_url = PUBLIC_BASE_URL
    settings.twilio_auth_token = SecretStr(TWILIO_TOKEN)
    settings.aircall_webhook_token = SecretStr(AIRCALL_TOKEN)
    settings.dialpad_webhook_secret = SecretStr(DIALPAD_SECRET)
    settings.zendesk_webhook_secret = SecretStr(ZENDESK_SECRET)
    settings.intercom_client_secret = SecretStr(INTERCOM_SECRET)
    settings.freshdesk_webhook_token = SecretStr(FRESHDESK_TOKEN)
    settings.hubspot_client_secret = SecretStr(HUBSPOT_SECRET)
    settings.generic_webhook_secret = SecretStr(GENERIC_SECRET)
    for name, value in {"HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN, "HUBSPOT_API_BASE": hubspot.base_url,
                        "ZENDESK_API_BASE": zendesk_api.base_url, "ZENDESK_EMAIL": ZENDESK_API_EMAIL,
                        "ZENDESK_API_TOKEN": ZENDESK_API_TOKEN}.items():
        worker_env.setenv(name, value)
    context.reset()
    return settings


# ---------------------------------------------------------------------------------------- the test


def test_one_interaction_from_every_source_updates_one_hubspot_contact(configured, client, db, redis_conn,
                                                                       hubspot, zendesk_api):
    crm_id = hubspot.add_contact({"firstname": "Maria", "lastname": "Lopez", "phone": PHONE, "email": EMAIL})
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30)
    times = {s.name: start + timedelta(minutes=3 * i) for i, s in enumerate(SOURCES)}
    thread = fixture("hubspot/api_thread.json")
    thread.update(id=HUBSPOT_THREAD, createdAt=iso_z(times["hubspot"]), associatedContactId=crm_id)
    hubspot.add_conversation_thread(thread)
    message = fixture("hubspot/api_message_incoming_chat.json")
    message.update(id=HUBSPOT_MESSAGE, createdAt=iso_z(times["hubspot"]), updatedAt=iso_z(times["hubspot"]),
                   text=HUBSPOT_TEXT, richText=f"<div>{HUBSPOT_TEXT}</div>")
    message["senders"][0].update(name=NAME, deliveryIdentifier={"type": "HS_EMAIL_ADDRESS", "value": EMAIL})
    hubspot.add_conversation_message(HUBSPOT_THREAD, message)

    for source in SOURCES:
        delivery = source.build(times[source.name])
        assert_identified_only_by(source, delivery)
        response = client.post(delivery.path, data=delivery.body, headers=delivery.headers)
        assert response.status_code == 200, (source.name, response.status_code, response.get_json())
        assert response.get_json() == {"accepted": 1, "queued": 1, "duplicates": 0, "ignored": 0}, source.name
        drain(redis_conn)
        with db.session() as session:
            statuses = {(e.source, e.status, e.last_error) for e in session.scalars(select(WebhookEvent))}
        assert (source.name, "processed", None) in statuses, (source.name, statuses)

    with db.session() as session:
        events = session.scalars(select(WebhookEvent)).all()
        assert sorted((e.source, e.status) for e in events) == sorted((s.name, "processed") for s in SOURCES)

        # One contact in our database, known by her phone and her email (and each provider's id for her).
        [contact] = session.scalars(select(Contact)).all()
        identities = {(i.kind, i.value) for i in session.scalars(select(ContactIdentity))}
        assert {i.contact_id for i in session.scalars(select(ContactIdentity))} == {contact.id}
        assert {v for k, v in identities if k == "phone"} == {PHONE}
        assert {v for k, v in identities if k == "email"} == {EMAIL}
        assert {("zendesk:contact", ZENDESK_REQUESTER), ("hubspot:contact", crm_id)} <= identities
        assert contact.crm_id == f"hubspot:{crm_id}"
        assert contact.synced_at is not None and contact.synced_at == contact.needs_sync_at  # nothing left over

        # One scored interaction per source, all hers, each labelled as its words deserve.
        interactions = session.scalars(select(Interaction).order_by(Interaction.id)).all()
        assert [i.source for i in interactions] == [s.name for s in SOURCES]
        assert {i.contact_id for i in interactions} == {contact.id}
        assert all(i.score is not None for i in interactions)
        labels = {i.source: i.score.label for i in interactions}
        assert labels == {s.name: s.label for s in SOURCES}
        by_source = {i.source: i for i in interactions}
        for name, at in times.items():
            if name != "twilio":
                assert by_source[name].occurred_at == at, name
        latest = by_source["twilio"]
        assert latest.occurred_at is None and latest.created_at > times["hubspot"]
        latest_time = latest.created_at
        latest_score = (latest.score.intensity, f"{latest.score.score:.3f}", latest.score.escalation_reason)

        tasks = session.scalars(select(FollowUpTask)).all()
        update_writes = session.scalars(select(CrmWrite).where(CrmWrite.operation == "update_contact")).all()

    # HubSpot: only the seeded contact exists and only it was written (no create, no other id).
    assert list(hubspot.contacts) == [crm_id]
    contacts_api = "/crm/v3/objects/contacts"
    object_calls = [(r.method, r.path, r.status) for r in hubspot.requests if r.path.startswith(contacts_api)]
    allowed = {("POST", f"{contacts_api}/search"), ("PATCH", f"{contacts_api}/{crm_id}"),
               ("POST", f"{contacts_api}/batch/update"), ("POST", f"{contacts_api}/batch/read")}
    assert {(method, path) for method, path, _ in object_calls} <= allowed, object_calls
    assert {status for _, _, status in object_calls} == {200}, object_calls
    patched = [r for r in hubspot.requests if r.method == "PATCH" and r.path.startswith(contacts_api)]
    batched = [item["id"] for r in hubspot.requests if r.path == f"{contacts_api}/batch/update"
               for item in r.json["inputs"]]
    assert set(batched) <= {crm_id}
    read = [item["id"] for r in hubspot.requests if r.path == f"{contacts_api}/batch/read" for item in r.json["inputs"]]
    assert set(read) <= {crm_id}  # the task owner is read from her record only
    assert 0 < len(patched) + len(batched) == len(update_writes)

    # Her properties describe the latest interaction (the Twilio text) and count the negative ones.
    properties = hubspot.contacts[crm_id]
    intensity, score, reason = latest_score
    assert intensity in ("negative", "very_negative")
    assert properties["undertone_sentiment"] == intensity
    assert properties["undertone_sentiment_score"] == score
    assert properties["undertone_last_interaction_at"] == iso_z(latest_time)
    assert properties["undertone_escalation"] == ("true" if reason else "false")
    assert properties.get("undertone_escalation_reason") == reason
    assert properties["undertone_negative_count_30d"] == str(NEGATIVES) == "5"
    assert (properties["email"], properties["phone"], properties["firstname"]) == (EMAIL, PHONE, "Maria")

    # At most one open follow-up task per reason, each created in HubSpot on her contact.
    open_reasons = [t.reason for t in tasks if t.status == "open"]
    assert len(open_reasons) == len(set(open_reasons))
    assert "escalation" in open_reasons and set(open_reasons) <= {"negative_sentiment", "escalation"}
    assert sorted(hubspot.tasks) == sorted(t.crm_task_id for t in tasks)
    assert all(hubspot.associated_ids("tasks", task_id) == [crm_id] for task_id in hubspot.tasks)

    # Hydration asked the providers' APIs exactly what the webhooks named only by id.
    # (and the assignee's name, for the insights' agent; this server does not know them: no name, no failure)
    assert [(r.method, r.path, r.status) for r in zendesk_api.requests if "/users/" in r.path] == [
        ("GET", f"/api/v2/users/{ZENDESK_REQUESTER}.json", 200), ("GET", "/api/v2/users/8447388090495.json", 404)]
    conversations = [(r.path, r.status) for r in hubspot.requests if r.path.startswith("/conversations/")]
    assert sorted(conversations) == sorted([
        (f"/conversations/v3/conversations/threads/{HUBSPOT_THREAD}", 200),
        (f"/conversations/v3/conversations/threads/{HUBSPOT_THREAD}/messages/{HUBSPOT_MESSAGE}", 200)])
