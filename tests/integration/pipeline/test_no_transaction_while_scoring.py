"""No database transaction stays open while an event is hydrated or scored (issue 9, finding 8).

The scorer and the connector below, when called, open a connection of their own and write the rows
the worker works on with a short lock timeout (SQLite: 0.2 s busy timeout, so a worker holding its
BEGIN IMMEDIATE write lock makes them fail; PostgreSQL: 200 ms lock_timeout on the event and
interaction rows, and no other session of ours "idle in transaction"). Before the fix scoring ran
inside the worker's storing transaction and every probe failed.
"""
from __future__ import annotations

import json
from typing import Sequence

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from connectors import registry
from integration import defaults
from integration.pipeline import processing
from integration.pipeline.interactions import current_content
from integration.store.models import Interaction, InteractionScore, WebhookEvent
from scoring.analysis import Analyzer
from scoring.lexicon import LexiconScorer
from tests.quo_requests import classic_headers, fixture_body

TEXT = "Thanks so much, the technician was wonderful and fixed everything!"


class Probe:
    """Writes the worker's rows from another connection with a short lock wait; records what happened."""

    def __init__(self, url: str, event_row_id: int):
        self.event_row_id = event_row_id
        args = {"timeout": 0.2} if url.startswith("sqlite") else {"options": "-c lock_timeout=200"}
        self.engine = create_engine(url, poolclass=NullPool, connect_args=args)
        self.results: list[str] = []

    def __call__(self, where: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(text("UPDATE webhook_events SET attempts = attempts WHERE id = :id"),
                             {"id": self.event_row_id})
                conn.execute(text("UPDATE interactions SET updated_at = updated_at"))
                if self.engine.dialect.name == "postgresql":
                    idle = conn.scalar(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"))
                    assert idle == 0, f"{idle} sessions idle in transaction"
            self.results.append(f"{where}: ok")
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on by the test
            self.results.append(f"{where}: {type(exc).__name__}: {exc}".splitlines()[0])


class ProbingScorer:
    """The lexicon scorer, probing the database before it scores; `edit` may change the interaction first."""

    name = "lexicon"

    def __init__(self, probe: Probe, edit=None):
        self.inner, self.probe, self.edit, self.calls = LexiconScorer(), probe, edit, 0

    def score(self, texts: Sequence[str]):
        self.calls += 1
        self.probe("scorer")
        if self.edit is not None:
            self.edit(self.calls)
        return self.inner.score(texts)


class ProbingConnector:
    """A source's real connector whose hydration first probes the database."""

    def __init__(self, inner, probe: Probe):
        self.inner, self.probe = inner, probe

    def parse(self, event):
        return self.inner.parse(event)

    def hydrate(self, items, event):
        self.probe("hydrate")
        return self.inner.hydrate(items, event)


def _delivered(client, db) -> int:
    document = json.loads(fixture_body("message_received.json"))
    document["data"]["object"]["text"] = TEXT
    body = json.dumps(document).encode()
    assert client.post("/webhooks/quo", data=body, headers=classic_headers(body)).status_code == 200
    with db.session() as session:
        return session.scalar(select(WebhookEvent.id))


def _append_customer_words(db, words: str) -> None:
    with db.session() as session:
        row = session.scalar(select(Interaction))
        row.turns = [*row.turns, {"speaker": "customer", "text": words, "at": None}]


def test_no_transaction_is_open_while_hydrating_or_scoring(client, db, database_url, worker_env):
    event_id = _delivered(client, db)
    probe = Probe(database_url, event_id)
    scorer = ProbingScorer(probe)
    outcome = processing.process_event(db, event_id, Analyzer.default(scorer),
                                       lambda source: ProbingConnector(registry.inbound(source), probe))
    assert outcome.status == "processed" and scorer.calls == 1
    assert probe.results == ["hydrate: ok", "scorer: ok"]
    with db.session() as session:
        assert session.get(WebhookEvent, event_id).status == "processed"
        assert session.scalar(select(InteractionScore.label)) == "positive"


def test_an_interaction_changed_while_scored_is_scored_again_before_anything_is_written(client, db, database_url,
                                                                                         worker_env):
    event_id = _delivered(client, db)
    probe = Probe(database_url, event_id)
    scorer = ProbingScorer(probe, edit=lambda call: call == 1 and _append_customer_words(
        db, "Actually this is terrible, I want a refund."))
    outcome = processing.process_event(db, event_id, Analyzer.default(scorer))
    assert outcome.status == "processed" and scorer.calls == 2 and outcome.contacts
    with db.session() as session:
        row = session.scalar(select(Interaction))
        assert row.score.content_hash == current_content(row, "lexicon")  # the score is of what is stored now
        assert len(row.score.turn_scores) == 2
        assert session.get(WebhookEvent, event_id).status == "processed"
    assert all(result.endswith("ok") for result in probe.results)


def test_content_that_keeps_changing_leaves_the_event_pending_for_the_retry(client, db, database_url, worker_env):
    event_id = _delivered(client, db)
    scorer = ProbingScorer(Probe(database_url, event_id),
                           edit=lambda call: _append_customer_words(db, f"and another thing number {call}"))
    with pytest.raises(processing.ContentKeptChanging):
        processing.process_event(db, event_id, Analyzer.default(scorer))
    assert scorer.calls == defaults.SCORE_ATTEMPTS
    with db.session() as session:
        assert session.get(WebhookEvent, event_id).status == "pending"
        assert session.scalar(select(InteractionScore)) is None  # nothing stale was written
    scorer.edit = None  # the retry, once the thread is quiet
    assert processing.process_event(db, event_id, Analyzer.default(scorer)).status == "processed"
    with db.session() as session:
        row = session.scalar(select(Interaction))
        assert row.score.content_hash == current_content(row, "lexicon")
