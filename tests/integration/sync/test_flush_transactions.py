"""A flush round's database work is a few transactions per round, not one or more per contact: on SQLite every write
transaction waits for the write turn behind the workers' batches, so a round of a hundred contacts that took a turn
per contact (its name, its idempotency key, its write log, its task row) spent most of its time queueing and held a
worker that could have processed events. Both databases; the built-in sink as the CRM."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from sqlalchemy import event, func, select, update

from connectors.base import InboundEvent
from connectors.hubspot.schema import CONTACT_PROPERTIES
from connectors.hubspot.writer import HubSpotWriter
from integration.pipeline import processing
from integration.store import inbox
from integration.store.models import Contact, CrmNote, CrmWrite, FollowUpTask, Interaction, SinkTask
from integration.sync import flush
from integration.sync.cache import ContactCache
from integration.sync.flush import SyncOptions
from integration.sync.sink import SinkWriter
from tests.servers.hubspot import HubSpotTestServer
from tests.workers.test_batching import store
from workers import context

TEXTS = ["This is ridiculous, I want a refund and I will leave a one-star review.",
         "Thank you so much, everything works perfectly now. Wonderful service!"]


def processed(db, count: int, start: int) -> None:
    """`count` customers' interactions stored and scored (half angry: a follow-up task each)."""
    for row_id in store(db, count, start=start, texts=TEXTS):
        processing.process_event(db, row_id, context.analyzer())


def round_commits(db, redis_conn) -> tuple[int, flush.RoundResult]:
    """Commits of one sync round over every due contact."""
    commits = []
    listener = lambda _conn: commits.append(1)  # noqa: E731
    result = _round_listening(db, redis_conn, SinkWriter(db), "commit", listener)
    return len(commits), result


def _round_listening(db, redis_conn, writer, name: str, listener) -> flush.RoundResult:
    """One sync round over every due contact through `writer`, with `listener` on the engine's event `name`."""
    event.listen(db.engine, name, listener)
    try:
        return flush.sync_round(db, writer, ContactCache(redis_conn, writer.name), SyncOptions(), flush.due_contacts(db))
    finally:
        event.remove(db.engine, name, listener)


def count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_round_takes_as_many_transactions_for_eight_contacts_as_for_two(db, redis_conn, worker_env):
    processed(db, 2, start=0)
    few, first = round_commits(db, redis_conn)
    assert (first.contacts, first.updated, first.notes, first.tasks) == (2, 2, 2, 1)
    processed(db, 8, start=100)
    many, second = round_commits(db, redis_conn)
    assert (second.contacts, second.updated, second.notes, second.tasks) == (8, 8, 8, 4)
    assert many == few  # per round, not per contact
    assert count(db, CrmWrite) == 10 and count(db, FollowUpTask) == 5 and count(db, SinkTask) == 5
    assert count(db, CrmNote) == 10


def test_a_second_round_writes_nothing_and_opens_no_second_task(db, redis_conn, worker_env):
    processed(db, 4, start=0)
    round_commits(db, redis_conn)
    with db.session() as session:  # every contact due again, nothing changed: the write log and open tasks hold
        session.execute(update(Contact).values(synced_at=None))
    _, again = round_commits(db, redis_conn)
    assert (again.contacts, again.updated, again.notes, again.tasks) == (4, 0, 0, 0)
    assert count(db, CrmWrite) == 4 and count(db, FollowUpTask) == 2 and count(db, SinkTask) == 2


def said(db, customers: list[dict], text: str = TEXTS[0]) -> None:
    """One interaction per customer (a generic event's "contact"), stored and scored."""
    events = []
    for customer in customers:
        document = {"id": uuid.uuid4().hex, "channel": "sms", "text": text,
                    "occurred_at": datetime.now(timezone.utc).isoformat(), "contact": customer}
        events.append(InboundEvent(document["id"], "interaction", json.dumps(document).encode()))
    for row_id in inbox.accept(db, "generic", events, lambda _type: True).new:
        processing.process_event(db, row_id, context.analyzer())


