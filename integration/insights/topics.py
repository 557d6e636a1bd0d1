"""Answers about themes: by volume for a sentiment (Q3, Q7, Q8, Q12), spikes (Q14), callbacks (Q4)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integration import defaults
from integration.insights import definitions as d
from integration.insights import spike_days
from integration.insights.base import contacts, evidence, filters, interactions, iso, percent, ranked
from integration.insights.counts import daily
from integration.insights.params import CallbacksQuery, SpikesQuery, ThemesQuery
from integration.insights.tables import (
    NONE,
    InsightCallback,
    InsightDaily,
    InsightDailyCallback,
    InsightDailyCallbackTheme,
    InsightDailyTheme,
    InsightTheme,
)
from integration.insights.window import Window, local_midnight
from integration.settings import Settings
from integration.store.models import Interaction

AT_SLACK = timedelta(days=2)


def themes(session: Session, query: ThemesQuery, window: Window, settings: Settings) -> dict:
    """Themes by how many interactions (of the sentiment asked) carry them, with example quotes."""
    t, daily_t = InsightDaily, InsightDailyTheme
    considered = daily(t, func.coalesce(func.sum(t.n), 0), query=query, window=window)
    stmt = daily(daily_t, daily_t.theme, func.sum(daily_t.n), query=query, window=window).group_by(daily_t.theme)
    if query.sentiment != "any":
        considered, stmt = considered.where(t.label == query.sentiment), stmt.where(daily_t.label == query.sentiment)
    considered = int(session.scalar(considered))
    rows = sorted(((theme, int(n)) for theme, n in session.execute(stmt) if n), key=lambda r: (-r[1], r[0]))
    listed = ranked([{"theme": theme, "interactions": count, "percent_of_interactions": percent(count, considered)}
                     for theme, count in rows[: query.rows]], "interactions")
    for row in listed:
        row["examples"] = _examples(session, row["theme"], query, window, query.sentiment)
    return {"window": window.as_dict(), "sentiment": query.sentiment, "interactions_considered": considered,
            "themes": listed}


def _examples(session: Session, theme: str, query, window: Window, sentiment: str) -> list[dict]:
    """Up to INSIGHTS_EXAMPLES recent quotes of a theme (the words that matched it), newest first."""
    stmt = select(InsightTheme.interaction_id, InsightTheme.evidence).where(
        InsightTheme.theme == theme, InsightTheme.at >= window.since, InsightTheme.at < window.until,
        InsightTheme.evidence.is_not(None))
    if sentiment != "any":
        stmt = stmt.where(InsightTheme.label == sentiment)
    if any(getattr(query, name) is not None for name in ("source", "channel", "line", "agent")):
        stmt = stmt.join(Interaction, Interaction.id == InsightTheme.interaction_id).where(*filters(query))
    stmt = stmt.order_by(InsightTheme.at.desc(), InsightTheme.interaction_id.desc()).limit(defaults.INSIGHTS_EXAMPLES)
    return [{"interaction_id": iid, "quote": quote} for iid, quote in session.execute(stmt)]


def spikes(session: Session, query: SpikesQuery, window: Window, settings: Settings) -> dict:
    """Themes that this many different customers were negative about in the window (default 14 days).

    A window that ends now, with no filter, is counted from the spike days (`spike_days`), which do not grow
    with the data; a window in the past or a filtered one counts the window's negative theme rows."""
    threshold = query.min_customers or d.SPIKE_MIN_CUSTOMERS
    filtered = any(getattr(query, name) is not None for name in ("source", "channel", "line", "agent"))
    if filtered or query.until is not None:
        rows = _spikes_from_rows(session, query, window)
    else:
        rows = [(theme, people, count, None, None)
                for theme, (people, count) in spike_days.counts(session, window).items()]
    rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
    listed = [{"theme": theme, "customers": people, "interactions": count, "first_at": first, "last_at": last,
               "spiking": people >= threshold} for theme, people, count, first, last in rows]
    spiking = [row for row in listed if row["spiking"]][: query.rows]
    below = [row for row in listed if not row["spiking"]][: query.rows]
    for row in spiking + below:
        if row["first_at"] is None:
            row["first_at"], row["last_at"] = spike_days.first_last(session, row["theme"], window)
        row["first_at"], row["last_at"] = iso(row["first_at"]), iso(row["last_at"])
    for row in spiking:
        row["examples"] = _examples(session, row["theme"], query, window, d.NEGATIVE)
    return {"window": window.as_dict(), "min_customers": threshold, "spikes": spiking, "below_threshold": below}


