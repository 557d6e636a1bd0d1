"""Every source's sample payload gives the line it came in on and the agent who handled it (issue 11)."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import jwt
import pytest

from connectors import registry
from connectors.base import Interaction, Touch, WebhookRequest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
URL = "https://undertone.example/webhooks/x"


def parsed(source: str, name: str, body: bytes | None = None) -> list:
    """What the connector's events() and parse() make of a fixture (no signature: parse runs on stored events)."""
    raw = body if body is not None else (FIXTURES / source / name).read_bytes()
    connector = registry.inbound(source)
    return [item for event in connector.events(WebhookRequest(raw, {}, URL)) for item in connector.parse(event)]


def dialpad(name: str) -> bytes:
    return jwt.encode(json.loads((FIXTURES / "dialpad" / name).read_text()), "k" * 32, algorithm="HS256").encode()


def people(item) -> tuple:
    return (item.line, item.line_name, item.agent, item.agent_name)


# source, fixture, expected (line, line_name, agent, agent_name) of the interaction
EXPECTED = [
    ("quo", "call_completed.json", ("quo:phone_number:PNq7Xk2LmR", None, "quo:USa1B2c3D4", None)),
    ("quo", "call_transcript_completed.json", (None, "+16175550100", "quo:USa1B2c3D4", None)),
    ("quo", "message_received.json", ("quo:phone_number:PNq7Xk2LmR", "+16175550100", "quo:USa1B2c3D4", None)),
    ("quo", "v2026_call_transcript_completed.json",
     ("quo:phone_number:PNq7Xk2LmR", "+16175550100", "quo:USa1B2c3D4", None)),
    ("quo", "v2026_message_received.json", ("quo:phone_number:PNq7Xk2LmR", "+16175550100", "quo:USa1B2c3D4", None)),
    ("twilio", "sms_received.txt", ("+16175550100", None, None, None)),
    ("twilio", "transcription_completed.txt", ("+16175550100", None, None, None)),
    ("aircall", "call_ended.json", ("+16175550100", "Support Line", "aircall:456123", "Dana Whitfield")),
    ("aircall", "message_received.json", ("+16175550100", "Support Line", None, None)),
    ("dialpad", "call_hangup.json",
     ("+16175550100", "Brightline Support", "dialpad:5207388610527232", "Dana Whitfield")),
    ("dialpad", "sms_inbound.json", ("+16175550100", None, "dialpad:5207388610527232", "Dana Whitfield")),
    ("zendesk", "ticket_created.json", ("zendesk:brand:8447346621310", None, None, None)),
    ("zendesk", "comment_added.json", ("zendesk:brand:8447346621310", None, "zendesk:8447388090495", None)),
    ("zendesk", "comment_added_agent.json",
     ("zendesk:brand:8447346621310", None, "zendesk:8447388090495", "Sam Ortega")),
    ("intercom", "conversation_admin_replied.json", ("intercom:inbox:5017691", None, "intercom:5512301", "Dana Reyes")),
    ("freshdesk", "ticket_created.json", (None, None, None, None)),
]


@pytest.mark.parametrize(("source", "name", "expected"), EXPECTED, ids=[f"{s}-{n}" for s, n, _ in EXPECTED])
def test_each_sources_fixture_gives_its_line_and_agent(source, name, expected):
    body = dialpad(name) if source == "dialpad" else None
    [item] = [i for i in parsed(source, name, body) if isinstance(i, Interaction)]
    assert people(item) == expected


def test_an_outgoing_twilio_text_is_a_touch_from_the_business_number():
    params = dict(parse_qsl((FIXTURES / "twilio" / "sms_received.txt").read_text()))
    params.update(From="+16175550100", To="+13125550147", Direction="outbound-api")
    [touch] = parsed("twilio", "", urlencode(params).encode())
    assert isinstance(touch, Touch) and (touch.kind, touch.line) == ("outbound_text", "+16175550100")
    assert touch.customer.phone == "+13125550147"


def test_freshdesk_reads_the_group_and_agent_fields_of_the_rule():
    body = json.loads((FIXTURES / "freshdesk" / "agent_reply.json").read_text())
    body.update(group_name="Billing", agent_name="Sam Ortega", agent_email="Sam@Brightline.example")
    item, touch = parsed("freshdesk", "", json.dumps(body).encode())
    assert people(item) == ("freshdesk:group:Billing", "Billing", "freshdesk:sam@brightline.example", "Sam Ortega")
    assert (touch.kind, touch.line, touch.agent) == ("agent_reply", item.line, item.agent)


