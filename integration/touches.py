"""Record business touches (outgoing texts and calls, agent replies) for a contact: stored, never scored."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors import base
from integration.contacts import resolve_contact
from integration.db import add_unless_exists
from integration.models import Interaction, Touch, utcnow

log = logging.getLogger(__name__)


def record_touch(session: Session, touch: base.Touch) -> bool:
    """Store a touch once per (source, external_id); False when it was already there or names no contact."""
    if touch.kind not in base.TOUCH_KINDS:
        raise ValueError(f"unknown touch kind {touch.kind!r}")
    interaction = _interaction(session, touch)
    contact = resolve_contact(session, touch.customer, touch.source)
    contact_id = contact.id if contact is not None else interaction.contact_id if interaction is not None else None
    if contact_id is None:
        log.info("%s: touch %s names no customer; not recorded", touch.source, touch.external_id)
        return False
    row = Touch(contact_id=contact_id, source=touch.source, kind=touch.kind, external_id=touch.external_id[:255],
                occurred_at=touch.occurred_at or utcnow(), interaction_id=interaction.id if interaction else None,
                line=_cut(touch.line), agent=_cut(touch.agent))
    return add_unless_exists(session, row)


def _interaction(session: Session, touch: base.Touch) -> Interaction | None:
    """The interaction of the same source and thread, if the touch belongs to one already stored."""
    if not touch.thread_key:
        return None
    session.flush()
    stmt = select(Interaction).where(Interaction.source == touch.source, Interaction.thread_key == touch.thread_key)
    return session.scalar(stmt)


def _cut(value: str | None) -> str | None:
    return value[:128] if value else None
