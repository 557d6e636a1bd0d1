"""Count what the service did, from the database (read directly, not through the proxy) and the CRM itself."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text

MARKER = re.compile(r"fault-delivery (flt-[\w-]+)")
REF = re.compile(r"\(Undertone ref ([\w-]+)\)")


@dataclass
class Census:
    stored: int = 0  # inbox rows
    processed: int = 0  # events processed
    pending: int = 0
    failed: int = 0
    contacts_behind: int = 0  # contacts whose latest change has not reached the CRM
    notes: Counter = field(default_factory=Counter)  # delivery id -> notes in the CRM carrying its marker
    task_refs: Counter = field(default_factory=Counter)  # task ref -> tasks in the CRM carrying it
    note_refs: Counter = field(default_factory=Counter)
    failed_errors: list[str] = field(default_factory=list)

    def lost(self, accepted_ids: list[str]) -> list[str]:
        """Accepted deliveries with no note in the CRM."""
        return [i for i in accepted_ids if not self.notes.get(i)]

    @property
    def duplicated(self) -> int:
        """Notes and tasks written more than once (same delivery marker, or same ref line)."""
        twice = lambda counter: sum(n - 1 for n in counter.values() if n > 1)  # noqa: E731
        return max(twice(self.notes), twice(self.note_refs)) + twice(self.task_refs)

    @property
    def written(self) -> int:
        """Deliveries whose note is in the CRM."""
        return len(self.notes)


class CensusTaker:
    """Reads one stack's database and CRM; `take()` returns a Census."""

    def __init__(self, direct_url: str, hubspot=None):
        self.engine = create_engine(direct_url, pool_pre_ping=True)
        self.hubspot = hubspot

    def take(self) -> Census:
        census = Census()
        with self.engine.connect() as conn:
            for status, number in conn.execute(text("SELECT status, count(*) FROM webhook_events GROUP BY status")):
                census.stored += number
                if status in ("processed", "pending", "failed"):
                    setattr(census, status, number)
            census.contacts_behind = conn.execute(text(
                "SELECT count(*) FROM contacts WHERE needs_sync_at IS NOT NULL "
                "AND (synced_at IS NULL OR synced_at < needs_sync_at)")).scalar()
            census.failed_errors = [row[0] or "" for row in conn.execute(text(
                "SELECT last_error FROM webhook_events WHERE status = 'failed' LIMIT 5"))]
            if self.hubspot is None:
                note_bodies = [row[0] for row in conn.execute(text("SELECT body FROM sink_notes"))]
                task_bodies = [row[0] for row in conn.execute(text("SELECT body FROM sink_tasks"))]
        if self.hubspot is not None:
            note_bodies = [n.get("hs_note_body", "") for n in self.hubspot.notes.values()]
            task_bodies = [t.get("hs_task_body", "") for t in self.hubspot.tasks.values()]
        for body in note_bodies:
            census.notes.update(set(MARKER.findall(body or "")))
            census.note_refs.update(set(REF.findall(body or "")))
        for body in task_bodies:
            census.task_refs.update(set(REF.findall(body or "")))
        return census

    def close(self) -> None:
        self.engine.dispose()
