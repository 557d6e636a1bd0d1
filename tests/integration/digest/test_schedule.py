"""DIGEST_SCHEDULE: the short form and cron syntax, in TIMEZONE; which week a digest covers."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from integration import schedule
from integration.settings import Settings

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize("value, expression", [
    ("mon 08:00", "0 8 * * mon"), ("Mon,Thu 7:30", "30 7 * * mon,thu"), ("daily 18:05", "5 18 * * *"),
    ("0 8 * * 1", "0 8 * * 1"),
])
def test_both_forms_become_a_cron_expression(value, expression):
    assert schedule.cron_expression(value) == expression


@pytest.mark.parametrize("value", ["", "monday 08:00", "mon 25:00", "mon 8", "0 8 * *", "* * * * * *", "fri 07:60"])
def test_anything_else_is_a_clear_error(value):
    with pytest.raises(ValueError, match="DIGEST_SCHEDULE"):
        schedule.cron_expression(value)


def test_settings_refuse_a_bad_schedule():
    with pytest.raises(ValueError, match="DIGEST_SCHEDULE"):
        Settings(digest_schedule="someday", _env_file=None)


def test_last_due_is_local_monday_eight_and_covers_the_week_before():
    # Monday 30 Nov 2026, 07:30 UTC = 08:30 in Paris: the Monday 08:00 digest is due, about 23-29 Nov.
    now = datetime(2026, 11, 30, 7, 30, tzinfo=timezone.utc)
    due = schedule.last_due("mon 08:00", PARIS, now)
    assert due.astimezone(timezone.utc) == datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)
    assert schedule.week_covered(due) == date(2026, 11, 23)
    assert schedule.week_key(date(2026, 11, 23)) == "2026-W48"
    # 06:30 UTC = 07:30 in Paris: not yet; the last due moment is the Monday before, about the week before that.
    earlier = schedule.last_due("mon 08:00", PARIS, datetime(2026, 11, 30, 6, 30, tzinfo=timezone.utc))
    assert schedule.week_covered(earlier) == date(2026, 11, 16)
    upcoming = schedule.next_due("mon 08:00", PARIS, datetime(2026, 11, 30, 6, 30, tzinfo=timezone.utc))
    assert upcoming.astimezone(timezone.utc) == datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("key, monday", [("2026-W48", date(2026, 11, 23)), ("2026-11-26", date(2026, 11, 23)),
                                         ("2027-W01", date(2027, 1, 4))])
def test_week_keys(key, monday):
    assert schedule.week_from_key(key) == monday


def test_a_bad_week_is_a_clear_error():
    with pytest.raises(ValueError, match="2026-W48"):
        schedule.week_from_key("last week")
