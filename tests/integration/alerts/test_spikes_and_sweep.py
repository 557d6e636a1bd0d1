"""Spike alerts fire once per theme and window; the sweep queues alerts whose job was lost; quiet hours math."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from rq import Queue
from sqlalchemy import select

from integration import defaults
from integration.alerts import delivery
from integration.alerts.spikes import check_spikes
from integration.quiet_hours import parse_quiet_hours, quiet_until
from integration.settings import Settings
from integration.store.models import Alert, Contact, Interaction, InteractionScore, utcnow
from workers import context, jobs


def complaint(session, n: int, theme: str = "billing", label: str = "negative", days_ago: float = 1) -> int:
    contact = Contact(name=f"Customer {n}")
    session.add(contact)
    session.flush()
    row = Interaction(source="generic", thread_key=f"t-{uuid.uuid4().hex}", contact_id=contact.id, channel="call",
                      occurred_at=utcnow() - timedelta(days=days_ago), turns=[])
    session.add(row)
    session.flush()
    session.add(InteractionScore(interaction_id=row.id, scorer="lexicon", basis="customer_turns", label=label,
                                 score=-0.7 if label == "negative" else 0.6, intensity="strong", confidence=0.9,
                                 themes=[{"theme": theme, "how": "keyword", "evidence": theme}], content_hash="x"))
    return row.id


def seed(db, count: int, **kwargs) -> list[int]:
    with db.session() as session:
        return [complaint(session, n, **kwargs) for n in range(count)]


def spikes(db) -> list[Alert]:
    with db.session() as session:
        rows = list(session.scalars(select(Alert).where(Alert.kind == "spike")))
        session.expunge_all()
    return rows


def test_spike_fires_once_for_five_customers(db):
    ids = seed(db, 4)
    assert check_spikes(db, ids, 5, 14) == []  # four customers: no spike
    more = seed(db, 3, theme="billing", days_ago=2)
    first = check_spikes(db, more[:1], 5, 14)
    assert len(first) == 1
    assert check_spikes(db, more[1:], 5, 14) == []  # later complaints in the same window: no second alert
    (alert,) = spikes(db)
    assert alert.theme == "billing" and alert.facts["customers"] >= 5


def test_old_positive_and_other_themes_do_not_count(db):
    seed(db, 3, days_ago=20)  # outside the window
    seed(db, 3, label="positive")
    ids = seed(db, 4, theme="shipping")
    assert check_spikes(db, ids, 5, 14) == []
    assert spikes(db) == []


def test_thresholds_are_settings(db):
    ids = seed(db, 2, theme="refunds")
    assert len(check_spikes(db, ids, 2, 14)) == 1


def test_sweep_queues_an_alert_whose_job_was_lost(db, redis_conn, worker_env):
    worker_env.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/x")  # somewhere to send it
    with db.session() as session:
        session.add(Alert(key="escalation:lost:1", kind="escalation", reason="asked for a manager", facts={},
                          status="pending", deliveries={}, attempts=0, created_at=utcnow() - timedelta(minutes=5)))
    context.reset()
    result = jobs.sweep()
    assert result["alerts_requeued"] == 1
    assert Queue(defaults.ALERTS_QUEUE, connection=redis_conn).count == 1


def test_no_destination_leaves_the_alert_unsent_and_visible(db, worker_env):
    with db.session() as session:
        alert = Alert(key="escalation:x:1", kind="escalation", reason="r", facts={}, status="pending",
                      deliveries={}, attempts=0)
        session.add(alert)
        session.flush()
        alert_id = alert.id
    worker_env.delenv("SLACK_WEBHOOK_URL", raising=False)
    settings = Settings(_env_file=None, slack_webhook_url=None, teams_webhook_url=None)
    assert delivery.deliver(db, settings, alert_id)["status"] == "unsent"
    with db.session() as session:
        assert "SLACK_WEBHOOK_URL" in session.get(Alert, alert_id).last_error


def test_quiet_hours_across_midnight():
    paris = ZoneInfo("Europe/Paris")
    late = datetime(2026, 11, 30, 21, 30, tzinfo=paris)
    assert quiet_until("20:00-07:00", paris, late) == datetime(2026, 12, 1, 7, 0, tzinfo=paris).astimezone(timezone.utc)
    early = datetime(2026, 12, 1, 6, 0, tzinfo=paris)
    seven = datetime(2026, 12, 1, 7, 0, tzinfo=paris).astimezone(timezone.utc)
    assert quiet_until("20:00-07:00", paris, early) == seven
    assert quiet_until("20:00-07:00", paris, datetime(2026, 12, 1, 12, 0, tzinfo=paris)) is None
    assert quiet_until("12:00-13:00", paris, datetime(2026, 12, 1, 12, 30, tzinfo=paris)) is not None
    assert quiet_until("", paris, late) is None


@pytest.mark.parametrize("bad", ["20-7", "20:00", "25:00-07:00", "08:00-08:00"])
def test_bad_quiet_hours_are_refused(bad):
    with pytest.raises(ValueError):
        parse_quiet_hours(bad)
    with pytest.raises(ValueError, match="QUIET_HOURS"):
        Settings(_env_file=None, quiet_hours=bad)


def test_with_no_destination_dispatch_marks_alerts_unsent_without_a_job(db, redis_conn, worker_env):
    """No job (and no worker's time) per alert that has nowhere to go; the admin page still shows why."""
    from integration.queues import queue

    settings = context.runtime().settings
    assert delivery.destinations(settings) == []
    with db.session() as session:
        alert = Alert(key="escalation:test-no-destination", kind="escalation", reason="test", facts={},
                      status="pending", deliveries={}, attempts=0)
        session.add(alert)
        session.flush()
        alert_id = alert.id
    before = queue(redis_conn, defaults.ALERTS_QUEUE).count
    assert delivery.dispatch(db, redis_conn, settings, [alert_id])["queued"] == []
    assert queue(redis_conn, defaults.ALERTS_QUEUE).count == before
    with db.session() as session:
        stored = session.get(Alert, alert_id)
        assert (stored.status, stored.attempts) == ("unsent", 1) and "no alert destination" in stored.last_error
