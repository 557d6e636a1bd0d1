"""The process and sync jobs through a real RQ worker, real Redis and both databases."""
from __future__ import annotations

import json

import pytest
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from integration import defaults
from integration.pipeline import processing
from integration.store.models import (
    Contact,
    ContactIdentity,
    CrmWrite,
    FollowUpTask,
    Interaction,
    InteractionScore,
    SinkContact,
    SinkTask,
    WebhookEvent,
)
from tests.quo_requests import classic_headers, fixture_body
from tests.workers.helpers import drain
from workers import context, jobs

CUSTOMER = "+13125550147"


def send(client, name: str, **kwargs) -> dict:
    body = fixture_body(name, **kwargs)
    response = client.post("/webhooks/quo", data=body, headers=classic_headers(body))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_frustrated_transcript_ends_as_sink_update_and_task(client, db, redis_conn, worker_env):
    send(client, "call_transcript_completed.json")
    drain(redis_conn)
    with db.session() as session:
        interaction = session.scalar(select(Interaction))
        assert interaction.channel == "call" and interaction.thread_key.startswith("call:")
        speakers = [t["speaker"] for t in interaction.turns]
        assert set(speakers) == {"agent", "customer"} and speakers[0] == "agent"
        score = interaction.score
        assert score.label == "negative" and score.basis == "customer_turns"
        assert all(interaction.turns[t["turn"]]["speaker"] == "customer" for t in score.turn_scores)
        identity = session.scalar(select(ContactIdentity).where(ContactIdentity.kind == "phone"))
        assert identity.value == CUSTOMER
        sink = session.scalar(select(SinkContact))
        assert sink.properties["undertone_sentiment"] in ("negative", "very_negative")
        assert float(sink.properties["undertone_sentiment_score"]) < 0
        assert sink.properties["undertone_negative_count_30d"] == "1"
        task = session.scalar(select(SinkTask))
        assert task.task_type == "CALL" and task.subject.startswith("Call +13125550147 back today: ")
        assert "refund" in task.subject and "(Undertone ref task-" in task.body
        assert session.scalar(select(WebhookEvent.status)) == "processed"


@pytest.mark.parametrize(
    "order",
    [
        ["call_completed.json", "call_transcript_completed.json", "call_summary_completed.json"],
        ["call_summary_completed.json", "call_transcript_completed.json", "call_completed.json"],
    ],
    ids=["in-order", "reversed"],
)
def test_events_of_one_call_merge_into_one_interaction_in_any_order(client, db, redis_conn, worker_env, order):
    for name in order:
        send(client, name)
        drain(redis_conn)
    with db.session() as session:
        [interaction] = session.scalars(select(Interaction)).all()
        assert interaction.direction == "inbound"
        assert interaction.summary and interaction.turns
        assert interaction.contact_id is not None
        assert interaction.source_ids.get("call_id")
    assert count(db, FollowUpTask) == 1
    assert count(db, SinkTask) == 1


def test_running_a_job_twice_changes_nothing(client, db, redis_conn, worker_env):
    send(client, "call_transcript_completed.json")
    drain(redis_conn)
    with db.session() as session:
        event_id = session.scalar(select(WebhookEvent.id))
        contact_id = session.scalar(select(Contact.id))
        scored_at = session.scalar(select(InteractionScore.scored_at))
    before = {m.__name__: count(db, m) for m in (Interaction, InteractionScore, CrmWrite, FollowUpTask, SinkTask)}
    # Both jobs again, as RQ may do after a killed worker: directly, bypassing the queue's guards.
    assert jobs.process_event(event_id)["status"] == "processed"
    with db.session() as session:
        session.get(WebhookEvent, event_id).status = "pending"  # even a re-run of the work itself
    again = processing.process_event(db, event_id, context.analyzer())
    assert again.status == "processed" and again.contacts == set()
    with db.session() as session:
        session.get(Contact, contact_id).synced_at = None  # as if the flush had died before finishing
    result = jobs.flush_crm()
    assert result["status"] == "flushed" and (result["updated"], result["notes"], result["tasks"]) == (0, 0, 0)
    after = {m.__name__: count(db, m) for m in (Interaction, InteractionScore, CrmWrite, FollowUpTask, SinkTask)}
    assert after == before
    with db.session() as session:
        assert session.scalar(select(InteractionScore.scored_at)) == scored_at


