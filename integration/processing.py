"""Turn one stored webhook event into stored, scored interactions (the body of the process job)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from connectors import registry
from connectors.base import InboundEvent, MalformedPayload
from integration.contacts import resolve_contact
from integration.db import Database
from integration.interactions import rescore, upsert_interaction
from integration.models import WebhookEvent, utcnow
from scoring.base import Scorer

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What processing did; `contacts` need a CRM sync."""

    status: str
    interactions: list[int] = field(default_factory=list)
    contacts: set[int] = field(default_factory=set)


def process_event(db: Database, event_row_id: int, scorer: Scorer) -> Outcome:
    """Idempotent: an event already processed (or ignored) is left alone; one transaction does the rest."""
    with db.session() as session:
        event = session.get(WebhookEvent, event_row_id, with_for_update=True)
        if event is None:
            return Outcome("missing")
        if event.status in ("processed", "ignored"):
            return Outcome(event.status)
        event.attempts += 1
        stored = InboundEvent(event.event_id, event.event_type, event.body, event.headers or {})
        try:
            parsed = registry.inbound(event.source).parse(stored)
        except MalformedPayload as exc:  # retrying cannot help: record it for the admin page
            event.status, event.last_error, event.processed_at = "failed", f"malformed: {exc}", utcnow()
            return Outcome("failed")
        outcome = Outcome("processed")
        for item in parsed:
            contact = resolve_contact(session, item.customer, event.source)
            row, changed = upsert_interaction(session, item, contact)
            session.flush()
            rescored = rescore(session, row, scorer)
            outcome.interactions.append(row.id)
            if row.contact_id is not None and (changed or rescored) and row.score is not None:
                _mark_for_sync(session, row.contact_id)
                outcome.contacts.add(row.contact_id)
        event.status, event.last_error, event.processed_at = "processed", None, utcnow()
    return outcome


def record_failure(db: Database, event_row_id: int, error: str) -> None:
    """Note an attempt's error on the event row (the job then raises, and RQ retries it)."""
    with db.session() as session:
        event = session.get(WebhookEvent, event_row_id)
        if event is not None and event.status == "pending":
            event.attempts += 1
            event.last_error = error[:4000]


def _mark_for_sync(session, contact_id: int) -> None:
    from integration.models import Contact

    contact = session.get(Contact, contact_id)
    contact.needs_sync_at = utcnow()
