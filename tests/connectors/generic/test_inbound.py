"""The generic source: our own JSON shape, signed with Standard Webhooks."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from pydantic import SecretStr

from connectors.base import MalformedPayload, SignatureInvalid, WebhookRequest
from connectors.generic.inbound import GenericConnector
from tests.connectors import kit
from tests.connectors.signing import sign_standard, whsec_secret

FIXTURES = kit.FIXTURES / "generic"
SECRET = whsec_secret(b"generic-test-key-0123456789abcdef")
OTHER = whsec_secret(b"generic-other-key-0123456789abcde")
NOW = 1_790_000_000


def request(body: bytes, secret: str = SECRET, msg_id: str = "msg_1", at: int = NOW) -> WebhookRequest:
    return kit.request("generic", body, sign_standard(body, secret, msg_id, at))


def connector(*secrets: str) -> GenericConnector:
    return kit.connector(GenericConnector, *(secrets or (SECRET,)), clock=lambda: NOW)


def fixture(name: str) -> bytes:
    return kit.fixture("generic", name)


def test_review_verifies_and_parses():
    body = fixture("review.json")
    [event] = connector().events(request(body))
    connector().verify(request(body))
    assert (event.event_id, event.event_type) == ("rev-20261120-0042", "interaction")
    [item] = connector().parse(event)
    assert item.thread_key == "review:rev-20261120-0042" and item.channel == "review"
    assert item.customer.phone == "+13125550147" and item.customer.email == "Dana.Lee@example.com"
    assert item.customer.provider_id == "yelp-user-88" and item.customer.name == "Dana Lee"
    assert item.occurred_at == datetime(2026, 11, 20, 18, 42, 10, tzinfo=timezone.utc)
    assert [(t.speaker, t.id) for t in item.turns] == [("customer", "rev-20261120-0042")]
    assert item.url == "https://reviews.example.com/r/42"


def test_survey_turns_thread_and_epoch_time():
    [item] = connector().parse(connector().events(request(fixture("survey.json")))[0])
    assert item.thread_key == "survey:nps-campaign-11:7781"
    assert [t.speaker for t in item.turns] == ["bot", "customer"] and item.turns[1].id == "answer-1"
    assert item.occurred_at == datetime.fromtimestamp(1763664130, tz=timezone.utc)
    assert item.summary == "NPS 10"


def test_without_body_id_the_webhook_id_is_the_dedupe_key():
    body = json.dumps({"channel": "email", "contact": {"email": "a@b.co"}, "text": "hi"}).encode()
    [event] = connector().events(request(body, msg_id="msg_abc"))
    assert event.event_id == "msg_abc"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda b: WebhookRequest(b + b" ", request(b).headers, "u"), id="changed-byte"),
        pytest.param(lambda b: request(b, secret=OTHER), id="wrong-secret"),
        pytest.param(lambda b: WebhookRequest(b, {}, "u"), id="no-headers"),
        pytest.param(lambda b: WebhookRequest(b, {**request(b).headers, "webhook-signature": "v1,!!!"}, "u"), id="garbage"),
        pytest.param(lambda b: request(b, at=NOW - 301), id="stale"),
        pytest.param(lambda b: request(b, at=NOW + 301), id="future"),
    ],
)
def test_bad_signatures(make):
    with pytest.raises(SignatureInvalid):
        connector().verify(make(fixture("review.json")))


def test_rotation_accepts_either_secret():
    body = fixture("review.json")
    connector(OTHER, SECRET).verify(request(body, secret=SECRET))
    connector(OTHER, SECRET).verify(request(body, secret=OTHER))


@pytest.mark.parametrize(
    "document, message",
    [
        ("not json", "not JSON"),
        ([1, 2], "not a JSON object"),
        ({"channel": "fax", "text": "x"}, "channel"),
        ({"direction": "sideways", "text": "x"}, "direction"),
        ({"contact": {"phone": "call me"}, "text": "x"}, "phone"),
        ({"contact": "bob", "text": "x"}, "contact"),
        ({"contact": {"email": "a@b.co"}}, "text"),
        ({"turns": [{"speaker": "robot", "text": "x"}]}, "speaker"),
        ({"turns": "hello"}, "list"),
        ({"occurred_at": "yesterday", "text": "x"}, "occurred_at"),
        ({"type": "vote", "text": "x"}, "type"),
    ],
)
def test_bad_shapes_are_malformed(document, message):
    body = document.encode() if isinstance(document, str) else json.dumps(document).encode()
    with pytest.raises(MalformedPayload, match=message):
        connector().events(request(body))


def test_web_accepts_generic_and_refuses_import(settings, client):
    settings.generic_webhook_secret = SecretStr(SECRET)
    body = fixture("review.json")
    headers = sign_standard(body, SECRET, "msg_web", int(time.time()))
    assert client.post("/webhooks/generic", data=body, headers=headers).get_json()["accepted"] == 1
    bad = json.dumps({"channel": "fax", "text": "x", "id": "1"}).encode()
    response = client.post("/webhooks/generic", data=bad, headers=sign_standard(bad, SECRET, "msg_2", int(time.time())))
    assert response.status_code == 400 and "channel" in response.get_json()["error"]
    assert client.post("/webhooks/import", data=body, headers=headers).status_code == 401
