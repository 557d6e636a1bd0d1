"""The time window of an answer: `days` back from now, or whole local days from `since` to `until`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from integration.insights.params import Query
from integration.models import utcnow


@dataclass(frozen=True)
class Window:
    since: datetime  # aware UTC, inclusive
    until: datetime  # aware UTC, exclusive
    tz: ZoneInfo
    days: int | None = None

    def as_dict(self) -> dict:
        return {"since": _iso(self.since), "until": _iso(self.until), "timezone": self.tz.key, "days": self.days}

    def before(self) -> "Window":
        """The window of the same length just before this one."""
        return Window(self.since - (self.until - self.since), self.since, self.tz, self.days)


def resolve(query: Query, tz: ZoneInfo, now: datetime | None = None) -> Window:
    """The UTC bounds a query's window means in the business's time zone."""
    now = now or utcnow()
    if query.since is None:
        days = query.days or query.default_days
        return Window(now - timedelta(days=days), now, tz, days)
    until = local_midnight(query.until + timedelta(days=1), tz) if query.until else now
    return Window(local_midnight(query.since, tz), until, tz)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of `day` in `tz`, in UTC (a DST gap at midnight resolves forward, as zoneinfo does)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
