"""Sentiment tags written back to the help-desk ticket an interaction came from (Zendesk here)."""
from __future__ import annotations

import json
import time

import pytest
from pydantic import SecretStr

from integration.store.models import Interaction
from integration.sync import helpdesk_tags
from tests.connectors.signing import hmac_b64
from tests.servers.json_api import JsonAPIServer
from tests.workers.helpers import drain
from workers import context

SECRET = "zendesk-webhook-secret"


@pytest.fixture
def zendesk(worker_env, settings):
    settings.zendesk_webhook_secret = SecretStr(SECRET)
    tickets = {"4321": {"id": 4321, "status": "open", "tags": ["vip"], "updated_at": "2026-11-26T08:00:00Z"}}
    with JsonAPIServer() as api:
        api.route("GET", "/api/v2/users/<user_id>.json", lambda req, user_id: (200, {"user": {
            "id": int(user_id), "name": "Dana", "email": "dana@example.com", "phone": None}}))
        api.route("GET", "/api/v2/tickets/<ticket_id>.json", lambda req, ticket_id: (200, {"ticket": tickets[ticket_id]}))

        def add(req, ticket_id):
            tickets[ticket_id]["tags"] = sorted(set(tickets[ticket_id]["tags"]) | set(req.get_json()["tags"]))
            return 200, {"tags": tickets[ticket_id]["tags"]}

        def remove(req, ticket_id):
            tickets[ticket_id]["tags"] = sorted(set(tickets[ticket_id]["tags"]) - set(req.get_json()["tags"]))
            return 200, {"tags": tickets[ticket_id]["tags"]}

        api.route("PUT", "/api/v2/tickets/<ticket_id>/tags.json", add)
        api.route("DELETE", "/api/v2/tickets/<ticket_id>/tags.json", remove)
        for name, value in (("ZENDESK_API_BASE", api.base_url), ("ZENDESK_EMAIL", "agent@example.com"),
                            ("ZENDESK_API_TOKEN", "tok"), ("ZENDESK_SUBDOMAIN", "acme")):
            worker_env.setenv(name, value)
        context.reset()
        yield api, tickets


def comment(client, comment_id: int, text: str) -> None:
    body = json.dumps({
        "type": "zen:event-type:ticket.comment_added", "id": f"evt-{comment_id}", "time": "2026-11-26T08:00:00Z",
        "zendesk_event_version": "2022-11-06", "subject": "zen:ticket:4321",
        "detail": {"id": "4321", "subject": "Leak", "requester_id": "77", "status": "OPEN"},
        "event": {"comment": {"id": str(comment_id), "body": text, "is_public": True,
                              "author": {"id": "77", "is_staff": False, "name": "Dana"}}},
    }).encode()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    headers = {"X-Zendesk-Webhook-Signature": hmac_b64(SECRET.encode(), stamp.encode() + body),
               "X-Zendesk-Webhook-Signature-Timestamp": stamp, "content-type": "application/json"}
    response = client.post("/webhooks/zendesk", data=body, headers=headers)
    assert response.status_code == 200, response.get_json()


def test_ticket_gets_sentiment_and_escalation_tags_and_they_follow_the_mood(client, redis_conn, zendesk, db):
    _api, tickets = zendesk
    comment(client, 1, "This is ridiculous. Nobody has called me back and I want a refund.")
    drain(redis_conn)
    assert {"escalation_anger", "escalation_refund", "sentiment_negative", "vip"} <= set(tickets["4321"]["tags"])
    # The customer is happy after all: the ticket's score turns positive and its flags clear.
    with db.session() as session:
        score = session.query(Interaction).one().score
        score.label, score.flags = "positive", []
        interaction_id = score.interaction_id
    result = helpdesk_tags.tag_interaction(db, context.runtime().settings, interaction_id)
    assert result["added"] == ["sentiment_positive"]
    assert {"sentiment_negative", "escalation_anger", "escalation_refund"} <= set(result["removed"])
    assert tickets["4321"]["tags"] == ["sentiment_positive", "vip"]  # other people's tags are never touched
    with db.session() as session:
        assert session.query(Interaction).one().helpdesk_tags == ["sentiment_positive"]
    requests_before = len(_api.requests)
    helpdesk_tags.tag_interaction(db, context.runtime().settings, interaction_id)  # again: nothing changes
    assert [r.method for r in _api.requests[requests_before:]] == ["GET"]


def test_desired_tags_follow_label_and_flags():
    class Score:
        label = "negative"
        flags = [{"rule": "competitor"}, {"rule": "anger"}, {"rule": "competitor"}]

    assert helpdesk_tags.desired_tags(Score()) == ["sentiment_negative", "escalation_competitor", "escalation_anger"]
