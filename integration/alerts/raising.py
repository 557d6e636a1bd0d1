"""Raise escalation alerts as rows, in the transaction that stores the score (once per interaction and rule)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from integration.store.models import Alert, Contact, Interaction


def raise_escalations(session: Session, row: Interaction, known: set[str] | None = None) -> list[Alert]:
    """An alert per escalation flag of the interaction's current score that has none yet. `known`: the keys of the
    interaction's alerts, read in this transaction with the interaction locked (none is looked up then; the
    keys raised here are added to it)."""
    score = row.score
    if score is None or not score.flags:
        return []
    raised = []
    for flag in score.flags:
        key = f"escalation:{row.id}:{flag.get('rule') or flag.get('reason')}"[:255]
        if known is not None:
            alerted = key in known
        else:
            alerted = session.scalar(select(Alert.id).where(Alert.key == key)) is not None
        if alerted:
            continue  # a redelivery or a re-score: alerted already
        alert = Alert(key=key, kind="escalation", interaction_id=row.id, contact_id=row.contact_id,
                      reason=str(flag.get("reason") or flag.get("rule"))[:255],
                      evidence=(flag.get("evidence") or None), facts=interaction_facts(session, row), status="pending",
                      deliveries={}, attempts=0)
        try:
            with session.begin_nested():
                session.add(alert)
        except IntegrityError:
            continue  # raised concurrently
        if known is not None:
            known.add(key)
        raised.append(alert)
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
