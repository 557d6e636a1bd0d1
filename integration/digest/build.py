"""Gather the weekly digest's figures, every one through the insights functions (`registry.answer`), so the
digest says exactly what the insights API says for the same questions.

Each part keeps the insight's name, the query it asked (the API's parameters) and the answer, so a test (or
a curious reader) can ask the API the same thing and compare.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from integration.insights import params
from integration.insights.registry import answer
from integration.insights.waiting import waiting
from integration.schedule import week_key
from integration.store.db import Database
from integration.store.models import utcnow

LIST_ROWS = 10  # customers, callbacks and the like listed per part (the total is always given)
TABLE_ROWS = 20  # lines and agents per table
TREND_WEEKS = 8


@dataclass
class Digest:
    """One week's digest data: the week, and per part {"insight", "query", "answer"}."""

    week: str  # 2026-W48
    first_day: date  # Monday
    last_day: date  # Sunday
    timezone: str
    built_at: datetime
    parts: dict[str, dict] = field(default_factory=dict)
    public_base_url: str | None = None

    def summary(self) -> dict:
        """The headline numbers (kept with each send)."""
        mix, trend = self.parts["mix"]["answer"], self.parts["trend"]["answer"]
        return {"interactions": mix["total"], "negative": mix["counts"]["negative"],
                "positive": mix["counts"]["positive"], "complaint_to_compliment": mix["complaint_to_compliment"],
                "verdict": trend["verdict"], "waiting": self.parts["waiting"]["answer"]["total"]}


def queries(first_day: date, settings) -> dict[str, tuple[str, params.Query]]:
    """part -> (insight name, query): the questions the digest asks about the week starting `first_day`."""
    last = first_day + timedelta(days=6)
    week = {"since": first_day, "until": last}
    before = {"since": first_day - timedelta(days=7), "until": first_day - timedelta(days=1)}
    return {
        "mix": ("mix", params.MixQuery(**week)),
        "mix_last_week": ("mix", params.MixQuery(**before)),
        "trend": ("trend", params.TrendQuery(since=first_day - timedelta(weeks=TREND_WEEKS - 1), until=last)),
        "topics": ("themes", params.ThemesQuery(**week, sentiment="any", limit=5)),
        "issues": ("themes", params.ThemesQuery(**week, sentiment="negative", limit=5)),
        "customers": ("customers", params.CustomersQuery(**week, limit=LIST_ROWS)),
        "unanswered": ("unanswered", params.UnansweredQuery(**week, limit=LIST_ROWS)),
        "callbacks": ("callbacks", params.CallbacksQuery(**week, limit=LIST_ROWS)),
        "spikes": ("spikes", params.SpikesQuery(since=last - timedelta(days=13), until=last, limit=5,
                                                min_customers=settings.spike_min_customers)),
        "praise": ("themes", params.ThemesQuery(**week, sentiment="positive", limit=5)),
        "lines": ("lines", params.LinesQuery(**week, limit=TABLE_ROWS)),
        "agents": ("agents", params.AgentsQuery(**week, limit=TABLE_ROWS)),
    }


def build(db: Database, settings, first_day: date, now: datetime | None = None) -> Digest:
    """The digest of the week starting on `first_day` (a Monday in TIMEZONE)."""
    if first_day.weekday() != 0:
        raise ValueError(f"a digest week starts on a Monday, not on {first_day:%A} {first_day}")
    now = now or utcnow()
    digest = Digest(week_key(first_day), first_day, first_day + timedelta(days=6), settings.timezone, now,
                    public_base_url=settings.public_base_url)
    for part, (name, query) in queries(first_day, settings).items():
        digest.parts[part] = {"insight": name, "query": query.model_dump(mode="json", exclude_none=True),
                              "answer": answer(name, query, db, settings, now)}
    with db.session() as session:
        digest.parts["waiting"] = {"insight": "waiting", "query": {"after_days": settings.follow_up_after_days},
                                   "answer": waiting(session, settings.follow_up_after_days, now, settings,
                                                     limit=LIST_ROWS)}
    return digest