@pytest.mark.parametrize("source", ["generic", "import"])
def test_generic_documents_carry_line_and_agent_as_given(source):
    document = {"id": "g-1", "channel": "review", "text": "Lovely", "contact": {"email": "a@example.com"},
                "line": "+1 617 555 0100", "line_name": "Main", "agent": "sam", "agent_name": "Sam"}
    from connectors.generic import to_interaction

    assert people(to_interaction(document, source, "g-1")) == ("+16175550100", "Main", "sam", "Sam")


def test_a_generic_line_that_is_not_a_string_is_refused():
    from connectors.base import MalformedPayload
    from connectors.generic import to_interaction

    with pytest.raises(MalformedPayload, match="line must be a string"):
        to_interaction({"id": "g", "text": "x", "line": {"no": 1}}, "generic", "g")
    with pytest.raises(MalformedPayload, match="agent must be a string of at most 128"):
        to_interaction({"id": "g", "text": "x", "agent": "a" * 129}, "generic", "g")


# --- touches: what the business did, never an interaction to score ---------------------------------------

def test_quo_message_delivered_is_only_a_touch():
    body = json.loads((FIXTURES / "quo" / "message_received.json").read_text())
    body["type"] = "message.delivered"
    body["data"]["object"].update({"direction": "outgoing", "from": "+16175550100", "to": ["+13125550147"],
                                   "status": "delivered"})
    [touch] = parsed("quo", "", json.dumps(body).encode())
    assert isinstance(touch, Touch)
    assert (touch.kind, touch.external_id, touch.customer.phone, touch.line, touch.agent) == (
        "outbound_text", "message:AC7e1d4c2b9a8f4e6d5c3b2a1f0e9d8c7b", "+13125550147",
        "quo:phone_number:PNq7Xk2LmR", "quo:USa1B2c3D4")


@pytest.mark.parametrize("source", ["quo", "aircall", "dialpad"])
def test_an_outbound_call_is_an_interaction_and_a_touch(source):
    if source == "quo":
        body = json.loads((FIXTURES / "quo" / "call_completed.json").read_text())
        body["data"]["object"]["direction"] = "outgoing"
        raw = json.dumps(body).encode()
    elif source == "aircall":
        body = json.loads((FIXTURES / "aircall" / "call_ended.json").read_text())
        body["data"]["direction"] = "outbound"
        raw = json.dumps(body).encode()
    else:
        claims = json.loads((FIXTURES / "dialpad" / "call_hangup.json").read_text())
        raw = jwt.encode({**claims, "direction": "outbound"}, "k" * 32, algorithm="HS256").encode()
    call, touch = parsed(source, "", raw)
    assert isinstance(call, Interaction) and call.direction == "outbound"
    assert (touch.kind, touch.thread_key, touch.external_id) == ("outbound_call", call.thread_key, call.thread_key)
    assert (touch.customer, touch.line, touch.agent, touch.occurred_at) == (
        call.customer, call.line, call.agent, call.occurred_at)


def test_inbound_calls_give_no_touch():
    assert [type(i) for i in parsed("quo", "call_completed.json")] == [Interaction]


@pytest.mark.parametrize(("source", "name", "kind"), [
    ("twilio", "message_status_delivered.txt", "outbound_text"),
    ("aircall", None, "outbound_text"),
    ("dialpad", "sms_outbound.json", "outbound_text"),
])
def test_outgoing_texts_are_touches_only(source, name, kind):
    if source == "aircall":
        body = json.loads((FIXTURES / "aircall" / "message_received.json").read_text())
        body.update(event="message.sent")
        body["data"]["direction"] = "outbound"
        raw = json.dumps(body).encode()
    else:
        raw = dialpad(name) if source == "dialpad" else None
    items = parsed(source, name or "", raw)
    assert [type(i) for i in items] == [Touch]
    assert (items[0].kind, items[0].customer.phone, items[0].line) == (kind, "+13125550147", "+16175550100")


def test_a_failed_twilio_text_is_no_touch():
    raw = (FIXTURES / "twilio" / "message_status_delivered.txt").read_bytes().replace(b"delivered", b"failed")
    assert parsed("twilio", "", raw) == []


@pytest.mark.parametrize(("source", "name", "external_id"), [
    ("zendesk", "comment_added_agent.json", "comment:41257790332871"),
    ("intercom", "conversation_admin_replied.json", "part:18846010"),
])
def test_help_desk_agent_replies_are_touches_with_their_time(source, name, external_id):
    item, touch = parsed(source, name)
    assert (touch.kind, touch.external_id, touch.thread_key) == ("agent_reply", external_id, item.thread_key)
    agent_turn = next(t for t in item.turns if t.speaker == "agent")
    assert touch.occurred_at == agent_turn.at and touch.customer == item.customer


def test_customer_comments_give_no_touch():
    assert [type(i) for i in parsed("zendesk", "comment_added.json")] == [Interaction]
    assert [type(i) for i in parsed("intercom", "conversation_user_created.json")] == [Interaction]
