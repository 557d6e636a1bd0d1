"""Weekly trend: Monday-start weeks in TIMEZONE across a DST change, and the verdict rule."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from integration.insights.params import TrendQuery
from integration.insights.registry import answer
from integration.store.models import Contact, Interaction, InteractionScore

UTC = timezone.utc


def store(db, rows):
    with db.session() as s:
        contact = Contact(name="T")
        s.add(contact)
        s.flush()
        for n, (at, score) in enumerate(rows):
            row = Interaction(source="quo", thread_key=f"t{n}", contact_id=contact.id, channel="call",
                              occurred_at=at, source_ids={})
            s.add(row)
            s.flush()
            label = "negative" if score < -0.05 else "positive" if score > 0.05 else "neutral"
            s.add(InteractionScore(interaction_id=row.id, scorer="lexicon", basis="customer_turns", label=label,
                                   score=score, intensity="moderate", confidence=1.0, content_hash=str(n)))


def march_weeks(means):
    """Five interactions a week from Monday 2 March 2026 (New York), at noon local on Tue-Sat."""
    rows = []
    for week, mean in enumerate(means):
        for day in range(1, 6):
            local = datetime(2026, 3, 2, 12) + timedelta(weeks=week, days=day)
            offset = 5 if local < datetime(2026, 3, 8, 2) else 4  # EST, then EDT
            rows.append((local.replace(tzinfo=UTC) + timedelta(hours=offset), mean))
    return rows


def test_weeks_follow_the_business_time_zone_across_dst(db, settings):
    store(db, march_weeks([-0.4, -0.2, 0.0, 0.2]) + [
        (datetime(2026, 3, 9, 3, 30, tzinfo=UTC), -0.4),  # Sunday 8 March 23:30 EDT: the first week
        (datetime(2026, 3, 9, 4, 30, tzinfo=UTC), -0.2),  # Monday 9 March 00:30 EDT: the second week
    ])
    new_york = settings.model_copy(update={"timezone": "America/New_York"})
    got = answer("trend", TrendQuery(since="2026-03-02", until="2026-03-29"), db, new_york)
    assert [(w["week_start"], w["interactions"], w["mean_score"]) for w in got["weeks"]] == [
        ("2026-03-02", 6, -0.4), ("2026-03-09", 6, -0.2), ("2026-03-16", 5, 0.0), ("2026-03-23", 5, 0.2)]
    assert not any(w["partial"] for w in got["weeks"])
    assert got["verdict"] == "improving" and got["slope_per_week"] == 0.2
    utc = answer("trend", TrendQuery(since="2026-03-02", until="2026-03-29"), db, settings)
    assert [w["interactions"] for w in utc["weeks"]] == [5, 7, 5, 5]  # in UTC both fall on Monday 9 March


def test_declining_steady_and_not_enough_data(db, settings):
    store(db, march_weeks([0.3, 0.1, -0.1]))
    query = TrendQuery(since="2026-03-02", until="2026-03-22")
    assert answer("trend", query, db, settings)["verdict"] == "declining"
    two_weeks = TrendQuery(since="2026-03-02", until="2026-03-15")
    assert answer("trend", two_weeks, db, settings)["verdict"] == "not enough data"
    empty = answer("trend", TrendQuery(since="2020-01-06", until="2020-01-26"), db, settings)
    assert [w["interactions"] for w in empty["weeks"]] == [0, 0, 0] and empty["verdict"] == "not enough data"


def test_one_interaction_is_not_enough_for_a_verdict(db, settings):
    store(db, [(datetime(2026, 3, 3, 17, tzinfo=UTC), 0.5)])
    got = answer("trend", TrendQuery(since="2026-03-02", until="2026-03-08"), db, settings)
    assert got["weeks"][0]["interactions"] == 1 and got["verdict"] == "not enough data"
