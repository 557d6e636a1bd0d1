"""Turn one stored webhook event into stored, scored interactions (the body of the process job).

No transaction stays open across the network or the scorer: read the event (short transaction) ->
parse and hydrate (network) -> store the interactions and copy out what needs scoring (short
transaction) -> score (no transaction) -> write the scores and mark the event processed (short
transaction that first checks each interaction still holds the content that was scored; one that
changed meanwhile is scored again). Two runs of the same job store the result once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select, update

from connectors import registry
from connectors.base import ContactMerge, InboundConnector, InboundEvent, Interaction, MalformedPayload, Touch
from connectors.common.text import storable_fields
from integration import defaults
from integration.alerts.raising import raise_escalations
from integration.pipeline.contacts import resolve_contact
from integration.pipeline.interactions import (
    ToScore,
    current_content,
    link_event,
    locked,
    needs_scoring,
    store_analysis,
    upsert_interaction,
)
from integration.pipeline.touches import record_touch
from integration.store.db import Database
from integration.store.models import Contact, ContactIdentity, WebhookEvent, utcnow
from integration.store.models import Interaction as InteractionRow  # connectors.base has an Interaction too
from scoring.analysis import Analysis, Analyzer

log = logging.getLogger(__name__)

ConnectorFor = Callable[[str], InboundConnector]


class ContentKeptChanging(RuntimeError):
    """An interaction changed under every scoring attempt (a busy thread): the job's retry scores it later."""


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
    prepared = prepare(db, event_row_id, source, stored, analyzer.scorer.name, connector_for)
    if isinstance(prepared, Outcome):
        return prepared
    outcome, work = prepared
    for _ in range(defaults.SCORE_ATTEMPTS):
        analyses = {w.interaction_id: analyzer.analyse(w.turns, w.summary, w.history) for w in work}
        work = write_scores(db, event_row_id, analyzer.scorer.name, work, analyses, outcome)
        if work is None:
            return outcome
    raise kept_changing(work)


def kept_changing(work: list[ToScore]) -> ContentKeptChanging:
    return ContentKeptChanging(f"interactions {[w.interaction_id for w in work]} changed during each of "
                               f"{defaults.SCORE_ATTEMPTS} scorings")


def prepare(db: Database, event_row_id: int, source: str, stored: InboundEvent, scorer_name: str,
            connector_for: ConnectorFor = registry.inbound) -> tuple[Outcome, list[ToScore]] | Outcome:
    """Parse and hydrate the event (no transaction: hydration may call the provider), then store its
    interactions; returns what needs scoring, or the Outcome when the event is done already."""
    items = parsed(db, event_row_id, source, stored, connector_for)
    if isinstance(items, Outcome):
        return items
    return store_all(db, event_row_id, source, items, scorer_name)


def parsed(db: Database, event_row_id: int, source: str, stored: InboundEvent,
           connector_for: ConnectorFor = registry.inbound) -> list | Outcome:
    """The event's items, parsed and hydrated (no transaction: hydration may call the provider), ready to store;
    a malformed event is marked failed here (its Outcome)."""
    connector = connector_for(source)
    try:
        items = connector.hydrate(connector.parse(stored), stored)
    except MalformedPayload as exc:  # retrying cannot help: record it for the admin page
        _finish(db, event_row_id, "failed", f"malformed: {exc}")
        return Outcome("failed")
    return [storable_fields(item) for item in items]  # no NUL or lone surrogate reaches the database


def refreshed(db: Database, scorer_name: str, work: list[ToScore]) -> list[ToScore]:
    """`work` read again (short transaction): the content to score now, with the history as it stands now;
    what no longer needs scoring is left out."""
    fresh = []
    with db.session() as session:
        for done in work:
            row = session.get(InteractionRow, done.interaction_id)
            todo = needs_scoring(session, row, scorer_name) if row is not None else None
            if todo is not None:
                fresh.append(todo)
    return fresh


def store_all(db: Database, event_row_id: int, source: str, items: list,
               scorer_name: str) -> tuple[Outcome, list[ToScore]] | Outcome:
    """Store the event's interactions and merges; the event is done here when nothing needs scoring."""
    with db.session() as session:
        return store_items(session, event_row_id, source, items, scorer_name)


def store_items(session, event_row_id: int, source: str, items: list, scorer_name: str,
                locked_event: WebhookEvent | None = None, known=None) -> tuple[Outcome, list[ToScore]] | Outcome:
    """`store_all` in the caller's transaction (a batch stores its events in one, each in a savepoint).
    `locked_event`: the event's row, already locked and read in this transaction; `known`: the `KnownRows` read at
    the transaction's start."""
    event = locked_event or session.get(WebhookEvent, event_row_id, with_for_update=True)
    if event is None:
        return Outcome("missing")  # deleted meanwhile
    if event.status in ("processed", "ignored"):
        return Outcome(event.status)  # a concurrent run stored it first
    outcome, work = Outcome("processed"), []
    for item in items:
        if isinstance(item, ContactMerge):
            outcome.contacts |= _apply_merge(session, item)
            if known is not None:
                known.forget_contacts()
        elif isinstance(item, Touch):
            record_touch(session, item)  # the business's own act: recorded, never scored
        else:
            work.extend(_store(session, event_row_id, source, item, scorer_name, outcome, known))
    work = list({w.interaction_id: w for w in work}.values())  # one thread twice in an event: its latest
    if not work:
        _processed(event)
    return outcome, work


