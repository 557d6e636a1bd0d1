"""The time window of an answer: whole local days in TIMEZONE, either the last `days` days (today
included, up to now) or `since` to `until` inclusive."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from integration.insights.params import Query
from integration.store.models import utcnow


@dataclass(frozen=True)
class Window:
    first_day: date  # local, inclusive
    last_day: date  # local, inclusive
    since: datetime  # aware UTC, inclusive: 00:00 local of first_day
    until: datetime  # aware UTC, exclusive: now, or 00:00 local after last_day
    tz: ZoneInfo
    days: int | None = None

    def as_dict(self) -> dict:
        return {"since": _iso(self.since), "until": _iso(self.until), "first_day": self.first_day.isoformat(),
                "last_day": self.last_day.isoformat(), "timezone": self.tz.key, "days": self.days}

    def before(self) -> "Window":
        """The same number of whole days just before this window."""
        length = (self.last_day - self.first_day).days + 1
        first = self.first_day - timedelta(days=length)
        return Window(first, self.first_day - timedelta(days=1), local_midnight(first, self.tz), self.since,
                      self.tz, self.days)


def resolve(query: Query, tz: ZoneInfo, now: datetime | None = None) -> Window:
    """The local days a query means, and their UTC bounds."""
    now = now or utcnow()
    today = now.astimezone(tz).date()
    if query.since is None:
        days = query.days or query.default_days
        first = today - timedelta(days=days - 1)
        return Window(first, today, local_midnight(first, tz), now, tz, days)
    last = query.until or today
    until = local_midnight(last + timedelta(days=1), tz) if query.until else now
    return Window(query.since, last, local_midnight(query.since, tz), until, tz)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of `day` in `tz`, in UTC (a DST gap at midnight resolves forward, as zoneinfo does)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
