"""The interfaces every connector implements, and the normalised records they produce.

Inbound (a webhook sender): `verify` the raw request, split it into `InboundEvent`s (each with the
sender's own event id, the dedupe key), and later, in a worker, `parse` one stored event into
`Interaction`s. Outbound writers (CRM, help desk, chat) live in their own modules.
"""
from __future__ import annotations

import hmac
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, ClassVar, Mapping, Sequence

SPEAKERS = ("customer", "agent", "bot")
CHANNELS = ("call", "sms", "chat", "email", "ticket", "review", "survey")


class WebhookError(Exception):
    """Base for errors a connector raises about an incoming request."""


class SignatureInvalid(WebhookError):
    """The request is not signed by a configured secret (answered 401, nothing stored)."""


class MalformedPayload(WebhookError):
    """The request is authentic but its body cannot be understood (answered 400, nothing stored)."""


_NOT_LOOKED_UP = object()


class WebhookRequest:
    """What a connector sees of an HTTP request: the exact bytes, headers, and the public URL."""

    __slots__ = ("body", "headers", "method", "_url", "_looked_up")

    def __init__(self, body: bytes, headers: Mapping[str, str], url: str | Callable[[], str], method: str = "POST"):
        self.body = body
        self.headers = headers  # case-insensitive lookups expected (werkzeug Headers or a lower-cased dict)
        self.method = method
        self._url = url
        self._looked_up: dict[str, str | None] = {}

    @property
    def url(self) -> str:
        """The public URL the sender posted to (PUBLIC_BASE_URL + path + query). Given as a function, it is built
        on first use: the web passes one, since most senders do not sign the URL and building it costs a few
        percent of a webhook's CPU (bench/webhook_cpu.py --instructions)."""
        if callable(self._url):
            self._url = self._url()
        return self._url

    def header(self, name: str) -> str | None:
        """The header's value, or None. Each name is looked up once per request: verify() and events() ask for the
        same few (the scheme's, the signature's), and a werkzeug lookup costs several thousand instructions, more
        for a header that is absent (a KeyError inside)."""
        value = self._looked_up.get(name, _NOT_LOOKED_UP)
        if value is not _NOT_LOOKED_UP:
            return value
        value = self.headers.get(name)
        if value is None and isinstance(self.headers, dict):
            lowered = {k.lower(): v for k, v in self.headers.items()}
            value = lowered.get(name.lower())
        self._looked_up[name] = value
        return value

    def __repr__(self) -> str:
        return f"WebhookRequest({self.method} {len(self.body)} bytes)"


@dataclass(frozen=True)
class InboundEvent:
    """One event as the sender identified it; `event_id` is the dedupe key within the source."""

    event_id: str
    event_type: str
    body: bytes  # this event's bytes: the whole body, or one element of a batched body
    headers: Mapping[str, str] = field(default_factory=dict)  # headers parse() needs later


@dataclass(frozen=True)
class Turn:
    """One utterance; `speaker` is one of SPEAKERS. `id` (the source's comment or part id) lets
    appended turns be recognised when the same event is parsed again."""

    speaker: str
    text: str
    at: datetime | None = None
    id: str | None = None


@dataclass(frozen=True)
class CustomerRef:
    """Who the customer is, as far as the source knows: E.164 phone, email, name, provider id."""

    phone: str | None = None
    email: str | None = None
    name: str | None = None
    provider_id: str | None = None

    def is_known(self) -> bool:
        return bool(self.phone or self.email or self.provider_id)


@dataclass(frozen=True)
class Interaction:
    """A conversation, normalised. Events about one conversation share `thread_key` and merge.

    `turns` is None when this event carries no turns (a later event may bring them) and a tuple
    when it does: it replaces what was stored, or with `append_turns` (a ticket's new comment, a
    chat's new reply) it is added to it, skipping turns whose `id` is already there. Fields left
    None never erase stored values.
    """

    source: str
    thread_key: str
    channel: str
    customer: CustomerRef = field(default_factory=CustomerRef)
    direction: str | None = None  # "inbound" | "outbound"
    occurred_at: datetime | None = None
    turns: tuple[Turn, ...] | None = None
    summary: str | None = None
    source_ids: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    append_turns: bool = False
    line: str | None = None  # business number (E.164) or "<source>:<kind>:<id>" it came in on
    line_name: str | None = None
    agent: str | None = None  # "<source>:<provider user id>" of the rep who handled it
    agent_name: str | None = None


TOUCH_KINDS = ("outbound_call", "outbound_text", "outbound_email", "agent_reply")


@dataclass(frozen=True)
class Touch:
    """Something the business did toward a customer (an outgoing text or call, an agent's reply).

    Recorded for the contact, never scored. `external_id` (the provider's id of the act) dedupes
    redelivery within the source; `thread_key` links it to an interaction of the same source, if any.
    """

    source: str
    kind: str  # one of TOUCH_KINDS
    external_id: str
    occurred_at: datetime | None
    customer: CustomerRef = field(default_factory=CustomerRef)
    thread_key: str | None = None
    line: str | None = None
    agent: str | None = None


@dataclass(frozen=True)
class ContactMerge:
    """The CRM merged contacts: links to any of `merged_ids` now point at `surviving_id`."""

    crm: str
    surviving_id: str
    merged_ids: tuple[str, ...]


class InboundConnector(ABC):
    """A webhook sender. Subclasses set `name` and implement the three steps."""

    name: ClassVar[str]

    def __init__(self, secrets: Sequence[str] = (), *, tolerance_s: int = 300, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None, api: Mapping[str, str] | None = None):
        import time

        # Empty secrets are allowed (a worker parsing stored events needs none); verify() then
        # fails closed because no secret can match. The web path refuses unconfigured sources first.
        self.secrets = tuple(s for s in secrets if s)
        self.tolerance_s = tolerance_s
        self.clock = clock or time.time  # signature freshness; tests freeze it
        self.sleep = sleep or time.sleep  # how hydration's API client waits between retries; tests record it
        # API credentials and base URL for hydration (worker side only), from Settings.source_api().
        self.api = dict(api or {})

    @abstractmethod
    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureInvalid unless the raw request is signed by one of `self.secrets`."""

    @abstractmethod
    def events(self, request: WebhookRequest) -> list[InboundEvent]:
        """Split a verified request into events; raise MalformedPayload when it cannot be read."""

    @abstractmethod
    def handles(self, event_type: str) -> bool:
        """Whether events of this type carry anything we use (others are stored as ignored)."""

    @abstractmethod
    def parse(self, event: InboundEvent) -> list["Interaction | ContactMerge | Touch"]:
        """Turn one stored event into interactions and touches (run in a worker, never on the web path)."""

    def hydrate(self, items: list["Interaction | ContactMerge"], event: InboundEvent) -> list["Interaction | ContactMerge"]:
        """Fetch from the provider's API what the webhook only names by id (worker side).

        The default fetches nothing. Raise `connectors.common.http.ProviderError` (retryable or not) when
        the fetch fails in a way the job should see; degrade to what the webhook carried otherwise.
        """
        return items


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    """Compare two secrets or digests without leaking where they differ."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)


class TagWriter(ABC):
    """A help desk we write sentiment tags back to (implemented in connectors/<desk>_tags.py)."""

    name: ClassVar[str]

    @abstractmethod
    def apply_tags(self, source_ids: Mapping[str, str], add: Sequence[str], remove: Sequence[str]) -> None:
        """Make the ticket carry every tag in `add` and none in `remove`, leaving other tags alone; idempotent."""