def _store(session, event_row_id: int, source: str, item: Interaction, scorer_name: str,
           outcome: Outcome, known=None) -> list[ToScore]:
    contact = resolve_contact(session, item.customer, source, known)
    row, changed = upsert_interaction(session, item, contact, known)
    session.flush()
    link_event(session, row.id, event_row_id)
    outcome.interactions.append(row.id)
    todo = needs_scoring(session, row, scorer_name, known)
    if todo is None and changed and row.contact_id is not None and row.score is not None:
        _needs_sync(session, row.contact_id, outcome)  # e.g. a new link: the note changes, the score does not
    return [todo] if todo is not None else []


def write_scores(db: Database, event_row_id: int, scorer_name: str, work: list[ToScore],
                  analyses: dict[int, Analysis | None], outcome: Outcome) -> list[ToScore] | None:
    """Store each analysis whose interaction still holds what was scored; None when the event is done,
    else what changed meanwhile (with its new content) to score again."""
    with db.session() as session:
        return write_scores_in(session, event_row_id, scorer_name, work, analyses, outcome)


def write_scores_in(session, event_row_id: int, scorer_name: str, work: list[ToScore],
                    analyses: dict[int, Analysis | None], outcome: Outcome,
                    locked_rows: dict[int, InteractionRow] | None = None,
                    alert_keys: dict[int, set[str]] | None = None,
                    locked_event: WebhookEvent | None = None) -> list[ToScore] | None:
    """`write_scores` in the caller's transaction (a batch writes its events' scores in one, each in a savepoint).
    `locked_rows`: interactions the caller already locked and read in this transaction; `alert_keys`: the keys of
    their alerts, read in this transaction after locking them; `locked_event`: the event's row, locked and read in
    this transaction."""
    again = []
    event = locked_event or session.get(WebhookEvent, event_row_id, with_for_update=True)
    if event is None or event.status in ("processed", "ignored"):
        outcome.status = event.status if event is not None else "missing"
        outcome.contacts = set()  # a concurrent run finished it first (or it was deleted)
        return None
    for done in work:
        row = (locked_rows or {}).get(done.interaction_id) or locked(session, done.interaction_id)
        if row is None:
            continue  # deleted meanwhile (retention): nothing left to score
        if current_content(row, scorer_name) != done.content:
            fresh = needs_scoring(session, row, scorer_name)
            if fresh is not None:
                again.append(fresh)
            continue
        analysis = analyses.get(done.interaction_id)
        if analysis is not None:
            store_analysis(session, row, scorer_name, analysis)
            # the alert row commits with its score; a job delivers it
            raise_escalations(session, row, (alert_keys or {}).get(row.id))
            if row.contact_id is not None:
                _needs_sync(session, row.contact_id, outcome)
    if again:
        return again
    _processed(event)
    return None


def _needs_sync(session, contact_id: int, outcome: Outcome) -> None:
    session.get(Contact, contact_id).needs_sync_at = utcnow()
    outcome.contacts.add(contact_id)


def _processed(event: WebhookEvent) -> None:
    event.attempts += 1
    event.status, event.last_error, event.processed_at = "processed", None, utcnow()


def record_failure(db: Database, event_row_id: int, error: str, *, permanent: bool = False) -> None:
    """Note an attempt's error on the event row (the job then raises; RQ retries it unless `permanent`,
    in which case the event is marked failed now)."""
    with db.session() as session:
        event = session.get(WebhookEvent, event_row_id)
        if event is not None and event.status == "pending":
            event.attempts += 1
            event.last_error = error[:4000]
            if permanent:
                event.status, event.processed_at = "failed", utcnow()


def give_up(db: Database, event_row_id: int) -> None:
    """Mark a pending event whose job ran out of retries failed, keeping the last real error."""
    with db.session() as session:
        event = session.get(WebhookEvent, event_row_id)
        if event is not None and event.status == "pending":
            event.status = "failed"
            last = event.last_error or "none recorded"
            event.last_error = f"retries exhausted (requeue it from the failed jobs); last error: {last}"[:4000]


def _load(db: Database, event_row_id: int) -> tuple[str, InboundEvent] | Outcome:
    with db.session() as session:
        event = session.get(WebhookEvent, event_row_id)
        if event is None:
            return Outcome("missing")
        if event.status in ("processed", "ignored"):
            return Outcome(event.status)
        return event.source, InboundEvent(event.event_id, event.event_type, event.body, event.headers or {})


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
