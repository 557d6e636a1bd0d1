"""Errors no retry can fix fail the job at once with their real error; NUL and lone surrogates in a
stored event's text are stripped by the worker (issue 9, finding 9)."""
from __future__ import annotations

import json

import pytest
import requests
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select
from sqlalchemy.exc import DataError, OperationalError

from connectors.base import InboundEvent, MalformedPayload
from connectors.common.http import ProviderError
from connectors.crm import CRMError
from integration import defaults, queues
from integration.store import inbox
from integration.store.models import Interaction, InteractionScore, WebhookEvent
from scoring.analysis import Analyzer
from tests.quo_requests import classic_headers, fixture_body
from tests.workers.helpers import drain
from workers import context, jobs
from workers.errors import is_permanent


def _analyzer_with(scorer):
    """Stands in for context.analyzer (cached there, hence the cache_clear the context's reset calls)."""
    def analyzer():
        return Analyzer.default(scorer)
    analyzer.cache_clear = lambda: None
    return analyzer


def _db_error(kind):
    return kind("INSERT ...", {}, Exception("driver said no"))


@pytest.mark.parametrize("error, permanent", [
    (ValueError("bad number"), True),
    (TypeError("tokenizer got None"), True),
    (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), True),
    (json.JSONDecodeError("Expecting value", "x", 0), True),
    (MalformedPayload("no id"), True),
    (_db_error(DataError), True),
    (ProviderError("redirect", status=302, retryable=False), True),
    (ProviderError("unauthorised", status=401, retryable=False), True),
    (CRMError("bad token", status=401, retryable=False), True),
    (_db_error(OperationalError), False),
    (RedisConnectionError("gone"), False),
    (ProviderError("busy", status=503, retryable=True), False),
    (ProviderError("ReadTimeout", retryable=True), False),
    (requests.ConnectionError("refused"), False),
    (RuntimeError("who knows"), False),
])
def test_errors_are_classified(error, permanent):
    assert is_permanent(error) is permanent


class BrokenTokenizer:
    name = "lexicon"

    def score(self, texts):
        raise TypeError("expected string or bytes-like object, got 'NoneType'")


def _send(client, text: str = "Thanks, all good now.") -> None:
    document = json.loads(fixture_body("message_received.json"))
    document["data"]["object"]["text"] = text
    body = json.dumps(document).encode()  # ensure_ascii: NUL and surrogates travel as \\u escapes
    assert client.post("/webhooks/quo", data=body, headers=classic_headers(body)).status_code == 200


def test_a_scorer_type_error_fails_the_event_at_once_with_its_real_error(client, db, redis_conn, worker_env,
                                                                          monkeypatch):
    monkeypatch.setattr(context, "analyzer", _analyzer_with(BrokenTokenizer()))
    _send(client)
    drain(redis_conn)
    with db.session() as session:
        event = session.scalar(select(WebhookEvent))
        assert (event.status, event.attempts) == ("failed", 1)
        assert event.last_error == "TypeError: expected string or bytes-like object, got 'NoneType'"
    assert FailedJobRegistry(defaults.EVENTS_QUEUE, connection=redis_conn).count == 1
    assert ScheduledJobRegistry(defaults.EVENTS_QUEUE, connection=redis_conn).count == 0  # no retry waiting
    monkeypatch.setattr(defaults, "SWEEP_GRACE_S", 0)
    jobs.sweep()
    with db.session() as session:  # the sweep leaves a failed event's real error alone
        assert session.scalar(select(WebhookEvent.last_error)).startswith("TypeError: expected string")


def test_a_transient_error_is_retried_and_keeps_its_real_error_when_retries_run_out(client, db, redis_conn, worker_env,
                                                                                  monkeypatch):
    monkeypatch.setattr(defaults, "PROCESS_RETRY_INTERVALS_S", (0, 0))

    class Flaky:
        name = "lexicon"

        def score(self, texts):
            raise _db_error(OperationalError)

    monkeypatch.setattr(context, "analyzer", _analyzer_with(Flaky()))
    _send(client)
    drain(redis_conn, rounds=4)
    with db.session() as session:
        event = session.scalar(select(WebhookEvent))
        assert (event.status, event.attempts) == ("pending", 3)  # first try + two retries
    monkeypatch.setattr(defaults, "SWEEP_GRACE_S", 0)
    assert jobs.sweep()["failed_events"] == 1
    with db.session() as session:
        error = session.scalar(select(WebhookEvent.last_error))
        assert error.startswith("retries exhausted") and "OperationalError" in error and "driver said no" in error


@pytest.mark.parametrize("text, kept", [
    ("Great service\u0000, thanks so much!", "Great service, thanks so much!"),
    ("Great service \ud800thanks so much!", "Great service thanks so much!"),
    ("\u0000\udfff", ""),  # nothing left to say: stored without customer words to score, not failed
])
def test_nul_and_lone_surrogates_in_a_stored_event_are_stripped_and_it_is_processed(db, redis_conn, worker_env,
                                                                                     text, kept):
    # The web path refuses such a body with 400 (tests/integration/web/test_signed_input.py); an event stored
    # before that check, or text that hydration or an import brings, reaches the worker and is cleaned there.
    document = json.loads(fixture_body("message_received.json"))
    document["data"]["object"]["text"] = text
    event = InboundEvent(document["id"], document["type"], json.dumps(document).encode())
    [row_id] = inbox.accept(db, "quo", [event], lambda _type: True).new
    queues.enqueue_event(redis_conn, row_id)
    drain(redis_conn)
    with db.session() as session:
        event = session.scalar(select(WebhookEvent))
        assert (event.status, event.last_error) == ("processed", None)
        row = session.scalar(select(Interaction))
        texts = [t["text"] for t in row.turns or []]
        assert texts == [kept]
        assert (session.scalar(select(InteractionScore.label)) is not None) == bool(kept)
