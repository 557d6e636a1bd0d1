"""Spike alerts: SPIKE_MIN_CUSTOMERS different customers negative about one theme within SPIKE_WINDOW_DAYS.

One alert per theme and window: once a theme's spike alert is raised, no other is raised for that theme
until a full window has passed since it (the unique key, theme + window number, also stops two workers).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from integration.store.db import Database
from integration.store.models import Alert, Interaction, InteractionScore, utcnow

NEGATIVE = "negative"


def check_spikes(db: Database, interaction_ids: list[int], min_customers: int, window_days: int,
                 now: datetime | None = None) -> list[int]:
    """Ids of spike alerts raised for the themes of these (negative) interactions."""
    now, window = now or utcnow(), timedelta(days=window_days)
    raised = []
    with db.session() as session:
        themes = set()
        scores = select(InteractionScore).where(InteractionScore.interaction_id.in_(interaction_ids),
                                                InteractionScore.label == NEGATIVE)
        for score in session.scalars(scores):
            themes |= {t.get("theme") for t in score.themes or () if t.get("theme")}
        # A theme whose spike was already raised in this window is done: asked first, because it is one indexed
        # probe, where counting customers reads every negative interaction of the window.
        themes = {theme for theme in themes if not _recent_spike(session, theme, now - window)}
        if not themes:
            return []
        rows = session.execute(select(Interaction.contact_id, Interaction.id, InteractionScore.themes)
                               .join(InteractionScore, InteractionScore.interaction_id == Interaction.id)
                               .where(InteractionScore.label == NEGATIVE, Interaction.contact_id.is_not(None),
                                      Interaction.occurred_at >= now - window)).all()
        for theme in sorted(themes):
            customers = {contact for contact, _, found in rows if any(t.get("theme") == theme for t in found or ())}
            if len(customers) < min_customers:
                continue
            alert = Alert(key=f"spike:{theme}:{int(now.timestamp() // window.total_seconds())}"[:255], kind="spike",
                          reason=f"{len(customers)} customers negative about {theme} within {window_days} days",
                          theme=theme[:128],
                          facts={"theme": theme, "customers": len(customers), "window_days": window_days,
                                 "since": (now - window).date().isoformat()},
                          status="pending", deliveries={}, attempts=0)
            try:
                with session.begin_nested():
                    session.add(alert)
            except IntegrityError:
                continue
            session.flush()
            raised.append(alert.id)
    return raised


def _recent_spike(session, theme: str, since: datetime) -> bool:
    return session.scalar(select(Alert.id).where(Alert.kind == "spike", Alert.theme == theme[:128],
                                                 Alert.created_at >= since).limit(1)) is not None
