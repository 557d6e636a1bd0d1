"""The built-in CRM: writes what a CRM would receive into our own tables, for the admin page to show.

Used when no HubSpot token is configured, so a new install shows results without any CRM account.
"""
from __future__ import annotations

from sqlalchemy import select

from connectors.crm import ContactKeys, CRMWriter, TaskSpec
from integration.db import Database
from integration.models import SinkContact, SinkTask, utcnow


class SinkWriter(CRMWriter):
    """Every contact exists in the sink; its CRM id is our own contact id."""

    name = "sink"

    def __init__(self, db: Database):
        self.db = db

    def find_contact(self, keys: ContactKeys) -> str | None:
        with self.db.session() as session:
            if session.scalar(select(SinkContact.id).where(SinkContact.contact_id == keys.contact_id)) is None:
                session.add(SinkContact(contact_id=keys.contact_id, properties={}))
        return str(keys.contact_id)

    def update_contact(self, crm_id: str, properties: dict[str, str]) -> None:
        with self.db.session() as session:
            row = session.scalar(select(SinkContact).where(SinkContact.contact_id == int(crm_id)))
            if row is None:
                row = SinkContact(contact_id=int(crm_id), properties={})
                session.add(row)
            row.properties = {**row.properties, **properties}
            row.updated_at = utcnow()

    def create_task(self, crm_id: str, task: TaskSpec) -> str:
        with self.db.session() as session:
            row = SinkTask(
                contact_id=int(crm_id),
                subject=task.subject,
                body=task.body,
                priority=task.priority,
                task_type=task.task_type,
                due_at=task.due_at,
            )
            session.add(row)
            session.flush()
            return str(row.id)
