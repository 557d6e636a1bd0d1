"""Week-over-week sentiment (Q9): Monday-start weeks in TIMEZONE, and the improving/declining verdict.

The database groups by UTC quarter-hour (every time zone's offset is a multiple of 15 minutes), and the
quarter-hours are placed into local weeks here, so weeks are exact across DST changes on both databases.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Integer, cast, func
from sqlalchemy.orm import Session

from integration.insights import definitions as d
from integration.insights.base import AT, scored
from integration.insights.counts import label_count
from integration.insights.params import TrendQuery
from integration.insights.window import Window, local_midnight
from integration.models import InteractionScore
from integration.settings import Settings

QUARTER_S = 900


def trend(session: Session, query: TrendQuery, window: Window, settings: Settings) -> dict:
    """Weekly buckets across the window (empty weeks included) and the verdict over their mean scores."""
    quarter = _quarter(session)
    stmt = scored(quarter.label("q"), func.count(), func.sum(InteractionScore.score), label_count(d.NEGATIVE),
                  label_count(d.NEUTRAL), label_count(d.POSITIVE), query=query, window=window).group_by("q")
    weeks = {start: _empty(start, window) for start in _week_starts(window)}
    for q, count, total, negative, neutral, positive in session.execute(stmt):
        moment = datetime.fromtimestamp(int(q) * QUARTER_S, tz=timezone.utc)
        bucket = weeks[week_start(moment, window)]
        bucket["interactions"] += count
        bucket["_sum"] += total
        for label, n in ((d.NEGATIVE, negative), (d.NEUTRAL, neutral), (d.POSITIVE, positive)):
            bucket["counts"][label] += n
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


def week_start(moment: datetime, window: Window) -> date:
    """The local date of the Monday that starts the week `moment` falls in."""
    local = moment.astimezone(window.tz).date()
    return local - timedelta(days=(local.weekday() - d.WEEK_START_WEEKDAY) % 7)


def _week_starts(window: Window) -> list[date]:
    first, last = week_start(window.since, window), week_start(window.until - timedelta(microseconds=1), window)
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def _empty(start: date, window: Window) -> dict:
    begins, ends = local_midnight(start, window.tz), local_midnight(start + timedelta(days=7), window.tz)
    return {"week_start": start.isoformat(), "partial": begins < window.since or ends > window.until,
            "interactions": 0, "counts": {label: 0 for label in d.LABELS}, "_sum": 0.0}


def _quarter(session: Session):
    """The UTC quarter-hour (seconds since 1970 // 900) of when an interaction happened, per dialect."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", AT), Integer) / QUARTER_S
    return func.floor(func.extract("epoch", AT) / QUARTER_S)
