"""The insights definitions (integration/insights/definitions.py) and the TIMEZONE setting."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from integration.insights import definitions as d
from integration.settings import Settings


def weeks(*means: float, count: int = 5) -> list[tuple[float, int]]:
    return [(mean, count) for mean in means]


def test_the_slope_is_the_least_squares_one():
    assert d.least_squares_slope([(0, 1.0), (1, 2.0), (2, 3.0)]) == pytest.approx(1.0)
    assert d.least_squares_slope([(0, 0.0), (1, 1.0), (2, 0.0), (3, 1.0)]) == pytest.approx(0.2)
    assert d.least_squares_slope([(0, 0.5)]) == 0.0


@pytest.mark.parametrize(("weekly", "verdict"), [
    (weeks(-0.2, -0.1, 0.0), d.IMPROVING),  # +0.1 a week
    (weeks(0.3, 0.2, 0.1, 0.0), d.DECLINING),
    (weeks(0.10, 0.11, 0.12), d.STEADY),  # +0.01 a week: inside the threshold
    (weeks(0.0, 0.0, 0.06), d.IMPROVING),  # slope +0.03
    (weeks(0.0, 0.0, 0.03), d.STEADY),  # slope +0.015
    (weeks(-0.2, 0.2), d.NOT_ENOUGH_DATA),  # two weeks only
    (weeks(-0.2, 0.0, 0.2, count=4), d.NOT_ENOUGH_DATA),  # no week has five interactions
    (weeks(-0.2, 0.0, 0.2, count=4)[:2] + weeks(0.2, 0.3, 0.4), d.IMPROVING),  # three full weeks are enough
])
def test_trend_verdict_follows_the_written_rule(weekly, verdict):
    assert d.trend_verdict(weekly) == verdict


def test_empty_weeks_keep_their_place_on_the_time_axis():
    # Weeks 0, 3 and 4 have data, 1 and 2 none: x = 0, 3, 4 (mean 7/3), y = 0, .3, .3 (mean .2);
    # Sxy = 0.7, Sxx = 78/9, slope 0.0808 a week (packed as x = 0, 1, 2 it would be 0.15).
    weekly = [(0.0, 5), (0.0, 0), (0.0, 0), (0.3, 5), (0.3, 5)]
    assert d.least_squares_slope([(i, m) for i, (m, c) in enumerate(weekly) if c]) == pytest.approx(0.7 * 9 / 78)
    assert d.trend_verdict(weekly) == d.IMPROVING
    assert d.trend_verdict([(0.0, 5), (0.0, 0), (0.0, 0), (0.0, 0), (0.05, 5), (0.05, 5)]) == d.STEADY  # slope 0.0107


@pytest.mark.parametrize(("label", "reason", "counted"), [
    ("negative", None, True), ("neutral", "threat of a chargeback", True), ("positive", None, False),
    ("neutral", None, False), ("neutral", "", False),
])
def test_what_needs_resolution(label, reason, counted):
    assert d.needs_resolution(label, reason) is counted


def test_the_named_numbers_are_the_issues():
    assert (d.TREND_SLOPE_THRESHOLD, d.TREND_MIN_WEEKS, d.TREND_MIN_PER_WEEK) == (0.02, 3, 5)
    assert d.CALLBACK_WINDOW.total_seconds() == 48 * 3600 and d.WEEK_START_WEEKDAY == 0
    assert (d.COMPLAINT_LABEL, d.COMPLIMENT_LABEL) == ("negative", "positive")
    assert set(d.TOUCH_KINDS) == {"outbound_call", "outbound_text", "outbound_email", "agent_reply"}


def test_timezone_defaults_to_utc_and_takes_iana_names(monkeypatch):
    monkeypatch.delenv("TIMEZONE", raising=False)
    assert Settings().timezone == "UTC" and Settings().tzinfo == ZoneInfo("UTC")
    monkeypatch.setenv("TIMEZONE", "America/New_York")
    assert Settings().tzinfo == ZoneInfo("America/New_York")


@pytest.mark.parametrize("bad", ["Mars/Olympus", "EST5EDT-nonsense", "../etc/passwd", ""])
def test_an_unknown_timezone_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv("TIMEZONE", bad)
    with pytest.raises(ValidationError, match="TIMEZONE must be an IANA time zone name"):
        Settings()
