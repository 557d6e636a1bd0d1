"""Intercom tag writer: tag (or untag) the conversation an interaction came from.

Doc facts (Intercom REST API 2.14, intercom/Intercom-OpenAPI descriptions/2.14/api.intercom.io.yaml;
developers.intercom.com "Create or update a tag", "OAuth scopes"):
- Tags are workspace objects with ids. `POST /tags {"name": ...}` creates the tag "if not found" and
  answers the tag object either way; names are case-insensitive, and sending one name many times
  makes one tag (1.x reference). So no `GET /tags` listing is needed. Ids are cached per writer.
- `POST /conversations/{id}/tags {"id": <tag id>, "admin_id": <admin id>}` tags a conversation;
  `DELETE /conversations/{id}/tags/{tag_id} {"admin_id": ...}` untags it. Both answer the tag, and
  404 with `error.list` ("Conversation not found" / "Tag not found").
- The admin: `api["admin_id"]` when configured, else the token's own admin from `GET /me`
  (`{type: "admin", id, ...}`), fetched once per writer.
- `GET /conversations/{id}` carries `tags: {type: "tag.list", tags: [{id, name, ...}]}`: read first,
  so only missing tags are attached and only carried ones detached; a repeat call is one GET.
- A 404 on DELETE right after the read found the tag: it was detached meanwhile (or the conversation
  went in the same instant); treated as done. Unconfirmed which status Intercom gives when attaching
  a tag already there: we never send that.
- Permissions (private app token, Developer Hub > Authentication): "Read conversations" for the read,
  "Write tags" ("create, update, use and delete tags") for the rest. Whether tagging a conversation
  also needs "Write conversations", and which scope `GET /me` needs, is not documented: unconfirmed.
- Bearer token with `Intercom-Version: 2.14`, as the inbound connector uses.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence

from connectors.base import TagWriter
from connectors.common.http import ProviderError
from connectors.intercom.inbound import client

SETTINGS = {"base_url": "INTERCOM_API_BASE", "access_token": "INTERCOM_ACCESS_TOKEN"}
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class IntercomTagWriter(TagWriter):
    """Attaches and detaches tags on the Intercom conversation named by `source_ids["conversation_id"]`."""

    name = "intercom"

    def __init__(self, api: Mapping[str, str], *, sleep: Callable[[float], None] = time.sleep):
        missing = [setting for key, setting in SETTINGS.items() if not api.get(key)]
        if missing:
            raise ValueError(f"intercom tags: missing settings: {', '.join(missing)}")
        self._api = client(api, sleep)
        self._admin = str(api.get("admin_id") or "").strip() or None
        self._tag_ids: dict[str, str] = {}  # lower-cased name -> tag id

    def apply_tags(self, source_ids: Mapping[str, str], add: Sequence[str], remove: Sequence[str]) -> None:
        """Make the conversation carry every tag in `add` and none in `remove`; other tags are left alone."""
        conversation_id = _conversation_id(source_ids)
        add, remove = _names(add), _names(remove)
        both = {n.lower() for n in add} & {n.lower() for n in remove}
        if both:
            raise ValueError(f"intercom tags: both added and removed: {sorted(both)}")
        if not add and not remove:
            return
        carried = self._carried(conversation_id)
        for name in (n for n in add if n.lower() not in carried):
            self._api.request("POST", f"/conversations/{conversation_id}/tags",
                              json={"id": self._tag_id(name), "admin_id": self._admin_id()})
        for tag_id in (carried[n.lower()] for n in remove if n.lower() in carried):
            self._detach(conversation_id, tag_id)

    def _carried(self, conversation_id: str) -> dict[str, str]:
        """The conversation's tags as lower-cased name -> id; ProviderError when it cannot be read."""
        body = self._json("GET", f"/conversations/{conversation_id}")
        tag_list = body.get("tags") if isinstance(body.get("tags"), dict) else {}
        tags = tag_list.get("tags") if isinstance(tag_list.get("tags"), list) else []
        return {t["name"].lower(): str(t["id"]) for t in tags
                if isinstance(t, dict) and isinstance(t.get("name"), str) and t.get("id") is not None}

    def _tag_id(self, name: str) -> str:
        """The id of the tag called `name`, created when the workspace has none (cached)."""
        if name.lower() not in self._tag_ids:
            self._tag_ids[name.lower()] = _required_id(self._json("POST", "/tags", json={"name": name}), "tag")
        return self._tag_ids[name.lower()]

    def _admin_id(self) -> str:
        """The configured admin, else the token's own admin from GET /me (cached)."""
        if self._admin is None:
            self._admin = _required_id(self._json("GET", "/me"), "admin")
        return self._admin

    def _detach(self, conversation_id: str, tag_id: str) -> None:
        """Untag; a 404 just after the read saw the tag means it is already gone."""
        try:
            self._api.request("DELETE", f"/conversations/{conversation_id}/tags/{tag_id}",
                              json={"admin_id": self._admin_id()})
        except ProviderError as exc:
            if exc.status != 404:
                raise

    def _json(self, method: str, path: str, **kwargs) -> dict:
        """A JSON object answer; a retryable ProviderError for anything else."""
        try:
            body = self._api.request(method, path, **kwargs).json()
        except ValueError:
            raise ProviderError(f"intercom: {path} answered non-JSON", retryable=True) from None
        if not isinstance(body, dict):
            raise ProviderError(f"intercom: {path} answered no object", retryable=True)
        return body


def _required_id(body: dict, kind: str) -> str:
    """The `id` of an answered tag or admin; a retryable ProviderError when absent."""
    if body.get("id") in (None, ""):
        raise ProviderError(f"intercom: {kind} answer without an id", retryable=True)
    return str(body["id"])


def _names(values: Sequence[str]) -> list[str]:
    """Stripped tag names, without blanks or case-insensitive repeats, in order."""
    if isinstance(values, str):
        raise TypeError("intercom tags: pass a list of tags, not a string")
    seen: dict[str, str] = {}
    for name in (str(v).strip() for v in values):
        if name:
            seen.setdefault(name.lower(), name)
    return list(seen.values())


def _conversation_id(source_ids: Mapping[str, str]) -> str:
    """`source_ids["conversation_id"]` as a path-safe id; ValueError otherwise."""
    conversation_id = str(source_ids.get("conversation_id") or "").strip()
    if not _CONVERSATION_ID.match(conversation_id):
        raise ValueError(f"intercom tags: source_ids has no usable conversation_id: {dict(source_ids)!r}")
    return conversation_id
