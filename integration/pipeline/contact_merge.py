"""Fold duplicate local contacts into one, when an event or the CRM shows they are the same person.

Happens when a phone-only contact and an e-mail-only contact turn out to be one customer: a later
event carries both, or the CRM search answers with the same record for both. Everything moves to
the survivor; an open follow-up task the survivor already has for the same reason is not kept twice.
"""
from __future__ import annotations

import logging
from typing import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from integration.store.models import (
    Contact,
    ContactIdentity,
    CrmWrite,
    FollowUpTask,
    Interaction,
    SinkContact,
    SinkTask,
    utcnow,
)

log = logging.getLogger(__name__)


def merge_into(session: Session, survivor: Contact, others: Iterable[Contact]) -> list[int]:
    """Move identities, interactions, tasks and the CRM log of `others` to `survivor`; delete them."""
    ids = sorted({o.id for o in others if o.id != survivor.id})
    if not ids:
        return []
    session.flush()
    _move_tasks(session, survivor.id, ids)
    for model in (ContactIdentity, Interaction, CrmWrite, SinkTask):
        session.execute(update(model).where(model.contact_id.in_(ids)).values(contact_id=survivor.id))
    if session.scalar(select(SinkContact.id).where(SinkContact.contact_id == survivor.id)) is None:
        first = session.scalar(select(SinkContact).where(SinkContact.contact_id.in_(ids)).limit(1))
        if first is not None:
            first.contact_id = survivor.id
            session.flush()
    session.execute(delete(SinkContact).where(SinkContact.contact_id.in_(ids)))
    for other in session.scalars(select(Contact).where(Contact.id.in_(ids))):
        survivor.name = survivor.name or other.name
        survivor.crm_id = survivor.crm_id or other.crm_id
        session.expire(other, ["identities"])  # moved by the UPDATE above; the loaded list is stale
        session.delete(other)
    survivor.needs_sync_at = utcnow()
    session.flush()
    session.expire(survivor, ["identities"])
    log.info("merged contacts %s into %s", ids, survivor.id)
    return ids


def _move_tasks(session: Session, survivor_id: int, ids: list[int]) -> None:
    """One open task per reason survives; a duplicate is marked 'merged' (its CRM task stays as is)."""
    open_reasons = set(session.scalars(select(FollowUpTask.reason).where(
        FollowUpTask.contact_id == survivor_id, FollowUpTask.status == "open")))
    for task in session.scalars(select(FollowUpTask).where(FollowUpTask.contact_id.in_(ids)).order_by(FollowUpTask.id)):
        if task.status == "open" and task.reason in open_reasons:
            task.status = "merged"
        elif task.status == "open":
            open_reasons.add(task.reason)
        task.contact_id = survivor_id
        session.flush()  # one row at a time: the one-open-task-per-reason index stays satisfied
