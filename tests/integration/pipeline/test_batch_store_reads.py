"""A batch's storing transaction reads its events' interactions and contacts once at its start, for all of them, and
inserts a new conversation in one statement; what was not there at the start (a thread or customer an earlier event
of the batch created), and identities after a merge, are looked up as one event at a time would. Both databases."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, select

from connectors.base import InboundEvent
from integration import defaults
from integration.pipeline import batch, interactions
from integration.store import claims, inbox
from integration.store.models import Alert, Contact, ContactIdentity, Interaction, WebhookEvent
from workers import context

CALM = ["Can you confirm my appointment for Friday morning?", "Thanks, the visit went fine.",
        "Please send the invoice to my office.", "What time does the technician arrive?"]


@pytest.fixture(autouse=True)
def one_transaction(monkeypatch):
    monkeypatch.setattr(defaults, "BATCH_TRANSACTION_S", 60.0)


def accept(db, documents: list[dict]) -> list[int]:
    events = []
    for document in documents:
        document = {"id": uuid.uuid4().hex, "channel": "sms",
                    "occurred_at": datetime.now(timezone.utc).isoformat(), **document}
        events.append(InboundEvent(document["id"], "interaction", json.dumps(document).encode()))
    return inbox.accept(db, "generic", events, lambda _type: True).new


def process(ids: list[int], statements: list | None = None) -> batch.BatchResult:
    """The events as one batch, as a job claims and processes them; `statements` collects what it ran."""
    rt = context.runtime()
    claimed = claims.claim(rt.db, ids[0], uuid.uuid4().hex, len(ids), 20)
    listener = lambda _c, _cur, statement, *_: statements.append(" ".join(statement.split()))  # noqa: E731
    if statements is not None:
        event.listen(rt.db.engine, "before_cursor_execute", listener)
    try:
        return batch.process_batch(rt.db, claimed, context.analyzer(), context.connector_for(rt))
    finally:
        if statements is not None:
            event.remove(rt.db.engine, "before_cursor_execute", listener)


def phones(count: int) -> list[str]:
    return [f"+1415555{i:04d}" for i in range(count)]


def test_known_customers_and_their_threads_are_read_once_for_the_batch(db, worker_env):
    first = process(accept(db, [{"text": CALM[i % 4], "contact": {"phone": p}} for i, p in enumerate(phones(8))]))
    assert not first.errors
    statements = []
    ids = accept(db, [{"text": CALM[(i + 1) % 4], "contact": {"phone": p}} for i, p in enumerate(phones(8))])
    result = process(ids, statements)
    assert sorted(result.outcomes) == ids and not result.errors
    identity_reads = [s for s in statements if s.startswith("SELECT") and "FROM contact_identities" in s]
    thread_reads = [s for s in statements if s.startswith("SELECT interactions.id, interactions.source")]
    savepoints = [s for s in statements if s.startswith("SAVEPOINT")]
    assert len(identity_reads) == 1, identity_reads  # not one per event
    assert len(thread_reads) == 2, thread_reads  # storing's and the score write's, not one per event
    assert len(savepoints) == 16  # one per event in each transaction; none around an INSERT of a new interaction
    assert len([s for s in statements if s.startswith("INSERT INTO interactions ")]) == 8
    with db.session() as session:
        rows = list(session.scalars(select(Interaction)))
        assert len(rows) == 16 and {r.contact_id for r in rows} == set(session.scalars(select(Contact.id)))
        assert all(r.score is not None and r.created_at is not None and r.helpdesk_tags == [] for r in rows)


def test_two_events_of_a_new_thread_and_customer_in_one_batch_make_one_of_each(db, worker_env):
    ids = accept(db, [{"text": "The sink leaks.", "thread_id": "t-1", "append": True, "contact": {"phone": phones(1)[0]}},
                      {"text": "And the tap drips.", "thread_id": "t-1", "append": True,
                       "contact": {"phone": phones(1)[0]}}])
    result = process(ids)
    assert sorted(result.outcomes) == ids and not result.errors
    with db.session() as session:
        [row] = session.scalars(select(Interaction))
        assert [t["text"] for t in row.turns] == ["The sink leaks.", "And the tap drips."]
        assert [c.id for c in session.scalars(select(Contact))] == [row.contact_id]
        assert row.score is not None
        assert {e.status for e in session.scalars(select(WebhookEvent))} == {"processed"}


def test_an_identity_read_at_the_start_is_looked_up_again_after_an_earlier_event_merged_its_contact(db, worker_env):
    phone, email = phones(1)[0], "maria@example.com"
    assert not process(accept(db, [{"text": CALM[0], "contact": {"phone": phone}}])).errors
    assert not process(accept(db, [{"text": CALM[1], "contact": {"email": email}}])).errors
    with db.session() as session:
        by_phone = session.scalar(select(ContactIdentity.contact_id).where(ContactIdentity.kind == "phone"))
    ids = accept(db, [{"text": CALM[2], "contact": {"phone": phone, "email": email}},  # one person: merged
                      {"text": CALM[3], "contact": {"email": email}}])  # read at the start: the merged-away contact
    result = process(ids)
    assert sorted(result.outcomes) == ids and not result.errors
    with db.session() as session:
        assert list(session.scalars(select(Contact.id))) == [by_phone]
        assert set(session.scalars(select(Interaction.contact_id))) == {by_phone}


def test_an_interactions_escalation_alerts_are_one_insert_without_a_savepoint_each(db, worker_env):
    angry = "This is ridiculous, I want a refund and I will cancel my contract. I will call my lawyer."
    assert not process(accept(db, [{"text": CALM[0], "contact": {"phone": p}} for p in phones(3)])).errors
    statements = []
    ids = accept(db, [{"text": angry, "contact": {"phone": p}} for p in phones(3)])
    result = process(ids, statements)
    assert sorted(result.outcomes) == ids and not result.errors
    with db.session() as session:
        alerts = list(session.scalars(select(Alert)))
    assert len(alerts) >= 3 and all(a.status == "pending" and a.facts["channel"] == "sms" for a in alerts)
    assert len([s for s in statements if s.startswith("INSERT INTO alerts")]) == 3  # one per interaction
    assert len([s for s in statements if s.startswith("SAVEPOINT")]) == 6  # the events' own, in each transaction


def test_the_repeat_contact_history_is_read_once_for_the_batch_and_as_each_event_would_read_it(db, worker_env,
                                                                                               monkeypatch):
    angry = "This is ridiculous, I want a refund."
    assert not process(accept(db, [{"text": angry, "contact": {"phone": p}} for p in phones(6)])).errors
    assert not process(accept(db, [{"text": CALM[0], "contact": {"phone": p}} for p in phones(3)])).errors
    seen = {}
    real = batch._analyse

    def spying(analyzer, work, result):
        seen.update({w.interaction_id: w.history for todo in work.values() for w in todo})
        return real(analyzer, work, result)

    monkeypatch.setattr(batch, "_analyse", spying)
    statements = []
    ids = accept(db, [{"text": CALM[1], "contact": {"phone": p}} for p in phones(8)])  # 6 with a negative before
    result = process(ids, statements)
    assert sorted(result.outcomes) == ids and not result.errors
    assert len([s for s in statements if "FROM interactions JOIN interaction_scores" in s]) == 1  # not one per event
    with db.session() as session:
        for interaction_id, history in seen.items():
            row = session.get(Interaction, interaction_id)
            assert history == interactions._history(session, row)
    assert sum(h.negative_within_hours is not None for h in seen.values()) == 6


def test_a_new_conversations_columns_the_event_does_not_give_are_sql_null(db, worker_env):
    from sqlalchemy import text

    assert not process(accept(db, [{"text": CALM[0], "contact": {"phone": phones(1)[0]}}])).errors
    with db.session() as session:
        assert session.execute(text("SELECT count(*) FROM interactions WHERE summary IS NULL AND url IS NULL "
                                    "AND line IS NULL AND turns IS NOT NULL")).scalar() == 1