def _spikes_from_rows(session: Session, query: SpikesQuery, window: Window) -> list[tuple]:
    """(theme, customers, interactions, first at, last at) from the window's negative theme rows."""
    it = InsightTheme
    stmt = select(it.theme, func.count(func.distinct(it.contact_id)), func.count(), func.min(it.at), func.max(it.at)
                  ).where(it.label == d.NEGATIVE, it.at >= window.since, it.at < window.until).group_by(it.theme)
    if any(getattr(query, name) is not None for name in ("source", "channel", "line", "agent")):
        stmt = stmt.join(Interaction, Interaction.id == it.interaction_id).where(*filters(query))
    return [tuple(row) for row in session.execute(stmt)]


def callbacks(session: Session, query: CallbacksQuery, window: Window, settings: Settings) -> dict:
    """Unresolved interactions in the window followed within 48 h by the same customer, and the theme
    that kept coming up across those pairs. The total and the themes sum the daily pair counts
    (`insight_daily_callbacks`, `insight_daily_callback_themes`); only the page of pairs listed is read from
    `insight_callbacks`, in time order through its (at, interaction_id) index."""
    if query.line == NONE or query.agent == NONE:
        # The pairs filter on the line and agent as stored, never empty (a missing one is NULL), so "" matches
        # no pair; the daily counts key a missing one as "", and must not answer for it here.
        total, recurring, page = 0, [], []
    else:
        total = int(session.scalar(daily(InsightDailyCallback, func.coalesce(func.sum(InsightDailyCallback.n), 0),
                                          query=query, window=window)))
        t = InsightDailyCallbackTheme
        stmt = daily(t, t.theme, func.sum(t.n), query=query, window=window).group_by(t.theme)
        recurring = [{"theme": theme, "pairs": count} for theme, count in sorted(
            ((theme, int(n)) for theme, n in session.execute(stmt) if n), key=lambda r: (-r[1], r[0]))]
        page = _page(session, query, window)
    rows = interactions(session, [p[0] for p in page] + [p[2] for p in page])
    people = contacts(session, sorted({p[1] for p in page}), settings)
    listed = [{"contact": people.get(contact_id), "interaction": evidence(rows[first]),
               "callback": {**evidence(rows[back]), "hours_after": round(hours, 1)}}
              for first, contact_id, back, hours in page]
    return {"window": window.as_dict(), "line": query.line, "total": total,
            "top_issue": recurring[0]["theme"] if recurring else None, "recurring_themes": recurring,
            "callbacks": listed}


def _page(session: Session, query: CallbacksQuery, window: Window) -> list[tuple]:
    """The first `rows` pairs of the window's days, oldest first (then by interaction id).

    A pair's day is the local day of its `at`; the `at` bounds (two days wider than the window's local
    midnights, wider than any UTC offset change) only let the (at, interaction_id) index stop early."""
    cb = InsightCallback
    stmt = select(cb.interaction_id, cb.contact_id, cb.callback_id, cb.hours).where(
        cb.day >= window.first_day, cb.day <= window.last_day,
        cb.at >= local_midnight(window.first_day, window.tz) - AT_SLACK,
        cb.at < local_midnight(window.last_day + timedelta(days=1), window.tz) + AT_SLACK)
    for name in ("source", "channel", "line", "agent"):
        if getattr(query, name) is not None:
            stmt = stmt.where(getattr(cb, name) == getattr(query, name))
    return [tuple(row) for row in session.execute(stmt.order_by(cb.at, cb.interaction_id).limit(query.rows))]