def test_local_contacts_the_crm_finds_as_one_record_are_merged(db, redis_conn, worker_env):
    """The round reads its contacts' links once, and still merges twins: a contact found on the record an earlier
    round linked to another contact, and two new contacts found on one record in the same round."""
    with HubSpotTestServer(access_token="pat-test") as server:
        for prop in CONTACT_PROPERTIES:
            server.define_property(prop["name"], prop["type"], prop["fieldType"], options=prop.get("options"))
        ana = server.add_contact({"phone": "+14155550101", "email": "ana@example.com"})
        bo = server.add_contact({"phone": "+14155550102", "email": "bo@example.com"})
        writer = HubSpotWriter("pat-test", host=server.base_url)
        cache = ContactCache(redis_conn, writer.name)
        said(db, [{"phone": "+14155550101"}])
        assert flush.sync_round(db, writer, cache, SyncOptions(), flush.due_contacts(db)).contacts == 1
        said(db, [{"email": "ana@example.com"}, {"phone": "+14155550102"}, {"email": "bo@example.com"}])
        assert flush.sync_round(db, writer, cache, SyncOptions(), flush.due_contacts(db)).contacts == 3
    with db.session() as session:
        links = sorted(crm_id for crm_id in session.scalars(select(Contact.crm_id)))
        owners = set(session.scalars(select(Interaction.contact_id)))
        contacts = set(session.scalars(select(Contact.id)))
    assert links == sorted([f"hubspot:{ana}", f"hubspot:{bo}"])  # four local contacts, two people
    assert count(db, Interaction) == 4 and owners <= contacts


def round_statements(db, redis_conn) -> tuple[list[str], flush.RoundResult]:
    """The statements a sync round runs itself (the built-in sink's own, a CRM's side, left out)."""
    statements, in_writer = [], []

    class Counted(SinkWriter):
        def __getattribute__(self, name):
            method = super().__getattribute__(name)
            if not callable(method) or name.startswith("_"):
                return method

            def called(*args, **kwargs):
                in_writer.append(1)
                try:
                    return method(*args, **kwargs)
                finally:
                    in_writer.pop()
            return called

    def listener(_conn, _cursor, statement, *_):
        if not in_writer:
            statements.append(" ".join(statement.split()))

    return statements, _round_listening(db, redis_conn, Counted(db), "before_cursor_execute", listener)


def test_a_rounds_notes_and_write_log_take_as_many_statements_for_eight_contacts_as_for_two(db, redis_conn,
                                                                                           worker_env):
    """New note rows are one INSERT, their CRM ids one executemany UPDATE, the write log one executemany INSERT."""
    def on(statements, table):
        return [s for s in statements if table in s.split(" (")[0].split(" WHERE")[0] or f"FROM {table}" in s]

    processed(db, 2, start=0)
    few, first = round_statements(db, redis_conn)
    processed(db, 8, start=100)
    many, second = round_statements(db, redis_conn)
    assert (first.notes, second.notes, second.updated) == (2, 8, 8)
    for table in ("crm_notes", "crm_writes"):
        assert len(on(many, table)) == len(on(few, table)), (table, on(many, table))
    assert count(db, CrmNote) == 10 and count(db, CrmWrite) == 10
    with db.session() as session:
        assert all(note.crm_note_id for note in session.scalars(select(CrmNote)))


def test_open_tasks_told_of_a_later_positive_interaction_are_read_and_marked_once_per_round(db, redis_conn,
                                                                                          worker_env):
    processed(db, 8, start=0)  # half angry: four open tasks
    round_statements(db, redis_conn)
    for row_id in store(db, 8, start=0, texts=[TEXTS[1]]):  # then every one of them pleased
        processing.process_event(db, row_id, context.analyzer())
    statements, result = round_statements(db, redis_conn)
    assert result.contacts == 8
    assert len([s for s in statements if s.startswith("SELECT") and "FROM follow_up_tasks" in s]) == 1
    assert len([s for s in statements if s.startswith("UPDATE follow_up_tasks")]) == 1
    with db.session() as session:
        tasks = list(session.scalars(select(FollowUpTask)))
        assert len(tasks) == 4 and all(t.resolution_noted_for is not None for t in tasks)
    assert count(db, SinkTask) == 4
