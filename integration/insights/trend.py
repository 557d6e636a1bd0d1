"""Week-over-week sentiment (Q9): Monday-start weeks in TIMEZONE, and the improving/declining verdict.

The daily rollup is kept in local days, so weeks are exact across DST changes on both databases."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func
from sqlalchemy.orm import Session

from integration.insights import definitions as d
from integration.insights.counts import daily, label_sum
from integration.insights.params import TrendQuery
from integration.insights.tables import InsightDaily
from integration.insights.window import Window
from integration.settings import Settings


def trend(session: Session, query: TrendQuery, window: Window, settings: Settings) -> dict:
    """Weekly buckets across the window (empty weeks included) and the verdict over their mean scores."""
    t = InsightDaily
    stmt = daily(t, t.day, func.sum(t.n), func.sum(t.score_sum), label_sum(t, d.NEGATIVE), label_sum(t, d.NEUTRAL),
                 label_sum(t, d.POSITIVE), query=query, window=window).group_by(t.day)
    weeks = {start: _empty(start, window) for start in _week_starts(window)}
    for day, count, total, negative, neutral, positive in session.execute(stmt):
        bucket = weeks[week_start(day)]
        bucket["interactions"] += int(count)
        bucket["_sum"] += total
        for label, n in ((d.NEGATIVE, negative), (d.NEUTRAL, neutral), (d.POSITIVE, positive)):
            bucket["counts"][label] += int(n)
    ordered = [weeks[start] for start in sorted(weeks)]
    for bucket in ordered:
        total = bucket.pop("_sum")
        bucket["mean_score"] = round(total / bucket["interactions"], 3) if bucket["interactions"] else None
    series = [(b["mean_score"] or 0.0, b["interactions"]) for b in ordered]
    points = [(i, mean) for i, (mean, count) in enumerate(series) if count]
    return {"window": window.as_dict(), "weeks": ordered, "verdict": d.trend_verdict(series),
            "slope_per_week": round(d.least_squares_slope(points), 4),
            "rule": f"slope of weekly mean score beyond ±{d.TREND_SLOPE_THRESHOLD}/week, with at least "
                    f"{d.TREND_MIN_WEEKS} weeks of {d.TREND_MIN_PER_WEEK}+ interactions"}


def week_start(day: date) -> date:
    """The Monday that starts the week of a local `day`."""
    return day - timedelta(days=(day.weekday() - d.WEEK_START_WEEKDAY) % 7)


def _week_starts(window: Window) -> list[date]:
    first, last = week_start(window.first_day), week_start(window.last_day)
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def _empty(start: date, window: Window) -> dict:
    return {"week_start": start.isoformat(),
            "partial": start < window.first_day or start + timedelta(days=6) > window.last_day,
            "interactions": 0, "counts": {label: 0 for label in d.LABELS}, "_sum": 0.0}
