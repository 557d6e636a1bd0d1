"""A process job takes a batch of pending events (claimed in the inbox, with a lease) and scores them in one
model call: claims, a killed worker's claims expiring, one event's error failing that event only, the later
jobs of batched events doing nothing. Both databases, real Redis, real RQ workers."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

from rq import Queue, Retry
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

from connectors.base import InboundEvent
from integration import defaults, queues
from integration.pipeline import processing
from integration.store import claims, inbox
from integration.store.models import Interaction, InteractionScore, WebhookEvent
from scoring.analysis import Analyzer
from scoring.lexicon import LexiconScorer
from tests.workers.helpers import drain
from tests.workers.test_killed_worker import worker_burst
from workers import context, jobs

TEXTS = ["Thanks, the repair went well.", "Nobody has called me back, this is terrible.",
         "Can you confirm Friday?", "Great job, very happy.", "Still broken after your visit."]


def store(db, count: int, start: int = 0, texts=TEXTS) -> list[int]:
    """`count` generic events from `count` different customers, stored as the webhook stores them."""
    events = []
    for i in range(start, start + count):
        document = {"id": uuid.uuid4().hex, "channel": "sms", "text": texts[i % len(texts)],
                    "occurred_at": datetime.now(timezone.utc).isoformat(), "contact": {"phone": f"+1415555{i:04d}"}}
        events.append(InboundEvent(document["id"], "interaction", json.dumps(document).encode()))
    return inbox.accept(db, "generic", events, lambda _type: True).new


def statuses(db) -> dict[int, tuple[str, int]]:
    with db.session() as session:
        return {e.id: (e.status, e.attempts) for e in session.scalars(select(WebhookEvent))}


def count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_claim_takes_pending_first_attempts_oldest_first(db):
    ids = store(db, 5)
    taken = claims.claim(db, ids[2], "a", batch=3, lease_s=30)
    assert [c.row_id for c in taken] == [ids[2], ids[0], ids[1]]  # its own first, then the oldest others
    assert claims.claim(db, ids[0], "b", batch=3, lease_s=30) == "claimed"  # another worker's live lease
    assert [c.row_id for c in claims.claim(db, ids[3], "b", batch=3, lease_s=30)] == [ids[3], ids[4]]
    claims.release(db, [ids[0]], "b")  # not b's claim: left alone
    assert claims.claim(db, ids[0], "c", batch=1, lease_s=30) == "claimed"
    claims.release(db, [ids[0]], "a")
    assert [c.row_id for c in claims.claim(db, ids[0], "c", batch=1, lease_s=30)] == [ids[0]]


def test_a_retried_event_is_not_taken_into_another_batch(db):
    first, retried, fresh = store(db, 3)
    processing.record_failure(db, retried, "RuntimeError: provider busy")  # waits for its own job's retry
    assert [c.row_id for c in claims.claim(db, first, "a", batch=5, lease_s=30)] == [first, fresh]
    assert [c.row_id for c in claims.claim(db, retried, "b", batch=5, lease_s=30)] == [retried]  # its own job


def test_an_expired_lease_is_taken_again(db):
    ids = store(db, 2)
    claims.claim(db, ids[0], "dead", batch=2, lease_s=0.2)
    assert claims.claim(db, ids[1], "b", batch=2, lease_s=30) == "claimed"
    time.sleep(0.3)
    assert sorted(c.row_id for c in claims.claim(db, ids[1], "b", batch=2, lease_s=30)) == sorted(ids)


def test_one_job_processes_the_batch_and_takes_the_later_jobs_out_of_the_queue(db, redis_conn, worker_env):
    ids = store(db, 5)
    queues.enqueue_events(redis_conn, ids)
    events = Queue(defaults.EVENTS_QUEUE, connection=redis_conn)
    drain(redis_conn)
    result = Job.fetch(queues.event_job_id(ids[0]), connection=redis_conn).return_value()
    assert result["batch"] == 5 and result["status"] == "processed"
    assert events.count == 0
    for i in ids[1:]:  # the batch processed them: their queued jobs were taken out, never run
        assert queues.event_job_status(redis_conn, i) is None
    assert statuses(db) == {i: ("processed", 1) for i in ids}
    assert count(db, Interaction) == 5 and count(db, InteractionScore) == 5
    for i in ids:  # a job run again (a redelivered or requeued job) changes nothing
        assert jobs.process_event(i)["status"] == "processed"
    assert count(db, Interaction) == 5 and count(db, InteractionScore) == 5


def test_the_batch_is_scored_in_one_call(db, redis_conn, worker_env, monkeypatch):
    calls = []

    class Counting(LexiconScorer):
        def score(self, texts):
            calls.append(list(texts))
            return super().score(texts)

    monkeypatch.setattr(context, "analyzer", lambda: Analyzer.default(Counting()))
    ids = store(db, 4)
    queues.enqueue_events(redis_conn, ids)
    drain(redis_conn)
    assert len(calls) == 1 and sorted(calls[0]) == sorted(TEXTS[:4])


def test_a_permanent_error_in_one_event_fails_that_event_only(db, redis_conn, worker_env, monkeypatch):
    class BreaksOnOne(LexiconScorer):
        def score(self, texts):
            if "Can you confirm Friday?" in texts:
                raise TypeError("expected string or bytes-like object, got 'NoneType'")
            return super().score(texts)

    monkeypatch.setattr(context, "analyzer", lambda: Analyzer.default(BreaksOnOne()))
    ids = store(db, 4)  # the third one holds the text the scorer refuses
    queues.enqueue_events(redis_conn, ids)
    drain(redis_conn)
    assert statuses(db) == {ids[0]: ("processed", 1), ids[1]: ("processed", 1), ids[2]: ("failed", 1),
                            ids[3]: ("processed", 1)}
    with db.session() as session:
        assert session.get(WebhookEvent, ids[2]).last_error.startswith("TypeError: expected string")
    assert count(db, InteractionScore) == 3
    # the batch's job succeeded; the failed event's own job ran it again (as a requeue from the console does),
    # met the same error and failed without retries, as a failed event's job always has
    failed = FailedJobRegistry(defaults.EVENTS_QUEUE, connection=redis_conn)
    assert failed.get_job_ids() == [queues.event_job_id(ids[2])]


def _fail_parsing_fridays(monkeypatch):
    """The real connectors, except that parsing an event whose body mentions Friday (the third of `store`'s)
    fails as an unreachable provider would: a transient error. Returns the real `connector_for`."""
    real = context.connector_for

    def flaky_for(rt):
        make = real(rt)

        def connector(source):
            inbound = make(source)
            parse = inbound.parse

            def flaky(event):
                if b"Friday" in event.body:
                    raise ConnectionError("provider unreachable")
                return parse(event)
            inbound.parse = flaky
            return inbound
        return connector

    monkeypatch.setattr(context, "connector_for", flaky_for)
    return real


def test_a_transient_error_in_another_event_leaves_it_for_its_own_job(db, redis_conn, worker_env, monkeypatch):
    from connectors import registry

    assert registry  # the real connectors, one of whose parses fails for one event
    real = _fail_parsing_fridays(monkeypatch)
    ids = store(db, 4)
    assert jobs.process_event(ids[0])["batch"] == 4
    assert statuses(db) == {ids[0]: ("processed", 1), ids[1]: ("processed", 1), ids[2]: ("pending", 1),
                            ids[3]: ("processed", 1)}
    with db.session() as session:
        event = session.get(WebhookEvent, ids[2])
        assert event.claimed_by is None and "provider unreachable" in event.last_error  # free for its own job
    monkeypatch.setattr(context, "connector_for", real)
    assert jobs.process_event(ids[2]) == {"status": "processed", "interactions": [3], "contacts": [3], "batch": 1} \
        or statuses(db)[ids[2]] == ("processed", 2)
    assert statuses(db)[ids[2]] == ("processed", 2)
    assert count(db, InteractionScore) == 4


def test_a_killed_workers_retry_takes_back_its_batch_before_the_lease_ends(db, settings, redis_conn, worker_env):
    ids = store(db, 4)
    events = Queue(defaults.EVENTS_QUEUE, connection=redis_conn)
    events.enqueue("tests.workers.fixtures.claim_then_die", ids[0], retry=Retry(max=2),
                   job_id=queues.event_job_id(ids[0]))
    died = worker_burst(settings)  # claims all four for 60 s as its job, then SIGKILL takes the whole worker
    assert died.returncode == -9, died.stderr[-3000:]
    with db.session() as session:
        assert {e.claimed_by for e in session.scalars(select(WebhookEvent))} == {queues.event_job_id(ids[0])}
    StartedJobRegistry(defaults.EVENTS_QUEUE, connection=redis_conn).cleanup(timestamp=time.time() + 10_000)
    started = time.monotonic()
    drain(redis_conn)  # the killed job's retry (RQ found it abandoned) takes back all four, 60 s lease or not
    assert time.monotonic() - started < 30
    assert statuses(db) == {i: ("processed", 1) for i in ids}
    queues.enqueue_events(redis_conn, ids[1:])
    drain(redis_conn)  # the other events' jobs find them done
    for i in ids:  # and a later run of any of their jobs changes nothing
        assert jobs.process_event(i)["status"] == "processed"
    assert count(db, Interaction) == 4 and count(db, InteractionScore) == 4


def test_a_job_whose_event_a_dead_batch_holds_works_meanwhile_then_takes_it_when_the_lease_ends(db, redis_conn,
                                                                                              worker_env):
    ids = store(db, 4)
    claims.claim(db, ids[0], "killed-job", batch=2, lease_s=3)  # a dead worker's batch: the first two events
    started = time.monotonic()
    result = jobs.process_event(ids[1])
    waited = time.monotonic() - started
    assert result["status"] == "processed" and result["batch"] == 2  # its own event and the other one left behind
    assert 2 <= waited < 15  # waited for the lease to end, no longer
    assert statuses(db) == {i: ("processed", 1) for i in ids}  # the two free ones were done while it waited
    assert count(db, InteractionScore) == 4
    queues.enqueue_events(redis_conn, ids)
    drain(redis_conn)
    assert count(db, Interaction) == 4 and count(db, InteractionScore) == 4


def test_a_job_whose_event_another_batch_holds_does_every_other_pending_batch_while_it_waits(db, redis_conn,
                                                                                            worker_env):
    """Not one batch and then idle polls: while the holder's lease runs, the job takes batch after batch of the
    other pending events (here three batches of two) and only then waits for its own."""
    worker_env.setenv("PROCESS_BATCH", "2")
    context.reset()
    ids = store(db, 7)
    claims.claim(db, ids[0], "killed-job", batch=2, lease_s=3)  # the first two events, in a dead worker's batch
    result = jobs.process_event(ids[1])
    assert result["status"] == "processed" and result["batch"] == 2  # its own event and the other one left behind
    assert statuses(db) == {i: ("processed", 1) for i in ids}  # the five free ones were done while it waited


def test_a_renewal_extends_only_the_jobs_own_pending_claims(db):
    ids = store(db, 4)
    claims.claim(db, ids[0], "a", batch=3, lease_s=0.5)  # a holds the first three
    claims.claim(db, ids[3], "b", batch=1, lease_s=0.5)
    processing.record_failure(db, ids[2], "ValueError: unparseable", permanent=True)  # done with: not kept
    assert claims.renew(db, ids, "a", lease_s=30) == 2
    time.sleep(0.6)
    assert claims.claim(db, ids[1], "c", batch=1, lease_s=30) == "claimed"  # a's renewed lease still holds
    assert [c.row_id for c in claims.claim(db, ids[3], "c", batch=1, lease_s=30)] == [ids[3]]  # b's lapsed
    assert claims.renew(db, [ids[3]], "b", lease_s=30) == 0  # taken meanwhile: left to its new holder


def test_a_batch_slower_than_its_lease_keeps_its_events(db, redis_conn, worker_env, monkeypatch):
    monkeypatch.setattr(defaults, "CLAIM_LEASE_S", 1.5)
    monkeypatch.setattr(defaults, "CLAIM_RENEW_S", 0.25)
    ids = store(db, 3)
    real, seen = processing.parsed, {}

    def slow_parsed(db_, row_id, *args):
        if row_id == ids[0]:  # a provider slow to answer during the first event's hydration, twice the lease
            time.sleep(3)
            seen["others"] = [claims.claim(db, i, "another-worker", batch=1, lease_s=30) for i in ids[1:]]
        return real(db_, row_id, *args)

    monkeypatch.setattr(processing, "parsed", slow_parsed)
    assert jobs.process_event(ids[0])["batch"] == 3
    assert seen["others"] == ["claimed", "claimed"]  # renewed while the batch ran: no other worker took them
    assert statuses(db) == {i: ("processed", 1) for i in ids} and count(db, InteractionScore) == 3


def test_only_queued_jobs_of_finished_events_are_taken_out(db, redis_conn, worker_env, monkeypatch):
    """A job a worker has already taken is left to run (it finds its event done); an event whose attempt failed
    keeps its job (it retries it)."""
    _fail_parsing_fridays(monkeypatch)
    ids = store(db, 4)  # the third one's parse fails
    queues.enqueue_events(redis_conn, ids)
    events = Queue(defaults.EVENTS_QUEUE, connection=redis_conn)
    taken = events.pop_job_id()  # as a worker's dequeue takes the first job: out of the list, its hash kept
    assert taken == queues.event_job_id(ids[0])
    assert events.pop_job_id() == queues.event_job_id(ids[1])  # this job's own, taken to run it
    assert jobs.process_event(ids[1])["batch"] == 4  # a batch of all four, from the second event's job
    assert events.job_ids == [queues.event_job_id(ids[2])]  # the failed one's job stays to retry it
    assert Job.fetch(taken, connection=redis_conn).get_status() == "queued"  # the taken job's hash is kept
    assert queues.event_job_status(redis_conn, ids[3]) is None
    assert jobs.process_event(ids[0])["status"] == "processed"  # the taken job runs: its event is done
