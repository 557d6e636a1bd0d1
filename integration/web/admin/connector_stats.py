"""What the connectors pages show about deliveries: counts accepted, the last event, the last error."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from integration.store.db import Database
from integration.store.models import WebhookEvent


@dataclass(frozen=True)
class Accepted:
    today: int
    week: int


def start_of_today(tz: ZoneInfo, now: datetime | None = None) -> datetime:
    """Midnight today in the business's time zone, as UTC."""
    local = (now or datetime.now(timezone.utc)).astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


def accepted(db: Database, tz: ZoneInfo, now: datetime | None = None) -> dict[str, Accepted]:
    """Deliveries stored per source today and in the last 7 days (index: source, received_at)."""
    now = now or datetime.now(timezone.utc)
    today, week = start_of_today(tz, now), now - timedelta(days=7)
    is_today = func.sum(case((WebhookEvent.received_at >= today, 1), else_=0))
    query = (select(WebhookEvent.source, func.count(), is_today)
             .where(WebhookEvent.received_at >= min(today, week)).group_by(WebhookEvent.source))
    with db.session() as session:
        return {source: Accepted(int(t or 0), int(w)) for source, w, t in session.execute(query)}


def last_event(db: Database, source: str) -> WebhookEvent | None:
    """The newest stored delivery of a source (body not loaded)."""
    query = (select(WebhookEvent.id, WebhookEvent.event_type, WebhookEvent.received_at, WebhookEvent.status)
             .where(WebhookEvent.source == source).order_by(WebhookEvent.received_at.desc()).limit(1))
    with db.session() as session:
        return session.execute(query).first()


def last_error(db: Database, source: str) -> WebhookEvent | None:
    """The newest failed event of a source with its error."""
    query = (select(WebhookEvent.id, WebhookEvent.event_type, WebhookEvent.received_at, WebhookEvent.last_error)
             .where(WebhookEvent.source == source, WebhookEvent.status == "failed")
             .order_by(WebhookEvent.received_at.desc()).limit(1))
    with db.session() as session:
        return session.execute(query).first()

