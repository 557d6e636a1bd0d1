"""The outbound CRM interface: the few batched operations the sync needs, and the error it understands.

Every operation takes many records at once (HubSpot's batch endpoints take 100), so a sync of a
hundred contacts costs a handful of calls. Every operation must be safe to repeat.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, Sequence

BATCH = 100  # HubSpot's batch limit; the sink has none but follows it


@dataclass(frozen=True)
class ContactKeys:
    """How to find a contact in a CRM: our id, and every phone (E.164) and email we know."""

    contact_id: int
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    name: str | None = None


@dataclass(frozen=True)
class CrmContact:
    """A contact record found in (or created in) the CRM."""

    id: str
    owner_id: str | None = None
    owner_known: bool = False  # True when `owner_id` came with the record (None then means no owner)


@dataclass(frozen=True)
class NoteSpec:
    """A timeline note on a contact; `ref` is our marker, written into the body, to recognise it."""

    crm_contact_id: str
    body: str
    at: datetime
    ref: str


@dataclass(frozen=True)
class TaskSpec:
    """A follow-up task to open in the CRM, associated with a contact."""

    subject: str
    body: str
    due_at: datetime
    priority: str = "MEDIUM"  # LOW | MEDIUM | HIGH
    task_type: str = "CALL"  # CALL | EMAIL | TODO
    owner_id: str | None = None
    crm_contact_id: str = ""
    ref: str = ""


@dataclass
class CRMError(Exception):
    """A CRM call failed. `retryable` says whether trying again later can help."""

    message: str
    status: int | None = None
    retryable: bool = True
    retry_after_s: float | None = None
    details: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status or '-'}: {self.message}"


@dataclass
class UpdateResult:
    """Per-record outcome of a batch update: ids that failed, with why; `missing` were not found."""

    failed: dict[str, CRMError] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)


class CRMWriter(ABC):
    """A CRM we write sentiment into."""

    name: str

    @abstractmethod
    def find_contacts(self, keys: Sequence[ContactKeys]) -> dict[int, CrmContact]:
        """CRM records for as many of these contacts as it has (keyed by our contact id)."""

    @abstractmethod
    def create_contacts(self, keys: Sequence[ContactKeys]) -> dict[int, CrmContact]:
        """Create records for contacts the CRM lacks (used when the setting says so)."""

    @abstractmethod
    def owners(self, crm_ids: Sequence[str]) -> dict[str, str | None]:
        """The owner of each contact record (for follow-up tasks)."""

    @abstractmethod
    def update_contacts(self, updates: Mapping[str, dict[str, str]]) -> UpdateResult:
        """Set properties on many contacts; per-record failures come back, nothing is raised for them."""

    @abstractmethod
    def create_notes(self, notes: Sequence[NoteSpec]) -> dict[str, str]:
        """Create timeline notes; returns our `ref` -> the CRM's note id."""

    @abstractmethod
    def update_notes(self, notes: Mapping[str, NoteSpec]) -> None:
        """Replace the body of existing notes (CRM note id -> spec), keeping the spec's ref line at its end."""

    @abstractmethod
    def create_tasks(self, tasks: Sequence[TaskSpec]) -> dict[str, str]:
        """Open tasks associated with their contacts; returns our `ref` -> the CRM's task id."""

    @abstractmethod
    def append_to_tasks(self, lines: Mapping[str, str]) -> None:
        """Add a line to each open task's body (task id -> line), e.g. "a later call was positive"."""

    def find_refs(self, kind: str, crm_contact_id: str, refs: Sequence[str]) -> dict[str, str]:
        """Notes or tasks ("notes" | "tasks") of a contact already carrying these refs: recovers the
        ids of records created by a run that died before it could store them. Default: none."""
        return {}


def ref_line(ref: str) -> str:
    """The marker line written at the end of every note and task body we create."""
    return f"(Undertone ref {ref})"


def chunks(items: Sequence, size: int = BATCH):
    for start in range(0, len(items), size):
        yield items[start:start + size]
