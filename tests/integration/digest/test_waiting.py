"""No one left waiting: one follow-up task per customer whose latest interaction was negative and who has had
no touch from us for FOLLOW_UP_AFTER_DAYS; none when a touch exists; nothing new when run twice."""
from __future__ import annotations

from datetime import timedelta

from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from integration import defaults
from integration.digest.waiting import open_waiting_tasks
from integration.insights.waiting import WAITING_REASON, waiting_contacts
from integration.store.models import (
    Contact,
    ContactIdentity,
    FollowUpTask,
    Interaction,
    InteractionScore,
    SinkTask,
    Touch,
    utcnow,
)
from integration.sync.cache import ContactCache
from integration.sync.flush import SyncOptions
from integration.sync.sink import SinkWriter


def build(db) -> dict[str, int]:
    now, ids = utcnow(), {}
    with db.session() as s:
        def contact(key, *history):
            row = Contact(name=f"Customer {key}")
            s.add(row)
            s.flush()
            s.add(ContactIdentity(contact_id=row.id, kind="phone", value=f"+1312555{len(ids):04d}"))
            ids[key] = row.id
            for n, (kind, days, label, score) in enumerate(history):
                at = now - timedelta(days=days)
                if kind == "touch":
                    s.add(Touch(contact_id=row.id, source="quo", kind="outbound_call", occurred_at=at,
                                external_id=f"T-{key}-{n}"))
                    continue
                i = Interaction(source="quo", thread_key=f"{key}-{n}", contact_id=row.id, channel="call",
                                direction="inbound", occurred_at=at, source_ids={},
                                turns=[{"speaker": "customer", "text": "Nobody called me back", "at": None}])
                s.add(i)
                s.flush()
                s.add(InteractionScore(interaction_id=i.id, scorer="lexicon", basis="customer_turns", label=label,
                                       score=score, intensity="moderate", confidence=0.9, signals=[],
                                       turn_scores=[{"turn": 0, "label": label, "score": score}], flags=[],
                                       themes=[], trajectory="single", content_hash=f"{key}-{n}"))
        contact("waiting", ("call", 3, "negative", -0.7))
        contact("touched since", ("call", 3, "negative", -0.7), ("touch", 1, None, None))
        contact("too recent", ("call", 1, "negative", -0.7))
        contact("happy since", ("call", 3, "negative", -0.7), ("call", 1, "positive", 0.8))
        contact("touched before", ("touch", 4, None, None), ("call", 3, "negative", -0.5))
        contact("long ago", ("call", 45, "negative", -0.9))
        contact("neutral", ("call", 5, "neutral", 0.0))
    return ids


def open_now(db, redis_conn) -> dict:
    writer = SinkWriter(db)
    return open_waiting_tasks(db, writer, ContactCache(redis_conn, writer.name), SyncOptions(), after_days=2)


def test_one_task_per_waiting_customer_and_none_after_a_touch(db, redis_conn):
    ids = build(db)
    with db.session() as session:
        found = {contact for contact, _, _ in waiting_contacts(session, 2, utcnow())}
    assert found == {ids["waiting"], ids["touched before"]}
    assert open_now(db, redis_conn) == {"waiting": 2, "tasks_opened": 2, "unmatched": 0}
    assert open_now(db, redis_conn) == {"waiting": 2, "tasks_opened": 0, "unmatched": 0}  # run twice: nothing new
    with db.session() as session:
        tasks = list(session.scalars(select(FollowUpTask).order_by(FollowUpTask.contact_id)))
        sink = list(session.scalars(select(SinkTask).order_by(SinkTask.contact_id)))
    assert [(t.contact_id, t.reason, t.crm_task_id is not None) for t in tasks] == [
        (ids["waiting"], WAITING_REASON, True), (ids["touched before"], WAITING_REASON, True)]
    assert [t.contact_id for t in sink] == [ids["waiting"], ids["touched before"]]
    assert sink[0].subject == "Get back to Customer waiting: no reply since an unhappy call 3 days ago"
    assert sink[0].priority == "HIGH" and sink[0].task_type == "CALL"


def test_a_touch_after_the_task_needs_no_second_task(db, redis_conn):
    ids = build(db)
    open_now(db, redis_conn)
    with db.session() as session:
        session.add(Touch(contact_id=ids["waiting"], source="quo", kind="agent_reply", occurred_at=utcnow(),
                          external_id="T-late"))
    assert open_now(db, redis_conn)["waiting"] == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(SinkTask)) == 2


def test_the_daily_job_through_a_real_worker_twice(db, redis_conn, worker_env):
    ids = build(db)
    queue = Queue(defaults.CRM_QUEUE, connection=redis_conn)
    first, second = queue.enqueue("workers.jobs.follow_up_waiting"), queue.enqueue("workers.jobs.follow_up_waiting")
    SimpleWorker([defaults.CRM_QUEUE], connection=redis_conn).work(burst=True)
    assert first.latest_result().return_value == {"status": "done", "waiting": 2, "tasks_opened": 2, "unmatched": 0}
    assert second.latest_result().return_value["tasks_opened"] == 0
    with db.session() as session:
        assert sorted(session.scalars(select(SinkTask.contact_id))) == sorted([ids["waiting"], ids["touched before"]])
