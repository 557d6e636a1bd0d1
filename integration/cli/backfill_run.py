"""The second half of an import: hand stored rows to the workers, or score and sync them right here."""
from __future__ import annotations

from redis.exceptions import RedisError
from sqlalchemy import select

from integration import queues
from integration.cli.backfill import SOURCE
from integration.pipeline import processing
from integration.runtime import Runtime
from integration.store.db import Database
from integration.store.models import WebhookEvent
from integration.sync import flush
from integration.sync.cache import ContactCache
from workers import context


def pending_ids(db: Database) -> list[int]:
    """Imported rows not yet processed: this run's, and any an interrupted run left behind."""
    with db.session() as session:
        stmt = select(WebhookEvent.id).where(WebhookEvent.source == SOURCE, WebhookEvent.status == "pending")
        return list(session.scalars(stmt.order_by(WebhookEvent.id)))


def queue_all(runtime: Runtime, ids: list[int], progress) -> str:
    """Queue every pending row for the workers; on a Redis failure the sweep queues the rest later."""
    for count, row_id in enumerate(ids):
        try:
            queues.enqueue_event(runtime.redis, row_id)
        except RedisError as exc:
            return f"Redis unavailable after {count} queued ({exc}); the scheduler's sweep will queue the rest."
        progress.update(1)
    return f"{len(ids)} queued; workers score them and update the CRM."


def finish_inline(runtime: Runtime, ids: list[int], progress) -> str:
    """Score every pending row in this process, then sync each touched contact to the CRM."""
    analyzer, contacts = context.analyzer(), set()
    connector_for = context.connector_for(runtime)
    for row_id in ids:
        contacts |= processing.process_event(runtime.db, row_id, analyzer, connector_for).contacts
        progress.update(1)
    writer, options = context.crm_writer(runtime), context.sync_options()
    cache = ContactCache(None, writer.name)
    while due := flush.due_contacts(runtime.db):
        flush.sync_round(runtime.db, writer, cache, options, due)
    return f"{len(ids)} scored; {len(contacts)} contacts synced to the {writer.name} CRM."
