"""The Notifier interface: one destination for alerts and digests (Slack, Teams, e-mail, Notion).

A notifier takes already-rendered, secret-free content and delivers it; it raises DeliveryError with
`retryable` False for a permanent refusal (a revoked webhook, bad credentials) so the job stops trying.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class DeliveryError(Exception):
    """A destination refused or failed; `retryable` says whether a later attempt can help."""

    message: str
    status: int | None = None
    retryable: bool = True
    retry_after_s: float | None = None

    def __str__(self) -> str:
        return f"{self.status or '-'}: {self.message}"


@dataclass(frozen=True)
class AlertMessage:
    """One or more alerts, ready to send: a title, plain-text lines and facts (no secrets)."""

    title: str
    items: tuple[dict, ...]  # each: {"heading", "facts": [(name, value)], "quote", "links": [(label, url)]}
    kind: str = "escalation"  # escalation | spike | batch


@dataclass(frozen=True)
class DigestMessage:
    """A weekly digest, rendered: title, sections of (heading, lines), and an optional HTML body."""

    title: str
    week: str
    sections: tuple[tuple[str, tuple[str, ...]], ...] = field(default_factory=tuple)
    html: str | None = None


class Notifier(Protocol):
    """A destination; `name` is slack | teams | email | notion."""

    name: str

    def send_alert(self, alert: AlertMessage) -> None:
        """Deliver an alert; DeliveryError on failure."""

    def send_digest(self, digest: DigestMessage) -> None:
        """Deliver a digest; DeliveryError on failure."""
