"""The built-in CRM: writes what a CRM would receive into our own tables, for the admin page to show.

Used when no HubSpot token is configured, so a new install shows results without any CRM account.
Every contact exists in the sink; its CRM id is our own contact id. Like HubSpot, the sink keeps our
ref line at the end of every note and task body, and a flush that died after the sink stored a note
but before `crm_notes` recorded its id finds that note again by its ref line (`find_refs`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

from sqlalchemy import select

from connectors.crm import (
    ContactKeys,
    CrmContact,
    CRMWriter,
    NoteSpec,
    TaskSpec,
    UpdateResult,
    ref_line,
)
from integration.store.db import Database
from integration.store.models import SinkContact, SinkNote, SinkTask, utcnow


class SinkWriter(CRMWriter):
    name = "sink"

    def __init__(self, db: Database):
        self.db = db

    def find_contacts(self, keys: Sequence[ContactKeys]) -> dict[int, CrmContact]:
        with self.db.session() as session:
            have = set(session.scalars(select(SinkContact.contact_id).where(
                SinkContact.contact_id.in_([k.contact_id for k in keys]))))
            session.add_all(SinkContact(contact_id=k.contact_id, properties={}) for k in keys if k.contact_id not in have)
        return {k.contact_id: CrmContact(str(k.contact_id), owner_known=True) for k in keys}

    def create_contacts(self, keys: Sequence[ContactKeys]) -> dict[int, CrmContact]:
        return self.find_contacts(keys)

    def owners(self, crm_ids: Sequence[str]) -> dict[str, str | None]:
        return {crm_id: None for crm_id in crm_ids}

    def update_contacts(self, updates: Mapping[str, dict[str, str]]) -> UpdateResult:
        result = UpdateResult()
        with self.db.session() as session:
            rows = {str(r.contact_id): r for r in session.scalars(select(SinkContact).where(
                SinkContact.contact_id.in_([int(i) for i in updates])))}
            for crm_id, properties in updates.items():
                row = rows.get(crm_id)
                if row is None:
                    result.missing.add(crm_id)
                    continue
                row.properties = {**row.properties, **properties}
                row.updated_at = utcnow()
        return result

    def create_notes(self, notes: Sequence[NoteSpec]) -> dict[str, str]:
        with self.db.session() as session:
            rows = [(n.ref, SinkNote(contact_id=int(n.crm_contact_id), body=f"{n.body}\n{ref_line(n.ref)}", at=n.at))
                    for n in notes]
            session.add_all(row for _, row in rows)
            session.flush()
            return {ref: str(row.id) for ref, row in rows}

    def update_notes(self, notes: Mapping[str, NoteSpec]) -> None:
        with self.db.session() as session:
            for note_id, spec in notes.items():
                row = session.get(SinkNote, int(note_id))
                if row is not None:
                    row.body = f"{spec.body}\n{ref_line(spec.ref)}"

    def find_refs(self, kind: str, crm_contact_id: str, refs: Sequence[str]) -> dict[str, str]:
        """The contact's notes or tasks whose body carries one of these ref lines (exactly, as a line)."""
        model = SinkNote if kind == "notes" else SinkTask
        wanted = {ref_line(ref): ref for ref in refs}
        found: dict[str, str] = {}
        with self.db.session() as session:
            for row_id, body in session.execute(select(model.id, model.body).where(
                    model.contact_id == int(crm_contact_id)).order_by(model.id)):
                for line in body.splitlines():
                    if line in wanted:
                        found.setdefault(wanted[line], str(row_id))
        return found

    def create_tasks(self, tasks: Sequence[TaskSpec]) -> dict[str, str]:
        with self.db.session() as session:
            rows = [(t.ref, SinkTask(contact_id=int(t.crm_contact_id), subject=t.subject, body=f"{t.body}\n{ref_line(t.ref)}",
                                     priority=t.priority, task_type=t.task_type, due_at=t.due_at)) for t in tasks]
            session.add_all(row for _, row in rows)
            session.flush()
            return {ref: str(row.id) for ref, row in rows}

    def append_to_tasks(self, lines: Mapping[str, str]) -> None:
        with self.db.session() as session:
            for task_id, text in lines.items():
                row = session.get(SinkTask, int(task_id))
                if row is not None:
                    row.body = f"{row.body}\n{text}"
