"""Finding interactions: text search with filters, and one interaction in full (for the MCP tools)."""
from __future__ import annotations

from sqlalchemy import String, cast, or_
from sqlalchemy.orm import Session

from integration.insights.base import AT, contacts, evidence, interactions, iso, scored
from integration.insights.params import SearchQuery
from integration.insights.window import Window
from integration.settings import Settings
from integration.store.models import Interaction, InteractionScore


def search(session: Session, query: SearchQuery, window: Window, settings: Settings) -> dict:
    """Interactions whose words or summary contain the text, newest first."""
    stmt = scored(Interaction.id, query=query, window=window).where(
        text_matches(query.text, session.get_bind().dialect.name))
    if query.sentiment != "any":
        stmt = stmt.where(InteractionScore.label == query.sentiment)
    ids = list(session.scalars(stmt.order_by(AT.desc(), Interaction.id.desc()).limit(query.rows)))
    rows = interactions(session, ids)
    people = contacts(session, sorted({rows[i].contact_id for i in ids if rows[i].contact_id}), settings)
    return {"window": window.as_dict(), "text": query.text,
            "interactions": [{**evidence(rows[i]), "contact": people.get(rows[i].contact_id)} for i in ids]}


def text_matches(text: str, dialect: str = "postgresql"):
    """WHERE term: the interaction's turns or summary contain `text`, in any case (LIKE wildcards escaped).

    SQLite's LIKE already ignores ASCII case (its lower() folds nothing more), so there it is a plain LIKE,
    twice as fast as LIKE over lower(); PostgreSQL's ILIKE folds every letter."""
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    columns = (cast(Interaction.turns, String), cast(Interaction.summary, String))  # as indexed (0009)
    if dialect == "sqlite":
        return or_(*(column.like(pattern, escape="\\") for column in columns))
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


def get_interaction(session: Session, interaction_id: int, settings: Settings) -> dict | None:
    """One interaction in full: every turn, the summary, the score with flags and themes, the contact."""
    row = interactions(session, [interaction_id]).get(interaction_id)
    if row is None:
        return None
    score = row.score
    people = contacts(session, [row.contact_id], settings) if row.contact_id else {}
    return {**evidence(row), "direction": row.direction, "summary": row.summary, "turns": row.turns or [],
            "contact": people.get(row.contact_id),
            "score_detail": None if score is None else {
                "label": score.label, "score": score.score, "intensity": score.intensity,
                "confidence": score.confidence, "trajectory": score.trajectory,
                "escalation_reason": score.escalation_reason, "flags": score.flags, "themes": score.themes,
                "scored_at": iso(score.scored_at)}}
