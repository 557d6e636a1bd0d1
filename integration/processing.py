"""Turn one stored webhook event into stored, scored interactions (the body of the process job).

Parsing and hydration (which may call the provider's API) run outside any database transaction;
storing runs in one transaction that re-checks the event's status, so two runs of the same job
store the result once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select, update

from connectors import registry
from connectors.base import ContactMerge, InboundConnector, InboundEvent, Interaction, MalformedPayload, Touch
from integration.contacts import resolve_contact
from integration.db import Database
from integration.interactions import rescore, upsert_interaction
from integration.models import Contact, ContactIdentity, WebhookEvent, utcnow
from integration.touches import record_touch
from scoring.analysis import Analyzer

log = logging.getLogger(__name__)

ConnectorFor = Callable[[str], InboundConnector]


@dataclass
class Outcome:
    """What processing did; `contacts` need a CRM sync."""

    status: str
    interactions: list[int] = field(default_factory=list)
    contacts: set[int] = field(default_factory=set)


def process_event(db: Database, event_row_id: int, analyzer: Analyzer,
                  connector_for: ConnectorFor = registry.inbound) -> Outcome:
    """Idempotent: an event already processed (or ignored) is left alone."""
    loaded = _load(db, event_row_id)
    if isinstance(loaded, Outcome):
        return loaded
    source, stored = loaded
    connector = connector_for(source)
    try:
        items = connector.hydrate(connector.parse(stored), stored)
    except MalformedPayload as exc:  # retrying cannot help: record it for the admin page
        _finish(db, event_row_id, "failed", f"malformed: {exc}")
        return Outcome("failed")
    with db.session() as session:
        event = session.get(WebhookEvent, event_row_id, with_for_update=True)
        if event.status in ("processed", "ignored"):
            return Outcome(event.status)  # a concurrent run stored it first
        outcome = Outcome("processed")
        for item in items:
            if isinstance(item, ContactMerge):
                outcome.contacts |= _apply_merge(session, item)
            elif isinstance(item, Touch):
                record_touch(session, item)  # the business's own act: recorded, never scored
            else:
                _store(session, source, item, analyzer, outcome)
        event.attempts += 1
        event.status, event.last_error, event.processed_at = "processed", None, utcnow()
    return outcome


def record_failure(db: Database, event_row_id: int, error: str) -> None:
    """Note an attempt's error on the event row (the job then raises, and RQ retries it)."""
    with db.session() as session:
        event = session.get(WebhookEvent, event_row_id)
        if event is not None and event.status == "pending":
            event.attempts += 1
            event.last_error = error[:4000]


def _load(db: Database, event_row_id: int) -> tuple[str, InboundEvent] | Outcome:
    with db.session() as session:
        event = session.get(WebhookEvent, event_row_id)
        if event is None:
            return Outcome("missing")
        if event.status in ("processed", "ignored"):
            return Outcome(event.status)
        return event.source, InboundEvent(event.event_id, event.event_type, event.body, event.headers or {})


def _store(session, source: str, item: Interaction, analyzer: Analyzer, outcome: Outcome) -> None:
    contact = resolve_contact(session, item.customer, source)
    row, changed = upsert_interaction(session, item, contact)
    session.flush()
    rescored = rescore(session, row, analyzer)
    outcome.interactions.append(row.id)
    if row.contact_id is not None and (changed or rescored) and row.score is not None:
        session.get(Contact, row.contact_id).needs_sync_at = utcnow()
        outcome.contacts.add(row.contact_id)


def _apply_merge(session, merge: ContactMerge) -> set[int]:
    """Point links to a merged-away CRM record at the surviving one (the cached CRM id, and the
    `<crm>:contact` identity a CRM's own webhooks record); the contacts touched need a sync."""
    old = [f"{merge.crm}:{i}" for i in merge.merged_ids]
    ids = set(session.scalars(select(Contact.id).where(Contact.crm_id.in_(old))))
    if ids:
        session.execute(update(Contact).where(Contact.id.in_(ids)).values(
            crm_id=f"{merge.crm}:{merge.surviving_id}", needs_sync_at=utcnow()))
    kind = f"{merge.crm}:contact"
    survivor = session.scalar(select(ContactIdentity).where(ContactIdentity.kind == kind,
                                                            ContactIdentity.value == merge.surviving_id))
    for identity in session.scalars(select(ContactIdentity).where(ContactIdentity.kind == kind,
                                                                  ContactIdentity.value.in_(merge.merged_ids))):
        ids.add(identity.contact_id)
        if survivor is None:
            identity.value, survivor = merge.surviving_id, identity
        else:
            session.delete(identity)  # the surviving record is already linked
    for contact_id in ids:
        session.get(Contact, contact_id).needs_sync_at = utcnow()
    return ids


def _finish(db: Database, event_row_id: int, status: str, error: str | None) -> None:
    with db.session() as session:
        event = session.get(WebhookEvent, event_row_id, with_for_update=True)
        if event.status == "pending":
            event.attempts += 1
            event.status, event.last_error, event.processed_at = status, error, utcnow()
