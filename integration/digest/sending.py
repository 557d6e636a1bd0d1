"""Send the weekly digest once per (week, destination): claim a `digest_sends` row, send, record the outcome.

A claim is the row itself: inserting it (unique week + destination) or taking over a failed one in one
UPDATE ... WHERE status allows it. So two scheduler runs, two workers or a run of `undertone digest --send`
during the scheduled one send the week once; whoever loses the race skips. Statuses:

- sending: claimed; a claim older than DIGEST_CLAIM_STALE_S (its sender died) may be taken over;
- sent: done, never sent again;
- failed: the destination was unreachable, rate-limited or 5xx; the scheduler tries again after a backoff;
- refused: the destination refused for good (revoked webhook 403/404/410, bad SMTP login, Notion 401/404/400);
  the scheduler leaves it, shown with its reason on /admin/alerts; `undertone digest --send` tries again
  once the setting is fixed.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from connectors import registry
from connectors.common.config import reveal
from connectors.notify import DeliveryError
from integration import schedule
from integration.digest import build, render
from integration.store.db import Database
from integration.store.models import DigestSend, utcnow

log = logging.getLogger(__name__)

DIGEST_CLAIM_STALE_S = 15 * 60  # a send claimed this long ago whose sender never finished may be retried
RETRY_AFTER_S = (300, 900, 1800, 3600, 3 * 3600, 6 * 3600)  # failed sends: the scheduler's backoff by attempt
REQUIRED = {"slack": ("slack_webhook_url",), "teams": ("teams_webhook_url",),
            "email": ("smtp_url", "digest_email_to"), "notion": ("notion_token", "notion_database_id")}


def destinations(settings, only: str | None = None) -> list[str]:
    """DIGEST_DESTINATIONS that are configured (or just `only`, when it is)."""
    names = [n.strip() for n in settings.digest_destinations.split(",") if n.strip()] if only is None else [only]
    return [n for n in names if n in REQUIRED and all(reveal(getattr(settings, f, None)) for f in REQUIRED[n])]


def due_week(settings, now: datetime | None = None) -> str:
    """The week the schedule's latest moment (DIGEST_SCHEDULE in TIMEZONE) says should have gone out."""
    moment = schedule.last_due(settings.digest_schedule, settings.tzinfo, now or utcnow())
    return schedule.week_key(schedule.week_covered(moment))


def scheduled(db: Database, settings, now: datetime | None = None) -> dict:
    """The scheduler's tick: send the due week to each configured destination that has not had it (failed
    sends again after their backoff; refused ones are left for a person). Cheap when there is nothing to do."""
    now = now or utcnow()
    week = due_week(settings, now)
    targets = destinations(settings)
    with db.session() as session:
        rows = {r.destination: (r.status, r.attempts, r.updated_at, r.claimed_at) for r in session.scalars(
            select(DigestSend).where(DigestSend.week == week, DigestSend.destination.in_(targets)))}
    wanted = [name for name in targets if _wanted(rows.get(name), now)]
    if not wanted:
        return {"week": week, "status": "nothing to send"}
    return send(db, settings, week, wanted, now=now, retry_refused=False)


def send(db: Database, settings, week: str, names: list[str], now: datetime | None = None,
         retry_refused: bool = True) -> dict:
    """Send `week` to each destination in `names` that has not had it: destination -> outcome."""
    now = now or utcnow()
    first_day = schedule.week_from_key(week)
    outcome: dict[str, str] = {}
    claims = {}
    for name in names:
        token = claim(db, week, name, now, retry_refused)
        if token is None:
            outcome[name] = "skipped: sent already or being sent"
        else:
            claims[name] = token
    if not claims:
        return {"week": week, "deliveries": outcome}
    try:
        digest = build.build(db, settings, first_day, now)
        message = render.message(digest)
    except Exception as exc:  # the database failed: give the claims back, to be retried
        for token in claims.values():
            finish(db, token, "failed", f"the digest could not be built: {type(exc).__name__}", {})
        raise
    for name, token in claims.items():
        try:
            registry.notifier(name, settings).send_digest(message)
        except DeliveryError as exc:
            status = "failed" if exc.retryable else "refused"
            finish(db, token, status, str(exc)[:2000], digest.summary())
            outcome[name] = f"{status}: {exc}"
            log.warning("digest %s to %s %s: %s", week, name, status, exc)
            continue
        finish(db, token, "sent", None, digest.summary())
        outcome[name] = "sent"
    return {"week": week, "deliveries": outcome}


def claim(db: Database, week: str, destination: str, now: datetime, retry_refused: bool = True) -> str | None:
    """A claim token when this caller may send `week` to `destination` now; None when it was sent, or
    another sender holds a live claim (or it was refused and `retry_refused` is False)."""
    token = uuid.uuid4().hex
    try:
        with db.session() as session:
            session.add(DigestSend(week=week, destination=destination, status="sending", claim=token, claimed_at=now,
                                   attempts=0, summary={}, created_at=now, updated_at=now))
        return token
    except IntegrityError:
        pass
    retry = ["failed", "refused"] if retry_refused else ["failed"]
    stale = now - timedelta(seconds=DIGEST_CLAIM_STALE_S)
    with db.session() as session:
        taken = session.execute(
            update(DigestSend).where(DigestSend.week == week, DigestSend.destination == destination,
                                     or_(DigestSend.status.in_(retry),
                                         and_(DigestSend.status == "sending", DigestSend.claimed_at < stale)))
            .values(status="sending", claim=token, claimed_at=now, updated_at=now)
            .execution_options(synchronize_session=False))
    return token if taken.rowcount == 1 else None


def finish(db: Database, token: str, status: str, error: str | None, summary: dict) -> None:
    """Record a claimed send's outcome (only while the claim is still this sender's)."""
    with db.session() as session:
        row = session.scalar(select(DigestSend).where(DigestSend.claim == token))
        if row is None:
            return
        row.status, row.last_error, row.claim, row.updated_at = status, error, None, utcnow()
        row.attempts += 1
        if summary:
            row.summary = summary
        if status == "sent":
            row.sent_at = utcnow()


def recent(db: Database, limit: int = 20) -> list[DigestSend]:
    """The latest digest sends, newest first (the admin page)."""
    with db.session() as session:
        rows = list(session.scalars(select(DigestSend).order_by(DigestSend.week.desc(), DigestSend.destination)
                                    .limit(limit)))
        session.expunge_all()
    return rows


def _wanted(row, now: datetime) -> bool:
    if row is None:
        return True
    status, attempts, updated_at, claimed_at = row
    if status == "failed":
        wait = RETRY_AFTER_S[min(max(attempts - 1, 0), len(RETRY_AFTER_S) - 1)]
        return updated_at is None or updated_at <= now - timedelta(seconds=wait)
    if status == "sending":
        return claimed_at is None or claimed_at < now - timedelta(seconds=DIGEST_CLAIM_STALE_S)
    return False
