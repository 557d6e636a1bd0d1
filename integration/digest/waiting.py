"""No one left waiting, the daily job's body: a follow-up task in the CRM for each customer whose latest
interaction was negative and who has heard nothing from us for FOLLOW_UP_AFTER_DAYS days.

The customers come from the insights function the digest lists them with (integration/insights/waiting.py);
the tasks are opened by the flush's own machinery (one open task per contact and reason, recorded before the
CRM call, recovered after a crash), under the flush lock, so running it twice opens nothing new."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from integration.insights.waiting import waiting_contacts
from integration.pipeline.contacts import contact_keys
from integration.store.db import Database
from integration.store.models import Contact, Interaction, utcnow
from integration.sync import content
from integration.sync.flush import open_tasks


def open_waiting_tasks(db: Database, writer, cache, options, after_days: int, now: datetime | None = None) -> dict:
    """Open the tasks; returns how many customers were waiting and how many tasks were opened now."""
    now = now or utcnow()
    with db.session() as session:
        found = waiting_contacts(session, after_days, now)
        wanted = {}
        for contact_id, interaction_id, at in found:
            latest = session.scalar(select(Interaction).where(Interaction.id == interaction_id))
            keys = contact_keys(session.get(Contact, contact_id))
            who = keys.name or (keys.phones or keys.emails or ("the customer",))[0]
            days = round((now - at).total_seconds() / 86400)
            reason, spec = content.waiting_task(latest, who, now, days, options.rules)
            wanted[contact_id] = (interaction_id, reason, spec)
    if not wanted:
        return {"waiting": 0, "tasks_opened": 0, "unmatched": 0}
    result = open_tasks(db, writer, cache, options, wanted)
    return {"waiting": len(found), "tasks_opened": result.tasks, "unmatched": result.unmatched}
