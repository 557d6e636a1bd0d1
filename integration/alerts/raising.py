"""Raise escalation alerts as rows, in the transaction that stores the score (once per interaction and rule)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from integration.store.db import insert_for
from integration.store.models import Alert, Contact, Interaction, utcnow


def raise_escalations(session: Session, row: Interaction, known: set[str] | None = None) -> list[str]:
    """An alert per escalation flag of the interaction's current score that has none yet; the keys raised. `known`:
    the keys of the interaction's alerts, read in this transaction with the interaction locked (none is looked up
    then; the keys raised here are added to it). The new alerts are one `INSERT ... ON CONFLICT (key) DO NOTHING`
    (an alert raised concurrently is left as it is), not a savepoint and an ORM flush each."""
    score = row.score
    if score is None or not score.flags:
        return []
    wanted = {}
    for flag in score.flags:
        key = f"escalation:{row.id}:{flag.get('rule') or flag.get('reason')}"[:255]
        if known is not None:
            alerted = key in known
        else:
            alerted = session.scalar(select(Alert.id).where(Alert.key == key)) is not None
        if not alerted and key not in wanted:  # else a redelivery or a re-score: alerted already
            wanted[key] = flag
    if not wanted:
        return []
    facts, now = interaction_facts(session, row), utcnow()
    table = Alert.__table__
    raised = list(session.scalars(insert_for(session)(table).values([
        {"key": key, "kind": "escalation", "interaction_id": row.id, "contact_id": row.contact_id,
         "reason": str(flag.get("reason") or flag.get("rule"))[:255], "theme": None,
         "evidence": flag.get("evidence") or None, "facts": facts, "status": "pending", "deliver_after": None,
         "deliveries": {}, "claim": None, "claimed_at": None, "attempts": 0, "last_error": None, "created_at": now,
         "sent_at": None} for key, flag in wanted.items()]).on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.key)))
    if known is not None:
        known.update(raised)
    return raised


def interaction_facts(session: Session, row: Interaction) -> dict:
    """What an alert about this interaction shows, captured when raised (no secrets: stored fields only)."""
    contact = session.get(Contact, row.contact_id) if row.contact_id else None
    score = row.score
    return {
        "customer": (contact.name if contact else None)
        or (f"contact {row.contact_id}" if row.contact_id else "unknown"),
        "crm_id": contact.crm_id if contact else None,
        "channel": row.channel,
        "source": row.source,
        "line": row.line_name or row.line,
        "agent": row.agent_name or row.agent,
        "score": round(score.score, 2) if score else None,
        "label": score.label if score else None,
        "url": row.url,
    }
