"""Tables the insights keep for speed: one row per (interaction, theme), and the refresh watermark."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from integration.models import Base, Interaction, InteractionScore


class InsightTheme(Base):
    """A theme an interaction's current score carries, with the fields theme queries filter on."""

    __tablename__ = "insight_themes"
    __table_args__ = (
        Index("ix_insight_themes_at_label_theme", "at", "label", "theme"),
        Index("ix_insight_themes_theme_at", "theme", "at"),
    )

    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime]  # when the interaction happened (occurred_at, else created_at)
    label: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int | None]
    evidence: Mapped[str | None] = mapped_column(Text)


class InsightState(Base):
    """Small key/value state of the insights (the theme index's watermark)."""

    __tablename__ = "insight_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


# Indexes on the core tables that the insight queries read by (created in migration 0005).
Index("ix_interactions_at", func.coalesce(Interaction.occurred_at, Interaction.created_at))
Index("ix_interactions_updated_at", Interaction.updated_at)
Index("ix_interaction_scores_scored_at", InteractionScore.scored_at)
