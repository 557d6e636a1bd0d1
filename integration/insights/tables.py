"""Tables the insights keep for speed, maintained incrementally by `rollup.refresh`:

- `insight_facts`: what each scored interaction contributes (its local day, dimensions, label, score);
  the previous contribution is subtracted when an interaction changes, so the rollups stay exact.
- `insight_daily` / `insight_daily_themes`: counts per local day (TIMEZONE) and dimensions (and theme);
  the count answers sum a few thousand of these rows instead of scanning interactions.
- `insight_themes`: one row per (interaction, theme), for distinct-customer counts and example quotes.
- `insight_callbacks`: the callback pairs (Q4), each with the themes it carries, recomputed per contact;
  `insight_daily_callbacks` / `insight_daily_callback_themes`: pairs per local day and dimensions (and theme),
  kept by the same deltas, so the callbacks answer sums days instead of reading every pair.
- `insight_spike_days`: per theme and day, the contacts whose latest negative interaction on the theme falls on
  that day and the negative interactions that day, so `spikes` counts distinct customers from days (`spike_days`).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from integration.store.models import Base, Interaction, InteractionScore

NONE = ""  # line/agent not recorded, as stored in rollup keys


class InsightTheme(Base):
    """A theme an interaction's current score carries, with the fields theme queries filter on."""

    __tablename__ = "insight_themes"
    __table_args__ = (
        Index("ix_insight_themes_label_at", "label", "at", "theme", "contact_id"),
        Index("ix_insight_themes_theme_at", "theme", "at"),
        Index("ix_insight_themes_contact", "contact_id", "label", "theme", "at"),
    )

    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime]  # when the interaction happened (occurred_at, else created_at)
    label: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int | None]
    evidence: Mapped[str | None] = mapped_column(Text)


class InsightFact(Base):
    """An interaction's contribution to the daily rollups, as last added."""

    __tablename__ = "insight_facts"

    interaction_id: Mapped[int] = mapped_column(primary_key=True)  # no FK: a deleted one is subtracted later
    day: Mapped[date]
    source: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    line: Mapped[str] = mapped_column(String(128))
    agent: Mapped[str] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    escalated: Mapped[int] = mapped_column(Integer)
    recovered: Mapped[int] = mapped_column(Integer)
    themes: Mapped[str] = mapped_column(Text)  # theme names, sorted, joined by "|"
    seen_updated_at: Mapped[datetime]  # the interaction's updated_at when this was read
    seen_scored_at: Mapped[datetime]  # its score's scored_at when this was read


class InsightDaily(Base):
    """Scored interactions per local day, source, channel, line, agent and label."""

    __tablename__ = "insight_daily"

    day: Mapped[date] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    line: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent: Mapped[str] = mapped_column(String(128), primary_key=True)
    label: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    score_sum: Mapped[float] = mapped_column(Float)
    escalated: Mapped[int] = mapped_column(Integer)
    recovered: Mapped[int] = mapped_column(Integer)


class InsightDailyTheme(Base):
    """Scored interactions carrying a theme, per local day, theme and the same dimensions."""

    __tablename__ = "insight_daily_themes"

    day: Mapped[date] = mapped_column(primary_key=True)
    theme: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    line: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent: Mapped[str] = mapped_column(String(128), primary_key=True)
    label: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class InsightCallback(Base):
    """An unresolved interaction and the same contact's next inbound one within 48 hours (a callback)."""

    __tablename__ = "insight_callbacks"
    __table_args__ = (Index("ix_insight_callbacks_at", "at", "interaction_id"),
                      Index("ix_insight_callbacks_line_at", "line", "at", "interaction_id"),
                      Index("ix_insight_callbacks_contact", "contact_id"))

    interaction_id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int]
    contact_id: Mapped[int]
    at: Mapped[datetime]
    day: Mapped[date]  # local day of the unresolved interaction
    hours: Mapped[float] = mapped_column(Float)
    line: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    agent: Mapped[str | None] = mapped_column(String(128))
    themes: Mapped[str] = mapped_column(Text, default="", server_default="")  # both interactions' themes, "|"


class InsightDailyCallback(Base):
    """Callback pairs per local day of the unresolved interaction, and its source, channel, line and agent."""

    __tablename__ = "insight_daily_callbacks"

    day: Mapped[date] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    line: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent: Mapped[str] = mapped_column(String(128), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class InsightDailyCallbackTheme(Base):
    """Callback pairs carrying a theme (in either interaction), per local day, theme and the same dimensions."""

    __tablename__ = "insight_daily_callback_themes"

    day: Mapped[date] = mapped_column(primary_key=True)
    theme: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    line: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent: Mapped[str] = mapped_column(String(128), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class InsightSpikeDay(Base):
    """Per theme and day (`spike_days.day_of`): the contacts whose latest negative interaction carrying the
    theme falls on that day, and the negative interactions carrying it that day (`spike_days`)."""

    __tablename__ = "insight_spike_days"

    theme: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)
    interactions: Mapped[int] = mapped_column(Integer)


class InsightName(Base):
    """The latest human name of a line or an agent (kind 'line' | 'agent')."""

    __tablename__ = "insight_names"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))


class InsightState(Base):
    """Small key/value state of the insights (the refresh watermark, the time zone the days are in)."""

    __tablename__ = "insight_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


# Indexes on the core tables that the insight queries read by (created in migration 0005).
Index("ix_interactions_at", func.coalesce(Interaction.occurred_at, Interaction.created_at))
Index("ix_interactions_updated_at", Interaction.updated_at)
Index("ix_interaction_scores_scored_at", InteractionScore.scored_at)
Index("ix_interaction_scores_label_score", InteractionScore.label, InteractionScore.score,
      InteractionScore.interaction_id)
