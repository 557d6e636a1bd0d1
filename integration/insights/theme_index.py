"""The theme index (`insight_themes`): one row per (interaction, theme), kept up to date incrementally.

Scores keep their themes as JSON, which neither database can count by quickly. Before answering, the
insights re-index the interactions whose score or row changed since the last refresh (by `scored_at` /
`updated_at`, read a margin behind the watermark so a transaction that committed late is not missed).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, text, union
from sqlalchemy.orm import Session

from integration import defaults
from integration.db import Database
from integration.insights.base import AT, aware, clip
from integration.insights.tables import InsightState, InsightTheme
from integration.models import Interaction, InteractionScore, utcnow

WATERMARK = "theme_index_watermark"
EPOCH = "1970-01-01T00:00:00+00:00"


def refresh(db: Database) -> int:
    """Re-index every interaction changed since the watermark; returns how many were re-indexed."""
    with db.session() as session:
        mark = _watermark(session)
        since = datetime.fromisoformat(mark) - timedelta(seconds=defaults.INSIGHTS_REFRESH_MARGIN_S)
        if not _changed_since(session, since):
            return 0
        if not db.is_sqlite:  # one refresher at a time; SQLite's BEGIN IMMEDIATE already serialises writers
            session.execute(text("SELECT pg_advisory_xact_lock(7460011)"))
        newest = utcnow()
        ids = sorted(session.scalars(union(
            select(InteractionScore.interaction_id).where(InteractionScore.scored_at >= since),
            select(Interaction.id).where(Interaction.updated_at >= since))))
        for start in range(0, len(ids), defaults.INSIGHTS_REFRESH_BATCH):
            reindex(session, ids[start:start + defaults.INSIGHTS_REFRESH_BATCH])
        _set_watermark(session, newest.isoformat())
        return len(ids)


def reindex(session: Session, ids: list[int]) -> None:
    """Replace the index rows of these interactions with their current themes."""
    session.execute(delete(InsightTheme).where(InsightTheme.interaction_id.in_(ids)))
    rows = session.execute(select(Interaction.id, AT, Interaction.contact_id, InteractionScore.label,
                                  InteractionScore.themes).join(InteractionScore)
                           .where(Interaction.id.in_(ids)))
    values = []
    for interaction_id, at, contact_id, label, themes in rows:
        seen = set()
        for entry in themes or []:
            name = entry.get("theme")
            if name and name not in seen:
                seen.add(name)
                values.append({"interaction_id": interaction_id, "theme": name[:64], "at": aware(at),
                               "label": label, "contact_id": contact_id, "evidence": clip(entry.get("evidence"))})
    if values:
        session.execute(insert(InsightTheme), values)


def _changed_since(session: Session, since: datetime) -> bool:
    """Whether any score or interaction changed at or after `since` (two index probes)."""
    return (session.scalar(select(InteractionScore.id).where(InteractionScore.scored_at >= since).limit(1))
            is not None or
            session.scalar(select(Interaction.id).where(Interaction.updated_at >= since).limit(1)) is not None)


def _watermark(session: Session) -> str:
    return session.scalar(select(InsightState.value).where(InsightState.key == WATERMARK)) or EPOCH


def _set_watermark(session: Session, value: str) -> None:
    row = session.get(InsightState, WATERMARK)
    if row is None:
        session.add(InsightState(key=WATERMARK, value=value))
    else:
        row.value = value


def rebuild(db: Database) -> int:
    """Forget the watermark and re-index everything (after a restore, or a change made outside Undertone)."""
    with db.session() as session:
        session.execute(delete(InsightTheme))
        session.execute(delete(InsightState).where(InsightState.key == WATERMARK))
    return refresh(db)
