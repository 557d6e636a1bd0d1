"""What /admin/crm shows: where contacts stand in the CRM, the last flush, HubSpot's rate-limit state."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select

from integration import defaults
from integration.store.db import Database
from integration.store.models import Contact, CrmWrite

RATE_KEYS = {"general": "undertone:ratelimit:hubspot", "search": "undertone:ratelimit:hubspot-search"}


def contact_statuses(db: Database) -> dict[str, int]:
    """How many contacts are matched, created, unmatched, in error, or not synced yet."""
    with db.session() as session:
        rows = session.execute(select(Contact.crm_status, func.count()).group_by(Contact.crm_status))
        return {status or "not synced yet": count for status, count in rows}


def problem_contacts(db: Database, status: str, page: int = 1) -> list[Contact]:
    """Contacts whose CRM status is `status` (unmatched or error), newest first, one page."""
    size = defaults.ADMIN_PAGE_SIZE
    query = (select(Contact.id, Contact.name, Contact.crm_error, Contact.created_at)
             .where(Contact.crm_status == status).order_by(Contact.id.desc())
             .offset((page - 1) * size).limit(size))
    with db.session() as session:
        return list(session.execute(query))


def last_flush(db: Database, now: datetime | None = None) -> dict:
    """The newest CRM write and the writes of the last 24 hours by status."""
    since = (now or datetime.now(timezone.utc)) - timedelta(hours=24)
    with db.session() as session:
        last = session.scalar(select(func.max(CrmWrite.created_at)))
        rows = session.execute(select(CrmWrite.status, func.count()).where(CrmWrite.created_at >= since)
                               .group_by(CrmWrite.status))
        return {"at": last, "counts": {status: count for status, count in rows}}


def rate_limit_state(redis: Redis) -> dict[str, dict]:
    """For each HubSpot budget: requests counted in its window now, and how long it is paused (after a 429)."""
    state = {}
    try:
        for name, key in RATE_KEYS.items():
            kind = redis.type(key)
            kind = kind.decode() if isinstance(kind, bytes) else kind
            used = {"zset": redis.zcard, "list": redis.llen, "hash": redis.hlen}.get(kind)
            count = used(key) if used else int(redis.get(key) or 0) if kind == "string" else 0
            pause_ms = redis.pttl(f"{key}:pause")
            state[name] = {"used": count, "paused_s": round(pause_ms / 1000, 1) if pause_ms > 0 else 0}
    except RedisError:
        return {}
    return state
