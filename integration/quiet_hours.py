"""QUIET_HOURS ("20:00-07:00", in TIMEZONE): parsing, and when the quiet period around a moment ends."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """(start, end) local times, or None when unset; ValueError for any other form."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise ValueError(f"QUIET_HOURS must look like 20:00-07:00, not {value!r}") from None
    if start == end:
        raise ValueError("QUIET_HOURS start and end must differ")
    return start, end


def quiet_until(value: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When the quiet period containing `now` (aware) ends, as UTC; None when `now` is not quiet."""
    hours = parse_quiet_hours(value)
    if hours is None:
        return None
    start, end = hours
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    quiet = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not quiet:
        return None
    end_day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(timezone.utc)
