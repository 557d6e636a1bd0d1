"""Deliver alert rows: claim (so one job sends), send to each destination not yet done, record the outcome.

Statuses: pending (a job will send it) -> sending (claimed) -> sent | refused (a destination refused it
for good: 400/403/404/410, shown on the admin page) | unsent (no destination configured) | retrying
(429/5xx/unreachable: the job's backoff retry sends it; left so when retries run out, with the error).
Quiet hours: `held` with `deliver_after`; all due held alerts go out together in one message.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from redis import Redis
from sqlalchemy import select, update

from connectors import registry
from connectors.common.config import reveal
from connectors.notify import AlertMessage, DeliveryError
from integration import queues
from integration.alerts import render
from integration.quiet_hours import quiet_until
from integration.store.db import Database
from integration.store.models import Alert, utcnow

NO_DESTINATION = "no alert destination configured (SLACK_WEBHOOK_URL, TEAMS_WEBHOOK_URL)"
CONFIGURED = {"slack": "slack_webhook_url", "teams": "teams_webhook_url", "email": "smtp_url",
              "notion": "notion_token"}


def destinations(settings) -> list[str]:
    """ALERT_DESTINATIONS that are configured."""
    names = [n.strip() for n in settings.alert_destinations.split(",") if n.strip()]
    return [n for n in names if n in CONFIGURED and reveal(getattr(settings, CONFIGURED[n], None))]


def dispatch(db: Database, redis: Redis, settings, alert_ids: list[int], now: datetime | None = None) -> dict:
    """Queue each pending alert now, or hold it until quiet hours end (one batch job at that time).

    With no destination configured the alerts are marked unsent here, as their job would, without a job (and a
    worker's time) per alert."""
    now = now or utcnow()
    nowhere = not destinations(settings)
    until = None if nowhere else quiet_until(settings.quiet_hours, settings.tzinfo, now)
    queued = []
    with db.session() as session:
        for alert in session.scalars(select(Alert).where(Alert.id.in_(alert_ids), Alert.status == "pending")):
            if nowhere:
                alert.status, alert.last_error, alert.attempts = "unsent", NO_DESTINATION, alert.attempts + 1
            elif until is not None:
                alert.status, alert.deliver_after = "held", until
            else:
                queued.append(alert.id)
    for alert_id in queued:
        queues.enqueue_alert(redis, alert_id)
    if until is not None and alert_ids:
        queues.enqueue_held_alerts(redis, until)
    return {"queued": queued, "held_until": until.isoformat() if until and alert_ids else None}


def deliver(db: Database, settings, alert_id: int) -> dict:
    """Send one alert; DeliveryError (retryable) is raised after the row is put back to pending."""
    return _deliver(db, settings, [Alert.id == alert_id, Alert.status.in_(("pending", "retrying"))], held=False)


def deliver_held(db: Database, settings, now: datetime | None = None) -> dict:
    """Send every held alert whose quiet hours are over, in one message."""
    now = now or utcnow()
    return _deliver(db, settings, [Alert.status.in_(("held", "retrying")), Alert.deliver_after <= now], held=True)


def release_stale_claims(db: Database, older_than_s: float) -> int:
    """Claims of jobs that died mid-send go back to pending (or held) for the sweep to queue again."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with db.session() as session:
        stale = list(session.scalars(select(Alert).where(Alert.status == "sending", Alert.claimed_at < cutoff)))
        for alert in stale:
            alert.status, alert.claim = ("held" if alert.deliver_after else "pending"), None
    return len(stale)


def waiting(db: Database, grace_s: float) -> tuple[list[int], bool]:
    """Pending alerts older than the grace period (their job may be lost), and whether held ones are due."""
    with db.session() as session:
        pending = list(session.scalars(select(Alert.id).where(
            Alert.status == "pending", Alert.created_at < utcnow() - timedelta(seconds=grace_s))))
        due = session.scalar(select(Alert.id).where(
            Alert.status == "held", Alert.deliver_after <= utcnow() - timedelta(seconds=grace_s)).limit(1))
    return pending, due is not None


def send_test_alert(settings) -> dict:
    """A test alert to every configured destination (for the admin page): destination -> 'sent' or the error."""
    sample = AlertMessage("Undertone test alert", ({"heading": "This is a test", "facts": [("Sent by", "Undertone")]},),
                          "test")
    results = {}
    for name in destinations(settings):
        try:
            registry.notifier(name, settings).send_alert(sample)
            results[name] = "sent"
        except DeliveryError as exc:
            results[name] = f"failed: {exc}"
    return results


def _deliver(db: Database, settings, where: list, held: bool) -> dict:
    claim = uuid.uuid4().hex
    with db.session() as session:
        session.execute(update(Alert).where(*where).values(status="sending", claim=claim, claimed_at=utcnow())
                        .execution_options(synchronize_session=False))
    with db.session() as session:
        alerts = list(session.scalars(select(Alert).where(Alert.claim == claim).order_by(Alert.id)))
        if not alerts:
            return {"status": "nothing to send"}
        session.expunge_all()
    targets = destinations(settings)
    if not targets:
        _finish(db, claim, {}, "unsent", NO_DESTINATION)
        return {"status": "unsent", "alerts": [a.id for a in alerts]}
    message = render.message(alerts, settings.public_base_url, held=held,
                             hubspot_portal_id=getattr(settings, "hubspot_portal_id", None))
    done = dict(alerts[0].deliveries or {})
    retry: DeliveryError | None = None
    for name in targets:
        if done.get(name) == "sent" or str(done.get(name, "")).startswith("refused"):
            continue
        try:
            registry.notifier(name, settings).send_alert(message)
            done[name] = "sent"
        except DeliveryError as exc:
            if exc.retryable:
                done[name], retry = f"failed: {exc}"[:500], exc
            else:
                done[name] = f"refused: {exc}"[:500]
    if retry is not None:
        _finish(db, claim, done, "retrying", str(retry)[:4000])  # the job's own retry (backoff) sends it
        raise retry
    refused = [v for v in done.values() if str(v).startswith("refused")]
    status = "refused" if refused and len(refused) == len(done) else "sent"
    _finish(db, claim, done, status, "; ".join(refused) or None)
    return {"status": status, "alerts": [a.id for a in alerts], "deliveries": done}


def _finish(db: Database, claim: str, deliveries: dict, status: str, error: str | None) -> None:
    with db.session() as session:
        for alert in session.scalars(select(Alert).where(Alert.claim == claim)):
            alert.deliveries, alert.status, alert.claim, alert.last_error = dict(deliveries), status, None, error
            alert.attempts += 1
            if status == "sent":
                alert.sent_at = utcnow()
