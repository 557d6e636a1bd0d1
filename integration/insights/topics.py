"""Answers about themes: by volume for a sentiment (Q3, Q7, Q8, Q12), spikes (Q14), callbacks (Q4)."""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integration import defaults
from integration.insights import definitions as d
from integration.insights.base import AT, aware, contacts, evidence, filters, interactions, iso, percent, ranked, scored
from integration.insights.counts import daily
from integration.insights.params import CallbacksQuery, SpikesQuery, ThemesQuery
from integration.insights.tables import InsightDaily, InsightDailyTheme, InsightTheme
from integration.insights.window import Window
from integration.models import Interaction, InteractionScore
from integration.settings import Settings


def _themed(*columns, query, window: Window, sentiment: str):
    stmt = scored(*columns, query=query, window=window).join(
        InsightTheme, InsightTheme.interaction_id == Interaction.id)
    return stmt if sentiment == "any" else stmt.where(InsightTheme.label == sentiment)


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
    """Themes that this many different customers were negative about in the window (default 14 days)."""
    threshold = query.min_customers or d.SPIKE_MIN_CUSTOMERS
    it = InsightTheme
    stmt = select(it.theme, func.count(func.distinct(it.contact_id)), func.count(), func.min(it.at), func.max(it.at)
                  ).where(it.label == d.NEGATIVE, it.at >= window.since, it.at < window.until).group_by(it.theme)
    if any(getattr(query, name) is not None for name in ("source", "channel", "line", "agent")):
        stmt = stmt.join(Interaction, Interaction.id == it.interaction_id).where(*filters(query))
    rows = sorted(session.execute(stmt), key=lambda r: (-r[1], -r[2], r[0]))
    listed = [{"theme": theme, "customers": people, "interactions": count, "first_at": iso(first),
               "last_at": iso(last), "spiking": people >= threshold} for theme, people, count, first, last in rows]
    spiking = [row for row in listed if row["spiking"]][: query.rows]
    for row in spiking:
        row["examples"] = _examples(session, row["theme"], query, window, d.NEGATIVE)
    return {"window": window.as_dict(), "min_customers": threshold, "spikes": spiking,
            "below_threshold": [row for row in listed if not row["spiking"]][: query.rows]}


def callbacks(session: Session, query: CallbacksQuery, window: Window, settings: Settings) -> dict:
    """Unresolved interactions in the window followed within 48 h by the same customer, and the theme
    that kept coming up across those pairs."""
    candidates = session.execute(scored(Interaction.id, Interaction.contact_id, AT, query=query, window=window).where(
        Interaction.contact_id.is_not(None),
        (InteractionScore.label.in_(d.UNRESOLVED_LABELS)) | InteractionScore.escalation_reason.is_not(None))).all()
    later = _later_by_contact(session, sorted({c for _, c, _ in candidates}), window)
    pairs = []
    for interaction_id, contact_id, at in sorted(candidates, key=lambda r: (aware(r[2]), r[0])):
        at = aware(at)
        history = later.get(contact_id)
        if history is None or history.last_positive > at:
            continue  # resolved: a later positive interaction
        for other_id, other_at, direction, _ in history.rows[bisect_right(history.times, at):]:
            if other_at > at + d.CALLBACK_WINDOW:
                break
            if other_id != interaction_id and (direction is None or direction in d.CALLBACK_DIRECTIONS):
                pairs.append((interaction_id, contact_id, other_id, (other_at - at).total_seconds() / 3600))
                break
    return _describe_callbacks(session, pairs, query, window, settings)


@dataclass
class _History:
    rows: list = field(default_factory=list)  # (interaction id, at, direction, label), in time order
    times: list = field(default_factory=list)
    last_positive: datetime = datetime.min.replace(tzinfo=timezone.utc)


def _later_by_contact(session: Session, ids: list[int], window: Window) -> dict[int, _History]:
    """contact_id -> its interactions from the window's start on, and when it was last positive."""
    found: dict[int, _History] = {}
    for start in range(0, len(ids), 1000):
        # By contact (its index), not by time: each contact's history is short, the window is not.
        stmt = select(Interaction.contact_id, Interaction.id, AT, Interaction.direction, InteractionScore.label
                      ).outerjoin(InteractionScore).where(Interaction.contact_id.in_(ids[start:start + 1000]))
        for contact_id, interaction_id, at, direction, label in session.execute(stmt):
            at = aware(at)
            if at >= window.since:
                history = found.setdefault(contact_id, _History())
                history.rows.append((interaction_id, at, direction, label))
                if label == d.RESOLVED_BY_LABEL and at > history.last_positive:
                    history.last_positive = at
    for history in found.values():
        history.rows.sort(key=lambda r: (r[1], r[0]))
        history.times = [r[1] for r in history.rows]
    return found


def _describe_callbacks(session: Session, pairs: list, query, window: Window, settings: Settings) -> dict:
    issues = _pair_themes(session, pairs)
    recurring = [{"theme": name, "pairs": count} for name, count in sorted(issues.items(), key=lambda i: (-i[1], i[0]))]
    page = pairs[: query.rows]
    rows = interactions(session, [p[0] for p in page] + [p[2] for p in page])
    people = contacts(session, sorted({p[1] for p in page}), settings)
    listed = [{"contact": people.get(contact_id), "interaction": evidence(rows[first]),
               "callback": {**evidence(rows[back]), "hours_after": round(hours, 1)}}
              for first, contact_id, back, hours in page]
    return {"window": window.as_dict(), "line": query.line, "total": len(pairs),
            "top_issue": recurring[0]["theme"] if recurring else None, "recurring_themes": recurring,
            "callbacks": listed}


def _pair_themes(session: Session, pairs: list) -> Counter:
    """Theme -> how many pairs carry it (in either interaction)."""
    ids = sorted({p[0] for p in pairs} | {p[2] for p in pairs})
    themes_of: dict[int, set] = {}
    for start in range(0, len(ids), 1000):
        for iid, theme in session.execute(select(InsightTheme.interaction_id, InsightTheme.theme).where(
                InsightTheme.interaction_id.in_(ids[start:start + 1000]))):
            themes_of.setdefault(iid, set()).add(theme)
    issues: Counter[str] = Counter()
    for first, _, back, _ in pairs:
        issues.update(themes_of.get(first, set()) | themes_of.get(back, set()))
    return issues
