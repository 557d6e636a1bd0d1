"""Zendesk tag writer: make the ticket an interaction came from carry (or drop) Undertone's tags.

Doc facts (Zendesk Tags API, developer.zendesk.com/api-reference/ticketing/ticket-management/tags, and
the OpenAPI copy in botbrains-io/python-zendesk openapi-src.yaml):
- `PUT /api/v2/tickets/{id}/tags` with `{"tags": [...]}` ADDS tags (answers the ticket's whole list);
  `DELETE` on the same path with `{"tags": [...]}` removes only those (answers 204). Agents may call both.
- Both take `updated_stamp` (the ticket's `updated_at` as read) with `safe_update: "true"`: the write
  happens only when the ticket has not changed since; otherwise 409 Conflict. Zendesk recommends
  this because simultaneous updates of one ticket can lose tags. We read the ticket first
  (`GET /api/v2/tickets/{id}.json`: tags, updated_at, status), write one step, and after a 409 read
  again (ProviderAPI does not re-send a 409: the same stamp would only conflict again).
- Reading first also makes a repeat call a single GET: tags already there are not PUT again and
  removals are sent only for tags the ticket carries.
- The tag endpoints refuse closed tickets (docs' "Tag Endpoint Limitations"; the status code is not
  documented). A closed ticket is left as it is and logged: no retry could change that.
- Tags are lower case without spaces (a space separates two tags in Zendesk's UI). Unconfirmed
  whether the API lower-cases them: we send them lower-cased, whitespace runs turned into `_`.
- Auth: basic `{email}/token:{api_token}` (the same credentials as hydration).
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence

from connectors.base import TagWriter
from connectors.common.http import ProviderError
from connectors.zendesk.inbound import client

log = logging.getLogger(__name__)

SETTINGS = {"base_url": "ZENDESK_SUBDOMAIN (or ZENDESK_API_BASE)", "email": "ZENDESK_EMAIL",
            "api_token": "ZENDESK_API_TOKEN"}
MAX_ROUNDS = 4  # an add, a removal, and two lost races with other updates of the ticket
_TICKET_ID = re.compile(r"^\d{1,20}$")


class ZendeskTagWriter(TagWriter):
    """Adds and removes tags on the Zendesk ticket named by `source_ids["ticket_id"]`."""

    name = "zendesk"

    def __init__(self, api: Mapping[str, str], *, sleep: Callable[[float], None] = time.sleep):
        missing = [setting for key, setting in SETTINGS.items() if not api.get(key)]
        if missing:
            raise ValueError(f"zendesk tags: missing settings: {', '.join(missing)}")
        self._api = client(api, sleep)

    def apply_tags(self, source_ids: Mapping[str, str], add: Sequence[str], remove: Sequence[str]) -> None:
        """Make the ticket carry every tag in `add` and none in `remove`; other tags are left alone."""
        ticket_id = _ticket_id(source_ids)
        add, remove = _tags(add), _tags(remove)
        if set(add) & set(remove):
            raise ValueError(f"zendesk tags: both added and removed: {sorted(set(add) & set(remove))}")
        if not add and not remove:
            return
        for _ in range(MAX_ROUNDS):
            ticket = self._ticket(ticket_id)
            steps = _steps(ticket.get("tags"), add, remove)
            if not steps:
                return
            if ticket.get("status") == "closed":
                log.info("zendesk: ticket %s is closed; tags %s not written", ticket_id, steps)
                return
            if not self._write(ticket_id, *steps[0], stamp=ticket.get("updated_at")):
                continue  # the ticket changed since it was read: read it again
            if len(steps) == 1:
                return
        raise ProviderError(f"zendesk: ticket {ticket_id} kept changing while tagging", status=409, retryable=True)

    def _ticket(self, ticket_id: str) -> dict:
        """The ticket record; ProviderError for 401/403/404 and exhausted 429/5xx."""
        try:
            body = self._api.get_json(f"/api/v2/tickets/{ticket_id}.json")
        except ValueError:
            raise ProviderError("zendesk: tickets API answered non-JSON", retryable=True) from None
        ticket = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(ticket, dict):
            raise ProviderError("zendesk: tickets API answered without a ticket", retryable=True)
        return ticket

    def _write(self, ticket_id: str, method: str, tags: list[str], stamp: str | None) -> bool:
        """One safe tag update; False when the ticket changed since it was read (409)."""
        body: dict = {"tags": tags}
        if stamp:
            body.update(updated_stamp=stamp, safe_update="true")
        try:
            self._api.request(method, f"/api/v2/tickets/{ticket_id}/tags.json", json=body)
        except ProviderError as exc:
            if exc.status != 409:
                raise
            log.info("zendesk: ticket %s changed while tagging; reading it again", ticket_id)
            return False
        return True


def _steps(current: object, add: list[str], remove: list[str]) -> list[tuple[str, list[str]]]:
    """The writes still needed: PUT of missing tags, then DELETE of present ones."""
    have = {t.lower() for t in current if isinstance(t, str)} if isinstance(current, list) else set()
    steps = [("PUT", [t for t in add if t not in have]), ("DELETE", [t for t in remove if t in have])]
    return [(method, tags) for method, tags in steps if tags]


def _tags(values: Sequence[str]) -> list[str]:
    """Zendesk tag spelling (lower case, `_` for whitespace), without blanks or repeats, in order."""
    if isinstance(values, str):
        raise TypeError("zendesk tags: pass a list of tags, not a string")
    spelled = ("_".join(str(v).lower().split()) for v in values)
    return list(dict.fromkeys(t for t in spelled if t))


def _ticket_id(source_ids: Mapping[str, str]) -> str:
    """`source_ids["ticket_id"]`, digits only; ValueError otherwise."""
    ticket_id = str(source_ids.get("ticket_id") or "").strip()
    if not _TICKET_ID.match(ticket_id):
        raise ValueError(f"zendesk tags: source_ids has no usable ticket_id: {dict(source_ids)!r}")
    return ticket_id
