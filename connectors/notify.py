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
class DigestLine:
    """One line of a digest part: text, then links (label, absolute URL) shown after it."""

    text: str
    links: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DigestTable:
    """A small table: column names and rows of already-formatted cells."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class DigestBar:
    """One bar of a chart: a label, stacked segments (name, count) and a note (e.g. the mean score)."""

    label: str
    segments: tuple[tuple[str, int], ...]
    note: str = ""


@dataclass(frozen=True)
class DigestPart:
    """One part of the digest: a heading, its headline numbers, lines with links, a table, a chart."""

    heading: str
    summary: str = ""
    lines: tuple[DigestLine, ...] = ()
    table: DigestTable | None = None
    chart: tuple[DigestBar, ...] = ()


@dataclass(frozen=True)
class DigestMessage:
    """A weekly digest, rendered: title, sections of (heading, lines), and an optional HTML body.

    `parts` is the structured form (links, tables, charts) destinations render natively; `sections` is the
    plain form every destination can fall back on; `text` is the whole plain-text digest, when given.
    """

    title: str
    week: str
    sections: tuple[tuple[str, tuple[str, ...]], ...] = field(default_factory=tuple)
    html: str | None = None
    parts: tuple[DigestPart, ...] = ()
    subtitle: str = ""
    text: str | None = None


class Notifier(Protocol):
    """A destination; `name` is slack | teams | email | notion."""

    name: str

    def send_alert(self, alert: AlertMessage) -> None:
        """Deliver an alert; DeliveryError on failure."""

    def send_digest(self, digest: DigestMessage) -> None:
        """Deliver a digest; DeliveryError on failure."""
