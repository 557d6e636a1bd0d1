"""The outbound CRM interface: the few operations the sync job needs, and the error it understands."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ContactKeys:
    """How to find a contact in a CRM: our id, and every phone (E.164) and email we know."""

    contact_id: int
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    name: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    """A follow-up task to open in the CRM."""

    subject: str
    body: str
    due_at: datetime
    priority: str = "MEDIUM"  # LOW | MEDIUM | HIGH
    task_type: str = "CALL"  # CALL | EMAIL | TODO
    owner_id: str | None = None


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


class CRMWriter(ABC):
    """A CRM we write sentiment into. Every operation must be safe to repeat."""

    name: str

    @abstractmethod
    def find_contact(self, keys: ContactKeys) -> str | None:
        """The CRM's id for this contact, or None when the CRM has no matching record."""

    @abstractmethod
    def update_contact(self, crm_id: str, properties: dict[str, str]) -> None:
        """Set properties on a contact (same values twice is a no-op in effect)."""

    @abstractmethod
    def create_task(self, crm_id: str, task: TaskSpec) -> str:
        """Open a task associated with the contact; returns the CRM's task id."""
