"""DIGEST_SCHEDULE: when the weekly digest goes out, in TIMEZONE, and which week it covers.

Two forms are accepted: a short one, `<days> HH:MM` (days: mon..sun, comma-separated, or `daily`), e.g.
`mon 08:00` (the default); or a five-field cron expression, e.g. `0 8 * * 1`, read by croniter (the library
RQ's own cron scheduler uses). Either way the times are the business's local times in TIMEZONE.

A digest covers the last whole week (Monday to Sunday, the insights' week) before the scheduled moment,
so the default Monday 08:00 digest is about the week that ended the night before.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHORT = re.compile(r"^\s*(?P<days>[a-z,]+)\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*$", re.IGNORECASE)


def cron_expression(value: str) -> str:
    """The cron expression DIGEST_SCHEDULE means; ValueError with a clear message for anything else."""
    from croniter import croniter

    text = (value or "").strip()
    match = _SHORT.match(text)
    if match:
        days = [d.strip().lower() for d in match["days"].split(",") if d.strip()]
        hour, minute = int(match["hour"]), int(match["minute"])
        if days == ["daily"]:
            days = ["*"]
        if not days or any(d not in DAYS and d != "*" for d in days) or hour > 23 or minute > 59:
            raise ValueError(f"DIGEST_SCHEDULE must look like 'mon 08:00' or cron '0 8 * * 1', not {value!r}")
        return f"{minute} {hour} * * {','.join(days)}"
    if len(text.split()) == 5 and croniter.is_valid(text):
        return text
    raise ValueError(f"DIGEST_SCHEDULE must look like 'mon 08:00' or cron '0 8 * * 1', not {value!r}")


def last_due(value: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The latest scheduled moment at or before `now` (aware), as an aware local time."""
    from croniter import croniter

    local = now.astimezone(zone)
    moment = croniter(cron_expression(value), local + timedelta(seconds=1)).get_prev(datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def next_due(value: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The next scheduled moment after `now` (aware), as an aware local time."""
    from croniter import croniter

    moment = croniter(cron_expression(value), now.astimezone(zone)).get_next(datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def week_covered(moment: datetime) -> date:
    """The Monday of the last whole week before a (local) moment: the week its digest is about."""
    day = moment.date()
    this_monday = day - timedelta(days=day.weekday())
    return this_monday - timedelta(days=7)


def week_key(monday: date) -> str:
    """The ISO week of a Monday-start week, e.g. 2026-W48: the digest's name and its once-only key."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def week_from_key(key: str) -> date:
    """The Monday of an ISO week key (2026-W48) or of the week holding an ISO date; ValueError otherwise."""
    try:
        if re.fullmatch(r"\d{4}-W\d{2}", key):
            return date.fromisocalendar(int(key[:4]), int(key[6:]), 1)
        day = date.fromisoformat(key)
    except ValueError:
        raise ValueError(f"a week is 2026-W48 or a date in it (2026-11-23), not {key!r}") from None
    return day - timedelta(days=day.weekday())
