"""One person, one contact: matching by phone, e-mail or provider id, and merging duplicates."""
from sqlalchemy import func, select

from connectors.base import CustomerRef
from connectors.crm import CrmContact
from integration.pipeline.contacts import resolve_contact
from integration.store.models import (
    Contact,
    ContactIdentity,
    FollowUpTask,
    Interaction,
    utcnow,
)
from integration.sync.flush import _link

PHONE, EMAIL = "+13125550147", "maria@example.com"


def contacts(session) -> int:
    return session.scalar(select(func.count()).select_from(Contact))


def test_phone_then_email_then_both_ends_as_one_contact(db):
    with db.session() as session:
        by_phone = resolve_contact(session, CustomerRef(phone=PHONE), "quo")
        by_email = resolve_contact(session, CustomerRef(email=EMAIL.upper()), "zendesk")
        session.add_all([
            Interaction(source="quo", thread_key="call:1", channel="call", contact_id=by_phone.id, source_ids={}),
            Interaction(source="zendesk", thread_key="ticket:1", channel="ticket", contact_id=by_email.id, source_ids={}),
        ])
        session.flush()
        assert by_phone.id != by_email.id and contacts(session) == 2
        both = resolve_contact(session, CustomerRef(phone=PHONE, email=EMAIL, name="Maria"), "generic")
        assert both.id == by_phone.id and contacts(session) == 1
        kinds = {(i.kind, i.value) for i in session.scalars(select(ContactIdentity))}
        assert kinds == {("phone", PHONE), ("email", EMAIL)}
        assert set(session.scalars(select(Interaction.contact_id))) == {by_phone.id}
        assert both.name == "Maria" and both.needs_sync_at is not None


def test_provider_ids_link_a_contact_across_events(db):
    with db.session() as session:
        first = resolve_contact(session, CustomerRef(provider_id="u-7", name="Sam"), "zendesk")
        again = resolve_contact(session, CustomerRef(provider_id="u-7", email="sam@example.com"), "zendesk")
        other_source = resolve_contact(session, CustomerRef(provider_id="u-7"), "intercom")
        assert first.id == again.id != other_source.id  # provider ids are per source


def test_two_local_contacts_on_one_crm_record_are_merged_with_one_open_task_per_reason(db):
    with db.session() as session:
        a = resolve_contact(session, CustomerRef(phone=PHONE), "quo")
        b = resolve_contact(session, CustomerRef(email=EMAIL), "zendesk")
        a.crm_id = "hubspot:1001"
        due = utcnow()
        task = dict(crm="hubspot", due_at=due)
        session.add_all([
            FollowUpTask(contact_id=a.id, reason="negative_sentiment", subject="a", crm_task_id="t1", **task),
            FollowUpTask(contact_id=b.id, reason="negative_sentiment", subject="b", crm_task_id="t2", **task),
            FollowUpTask(contact_id=b.id, reason="escalation", subject="c", crm_task_id="t3", **task),
        ])
        a_id, b_id = a.id, b.id
    _link(db, "hubspot", {b_id: CrmContact("1001")}, {})  # the CRM search answered with a's record for b
    with db.session() as session:
        assert [c.id for c in session.scalars(select(Contact))] == [b_id]
        tasks = {t.subject: t.status for t in session.scalars(select(FollowUpTask))}
        assert tasks == {"a": "merged", "b": "open", "c": "open"}
        assert session.get(Contact, b_id).crm_id == "hubspot:1001"
        assert {i.value for i in session.scalars(select(ContactIdentity))} == {PHONE, EMAIL}
    assert a_id != b_id


def test_a_known_customer_is_found_in_one_statement(db):
    """Its identity comes with its contact, and the contact's other identities are not read: they are not needed
    when every identity the event gives is already the contact's."""
    from sqlalchemy import event

    with db.session() as session:
        known = resolve_contact(session, CustomerRef(phone=PHONE, email=EMAIL), "quo")
    statements = []
    listener = lambda _c, _cur, statement, *_: statements.append(statement)  # noqa: E731
    with db.session() as session:
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            again = resolve_contact(session, CustomerRef(phone=PHONE, email=EMAIL), "quo")
            by_phone = resolve_contact(session, CustomerRef(phone=PHONE), "zendesk")
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert again.id == by_phone.id == known.id
        assert {(i.kind, i.value) for i in again.identities} == {("phone", PHONE), ("email", EMAIL)}
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2, statements  # one each
