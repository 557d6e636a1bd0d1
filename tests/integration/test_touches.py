"""Business touches and interaction lines/agents, stored through the real pipeline on both databases."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlalchemy import func, select

from connectors import registry
from connectors.base import WebhookRequest
from integration import inbox
from integration.models import Contact, Interaction, InteractionScore, Touch, WebhookEvent
from integration.processing import process_event
from scoring.analysis import Analyzer
from scoring.lexicon import LexiconScorer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer.default(LexiconScorer())


def deliver(db, analyzer, source: str, body: bytes, headers: dict | None = None) -> list[str]:
    """Accept the body as the web path would (split, dedupe) and process what was stored; the statuses."""
    connector = registry.inbound(source)
    events = connector.events(WebhookRequest(body, headers or {}, "https://undertone.example/webhooks/" + source))
    accepted = inbox.accept(db, source, events, connector.handles)
    return [process_event(db, row_id, analyzer).status for row_id in accepted.new]


def count(db, model, *where) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def quo_delivered(event_id: str) -> bytes:
    body = json.loads((FIXTURES / "quo" / "message_received.json").read_text())
    body.update(id=event_id, type="message.delivered")
    body["data"]["object"].update(id="AC-reply-1", direction="outgoing", status="delivered",
                                  createdAt="2026-03-04T10:00:00Z", **{"from": "+16175550100"},
                                  to=["+13125550147"], text="We have escalated your refund.")
    return json.dumps(body).encode()


def test_an_outgoing_text_is_a_touch_and_never_a_scored_interaction(db, analyzer):
    assert deliver(db, analyzer, "quo", quo_delivered("EV-delivered-1")) == ["processed"]
    assert count(db, Interaction) == 0 and count(db, InteractionScore) == 0
    with db.session() as session:
        touch = session.scalar(select(Touch))
        contact = session.get(Contact, touch.contact_id)
        assert (touch.source, touch.kind, touch.external_id, touch.line, touch.agent, touch.interaction_id) == (
            "quo", "outbound_text", "message:AC-reply-1", "quo:phone_number:PNq7Xk2LmR",
            "quo:USa1B2c3D4", None)
        assert [(i.kind, i.value) for i in contact.identities] == [("phone", "+13125550147")]
        assert touch.occurred_at.isoformat() == "2026-03-04T10:00:00+00:00"


def test_a_redelivered_touch_is_stored_once(db, analyzer):
    deliver(db, analyzer, "quo", quo_delivered("EV-delivered-1"))
    assert deliver(db, analyzer, "quo", quo_delivered("EV-delivered-1")) == []  # the inbox's dedupe
    # The same text again under another event id (another webhook generation, a replayed export): one touch.
    assert deliver(db, analyzer, "quo", quo_delivered("EV-delivered-2")) == ["processed"]
    assert count(db, Touch) == 1 and count(db, WebhookEvent) == 2


def test_a_touch_of_the_customer_after_their_complaint_shares_their_contact(db, analyzer):
    assert deliver(db, analyzer, "quo", (FIXTURES / "quo" / "message_received.json").read_bytes()) == ["processed"]
    deliver(db, analyzer, "quo", quo_delivered("EV-delivered-1"))
    with db.session() as session:
        interaction = session.scalar(select(Interaction))
        touch = session.scalar(select(Touch))
        assert interaction.score.label == "negative"
        assert touch.contact_id == interaction.contact_id and touch.occurred_at > interaction.occurred_at


def test_a_help_desk_agent_reply_is_a_touch_linked_to_its_ticket(db, analyzer):
    for name in ("ticket_created.json", "comment_added.json", "comment_added_agent.json"):
        assert deliver(db, analyzer, "zendesk", (FIXTURES / "zendesk" / name).read_bytes()) == ["processed"]
    agent_again = json.loads((FIXTURES / "zendesk" / "comment_added_agent.json").read_text())
    agent_again["id"] = "01JNQ7ZC2D4F6H8J0K2M4N6P8S"  # Zendesk sent the same comment in a second event
    assert deliver(db, analyzer, "zendesk", json.dumps(agent_again).encode()) == ["processed"]
    with db.session() as session:
        [ticket] = session.scalars(select(Interaction)).all()
        [touch] = session.scalars(select(Touch)).all()
        assert (ticket.line, ticket.agent, ticket.agent_name) == (
            "zendesk:brand:8447346621310", "zendesk:8447388090495", "Sam Ortega")
        assert (touch.kind, touch.interaction_id, touch.contact_id) == ("agent_reply", ticket.id, ticket.contact_id)
        assert (touch.external_id, touch.agent) == ("comment:41257790332871", "zendesk:8447388090495")
        assert touch.occurred_at.isoformat() == "2026-03-04T10:03:11.118402+00:00"
        # The agent's words are in the thread but the score reads only the customer's.
        assert ticket.score.basis == "customer_turns"


def test_an_event_without_line_or_agent_never_erases_them(db, analyzer):
    for name in ("call_completed.json", "call_transcript_completed.json", "call_summary_completed.json"):
        assert deliver(db, analyzer, "quo", (FIXTURES / "quo" / name).read_bytes()) == ["processed"]
    with db.session() as session:
        call = session.scalar(select(Interaction))
        assert (call.line, call.line_name, call.agent, call.agent_name) == (
            "quo:phone_number:PNq7Xk2LmR", "+16175550100", "quo:USa1B2c3D4", None)
        assert call.summary and call.turns


def test_an_outbound_twilio_call_is_a_touch_of_the_callee(db, analyzer):
    params = dict(parse_qsl((FIXTURES / "twilio" / "call_status_completed.txt").read_text()))
    params.update(Direction="outbound-api", From="+16175550100", To="+13125550147")
    assert deliver(db, analyzer, "twilio", urlencode(params).encode()) == ["processed"]
    with db.session() as session:
        touch = session.scalar(select(Touch))
        phones = [i.value for i in session.get(Contact, touch.contact_id).identities]
    assert (touch.kind, touch.external_id, touch.line, phones) == (
        "outbound_call", "call:CA9d4e7b2a6c1f4e8b9a3d5c7e1f0b2d4a", "+16175550100", ["+13125550147"])
    assert count(db, Interaction) == 0


def test_a_touch_naming_no_customer_is_skipped_without_failing(db, analyzer):
    body = json.loads(quo_delivered("EV-nobody"))
    body["data"]["object"]["to"] = []
    assert deliver(db, analyzer, "quo", json.dumps(body).encode()) == ["processed"]
    assert count(db, Touch) == 0 and count(db, Contact) == 0
