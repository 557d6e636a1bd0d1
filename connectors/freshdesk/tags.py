"""Freshdesk tag writer: make the ticket an interaction came from carry (or drop) Undertone's tags.

Doc facts (Freshdesk API v2, developers.freshdesk.com/api; "unconfirmed" = not on a Freshdesk page):
- `PUT /api/v2/tickets/{id}` with `{"tags": [...]}` REPLACES the ticket's tag list (Update a Ticket;
  Pipedream's "Set Ticket Tags" action relies on the same). Freshdesk has no add/remove-tags endpoint
  for tickets: the Freshworks endpoint list has only update, bulk_update (asynchronous, same
  `properties`) and the rest. So: `GET /api/v2/tickets/{id}`, compute current + add - remove, and
  PUT only when the list changed. A repeat call is one GET.
- Race: a tag change made by someone else between our GET and PUT is overwritten by our list.
  Freshdesk documents no conditional update (no ETag/If-Match, no `updated_at` check) to prevent
  it; the window is one round trip. Accepted and documented in docs/sources/freshdesk.md.
- Tag case: unconfirmed whether Freshdesk treats tags case-insensitively; we compare lower-cased
  and keep the ticket's own spelling of tags it already has, so "VIP" never becomes "vip".
- The PUT is an update by the API key's agent: it can fire "ticket updated" automation rules, and
  Freshdesk may apply its ticket-field validation to it (a 400 `validation_failed` then; unconfirmed
  for a tags-only body). 400/401/403/404 are not retried; 429 honours `Retry-After` (documented).
- Auth: basic `api_key:X` (the same key as hydration).
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence

from connectors.base import TagWriter
from connectors.common.http import ProviderError
from connectors.freshdesk.inbound import client

SETTINGS = {"base_url": "FRESHDESK_DOMAIN (or FRESHDESK_API_BASE)", "api_key": "FRESHDESK_API_KEY"}
_TICKET_ID = re.compile(r"^\d{1,20}$")


class FreshdeskTagWriter(TagWriter):
    """Sets the tag list of the Freshdesk ticket named by `source_ids["ticket_id"]` (read, merge, write)."""

    name = "freshdesk"

    def __init__(self, api: Mapping[str, str], *, sleep: Callable[[float], None] = time.sleep):
        missing = [setting for key, setting in SETTINGS.items() if not api.get(key)]
        if missing:
            raise ValueError(f"freshdesk tags: missing settings: {', '.join(missing)}")
        self._api = client(api, sleep)

    def apply_tags(self, source_ids: Mapping[str, str], add: Sequence[str], remove: Sequence[str]) -> None:
        """Make the ticket carry every tag in `add` and none in `remove`; other tags are left alone."""
        ticket_id = _ticket_id(source_ids)
        add, remove = _tags(add), _tags(remove)
        both = {t.lower() for t in add} & {t.lower() for t in remove}
        if both:
            raise ValueError(f"freshdesk tags: both added and removed: {sorted(both)}")
        if not add and not remove:
            return
        current = self._tags_of(ticket_id)
        wanted = _merged(current, add, remove)
        if wanted != current:
            self._api.request("PUT", f"/api/v2/tickets/{ticket_id}", json={"tags": wanted})

    def _tags_of(self, ticket_id: str) -> list[str]:
        """The ticket's tags now; ProviderError for 401/403/404 and exhausted 429/5xx."""
        try:
            ticket = self._api.get_json(f"/api/v2/tickets/{ticket_id}")
        except ValueError:
            raise ProviderError("freshdesk: tickets API answered non-JSON", retryable=True) from None
        if not isinstance(ticket, dict):
            raise ProviderError("freshdesk: tickets API answered no ticket", retryable=True)
        tags = ticket.get("tags")
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _merged(current: list[str], add: list[str], remove: list[str]) -> list[str]:
    """current - remove + the tags of `add` not already there, compared case-insensitively."""
    gone = {t.lower() for t in remove}
    kept = [t for t in current if t.lower() not in gone]
    have = {t.lower() for t in kept}
    return kept + [t for t in add if t.lower() not in have]


def _tags(values: Sequence[str]) -> list[str]:
    """Stripped tags without blanks or case-insensitive repeats, in order."""
    if isinstance(values, str):
        raise TypeError("freshdesk tags: pass a list of tags, not a string")
    seen: dict[str, str] = {}
    for tag in (str(v).strip() for v in values):
        if tag:
            seen.setdefault(tag.lower(), tag)
    return list(seen.values())


def _ticket_id(source_ids: Mapping[str, str]) -> str:
    """`source_ids["ticket_id"]`, digits only; ValueError otherwise."""
    ticket_id = str(source_ids.get("ticket_id") or "").strip()
    if not _TICKET_ID.match(ticket_id):
        raise ValueError(f"freshdesk tags: source_ids has no usable ticket_id: {dict(source_ids)!r}")
    return ticket_id