def test_positive_message_updates_properties_without_a_task(client, db, redis_conn, worker_env):
    body = json.loads(fixture_body("message_received.json"))
    body["data"]["object"]["text"] = "Thanks so much, the technician was wonderful and fixed everything!"
    raw = json.dumps(body).encode()
    assert client.post("/webhooks/quo", data=raw, headers=classic_headers(raw)).status_code == 200
    drain(redis_conn)
    with db.session() as session:
        sink = session.scalar(select(SinkContact))
        assert sink.properties["undertone_sentiment"] in ("positive", "very_positive")
        assert sink.properties["undertone_escalation"] == "false"
    assert count(db, SinkTask) == 0


def test_stored_event_that_cannot_be_parsed_fails_without_retries(client, db, redis_conn, worker_env):
    send(client, "call_transcript_completed.json")
    with db.session() as session:
        event = session.scalar(select(WebhookEvent))
        event.body = b'{"id": "EVbroken", "type": "call.transcript.completed", "data": {"object": {}}}'
    drain(redis_conn)
    with db.session() as session:
        event = session.scalar(select(WebhookEvent))
        assert event.status == "failed" and event.last_error.startswith("malformed")
    assert count(db, Interaction) == 0


def test_unexpected_error_is_retried_then_lands_in_failed_registry(client, db, redis_conn, worker_env, monkeypatch):
    monkeypatch.setattr(defaults, "PROCESS_RETRY_INTERVALS_S", (0, 0))

    def broken(*_args, **_kwargs):
        raise RuntimeError("scorer exploded")

    monkeypatch.setattr(processing, "store_analysis", broken)
    send(client, "call_transcript_completed.json")
    drain(redis_conn, rounds=4)
    registry = FailedJobRegistry(defaults.EVENTS_QUEUE, connection=redis_conn)
    assert registry.count == 1
    with db.session() as session:
        event = session.scalar(select(WebhookEvent))
        assert event.status == "pending" and event.attempts == 3  # first try + two retries
        assert "scorer exploded" in event.last_error
    # The sweep sees the exhausted job and marks the event failed for the admin page.
    monkeypatch.setattr(defaults, "SWEEP_GRACE_S", 0)
    assert jobs.sweep()["failed_events"] == 1
    with db.session() as session:
        assert session.scalar(select(WebhookEvent.status)) == "failed"


def test_contact_merge_moves_crm_links_to_the_survivor(db, worker_env):
    from connectors.base import ContactMerge
    from integration.pipeline.processing import _apply_merge

    with db.session() as session:
        cached = Contact(crm_id="hubspot:111")
        linked = Contact()
        session.add_all([cached, linked])
        session.flush()
        session.add(ContactIdentity(contact_id=linked.id, kind="hubspot:contact", value="222"))
        session.flush()
        touched = _apply_merge(session, ContactMerge("hubspot", "999", ("111", "222")))
        assert touched == {cached.id, linked.id}
        assert cached.crm_id == "hubspot:999" and cached.needs_sync_at is not None
        assert session.scalar(select(ContactIdentity.value).where(ContactIdentity.kind == "hubspot:contact")) == "999"


@pytest.mark.parametrize("scorer", ["flair", "ensemble"])
def test_the_pipeline_uses_the_configured_ai_scorer(client, db, redis_conn, worker_env, scorer):
    pytest.importorskip("flair")
    worker_env.setenv("SCORER", scorer)
    context.reset()
    send(client, "call_transcript_completed.json")
    drain(redis_conn)
    with db.session() as session:
        score = session.scalar(select(InteractionScore))
        assert score.scorer == scorer
        assert score.label == "negative" and score.basis == "customer_turns"
        assert len(score.turn_scores) == 4  # the customer's turns only


def test_with_the_ai_scorer_themes_are_also_found_by_meaning(client, db, redis_conn, worker_env):
    pytest.importorskip("flair")
    worker_env.setenv("SCORER", "ensemble")
    context.reset()
    assert context.analyzer().themes.embed is not None
    assert context.analyzer().detector is not None  # the learned escalation detector shares the embeddings
    worker_env.setenv("THEME_EMBEDDINGS", "false")
    context.reset()
    assert context.analyzer().themes.embed is None
    assert context.analyzer().detector is None
