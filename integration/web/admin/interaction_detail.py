"""Everything the interaction page shows, read in one session: the interaction with its turns and their
scores, what went to the CRM for it (properties, note, task), the raw events that made it, the corrections."""
from __future__ import annotations

import html
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from integration.insights.base import contacts
from integration.pipeline import corrections
from integration.settings import Settings
from integration.store.models import (
    Contact,
    CrmNote,
    CrmWrite,
    FollowUpTask,
    Interaction,
    InteractionEvent,
    SinkContact,
    WebhookEvent,
)
from integration.sync import content
from integration.web.admin import redact

TAG = re.compile(r"<[^>]+>")
MAX_EVENTS = 20  # raw events shown (a long chat thread can have hundreds)


def load(session: Session, interaction_id: int, settings: Settings) -> dict | None:
    row = session.get(Interaction, interaction_id)
    if row is None:
        return None
    score = row.score
    contact = session.get(Contact, row.contact_id) if row.contact_id else None
    return {
        "i": row, "score": score, "turns": turns(row), "contact": contact,
        "person": contacts(session, [contact.id], settings).get(contact.id) if contact else None,
        "crm": crm(session, row, contact), "events": events(session, row.id, settings),
        "corrections": corrections.history(session, row.id),
    }


def turns(row: Interaction) -> list[dict]:
    """Each turn with its score when it was scored (customer turns; agent turns never are)."""
    scores = {t.get("turn"): t for t in (row.score.turn_scores if row.score else []) or []}
    return [{"speaker": t.get("speaker") or "unknown", "text": t.get("text") or "", "at": t.get("at"),
             "score": scores.get(index)} for index, t in enumerate(row.turns or [])]


def crm(session: Session, row: Interaction, contact: Contact | None) -> dict:
    """The note written for this interaction, tasks it opened, and the contact's properties last written."""
    notes = list(session.scalars(select(CrmNote).where(CrmNote.interaction_id == row.id)))
    tasks = list(session.scalars(select(FollowUpTask).where(FollowUpTask.interaction_id == row.id)
                                 .order_by(FollowUpTask.created_at.desc())))
    written = props = sink = None
    if contact is not None:
        written = session.scalar(select(CrmWrite).where(CrmWrite.contact_id == contact.id,
                                                        CrmWrite.operation == "update_contact")
                                 .order_by(CrmWrite.created_at.desc(), CrmWrite.id.desc()).limit(1))
        sink = session.scalar(select(SinkContact).where(SinkContact.contact_id == contact.id))
        props = (written.payload if written else None) or (sink.properties if sink else None)
    return {"notes": notes, "tasks": tasks, "written": written, "properties": props, "sink": sink,
            "note_text": note_text(row) if row.score is not None else None,
            "pending": bool(contact and contact.needs_sync_at and
                            (contact.synced_at is None or contact.synced_at < contact.needs_sync_at))}


def note_text(row: Interaction) -> str:
    """The note's text as the CRM shows it (its simple HTML turned back into lines)."""
    body = content.note_body(row).replace("<br>", "\n")
    return html.unescape(TAG.sub("", body))


def events(session: Session, interaction_id: int, settings: Settings) -> list[dict]:
    """The stored webhook events that made this interaction, oldest first, secrets hidden."""
    secrets = redact.secret_values(settings)
    stmt = (select(WebhookEvent).join(InteractionEvent, InteractionEvent.event_id == WebhookEvent.id)
            .where(InteractionEvent.interaction_id == interaction_id).order_by(WebhookEvent.received_at)
            .limit(MAX_EVENTS))
    return [{"e": e, "headers": redact.headers(e.headers, secrets), "body": redact.body(e.body, secrets)}
            for e in session.scalars(stmt)]
