"""Intercom tag writer against a local server that keeps tags and conversations like Intercom's API.

The server checks the bearer token, creates a tag on `POST /tags` only when no tag has that name
(case-insensitively, as documented), attaches and detaches tags by id with an `admin_id`, and answers
`GET /me` with the token's admin.
"""
from __future__ import annotations

import pytest

from connectors.common.http import ProviderError
from connectors.intercom.tags import IntercomTagWriter
from integration.settings import Settings
from tests.servers.json_api import JsonAPIServer

TOKEN, ADMIN, CONVERSATION = "dG9rOmludGVyY29tLXRlc3Q=", "991267459", "215471234567891"
ERROR_401 = {"type": "error.list", "errors": [{"code": "unauthorized", "message": "Access Token Invalid"}]}
NOT_FOUND = {"type": "error.list", "errors": [{"code": "not_found", "message": "Conversation not found"}]}


class Intercom:
    """Workspace tags, conversations and the routes that change them."""

    def __init__(self, server: JsonAPIServer):
        self.server = server
        self.tags = {"7": "VIP", "8": "sentiment_positive"}  # id -> name
        self.conversations = {CONVERSATION: ["7", "8"], "215471234567892": []}  # id -> tag ids
        server.route("GET", "/me", lambda req: (200, {"type": "admin", "id": ADMIN, "name": "Ciaran Lee"}))
        server.route("POST", "/tags", self.create_tag)
        server.route("GET", "/conversations/<cid>", self.show)
        server.route("POST", "/conversations/<cid>/tags", self.attach)
        server.route("DELETE", "/conversations/<cid>/tags/<tag_id>", self.detach)

    def names(self, cid: str = CONVERSATION) -> list[str]:
        return [self.tags[t] for t in self.conversations[cid]]

    def tag(self, tag_id: str) -> dict:
        return {"type": "tag", "id": tag_id, "name": self.tags[tag_id]}

    def create_tag(self, req):
        name = req.get_json()["name"]
        found = [i for i, n in self.tags.items() if n.lower() == name.lower()]
        tag_id = found[0] if found else str(100 + len(self.tags))
        self.tags.setdefault(tag_id, name)
        return 200, self.tag(tag_id)

    def show(self, req, cid):
        if cid not in self.conversations:
            return 404, NOT_FOUND
        return 200, {"type": "conversation", "id": cid, "tags": {"type": "tag.list", "tags": [
            dict(self.tag(t), applied_at=1663597223) for t in self.conversations[cid]]}}

    def attach(self, req, cid):
        body = req.get_json()
        if cid not in self.conversations or body.get("id") not in self.tags or not body.get("admin_id"):
            return 404, NOT_FOUND
        self.conversations[cid].append(body["id"])
        return 200, self.tag(body["id"])

    def detach(self, req, cid, tag_id):
        if cid not in self.conversations or tag_id not in self.conversations[cid]:
            return 404, {"type": "error.list", "errors": [{"code": "tag_not_found", "message": "Tag not found"}]}
        self.conversations[cid].remove(tag_id)
        return 200, self.tag(tag_id)


@pytest.fixture
def intercom():
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == f"Bearer {TOKEN}", unauthorized_body=ERROR_401) as server:
        yield Intercom(server)


def writer(intercom: Intercom, token: str = TOKEN, **extra: str) -> tuple[IntercomTagWriter, list]:
    waits: list = []
    return IntercomTagWriter({"base_url": intercom.server.base_url, "access_token": token, **extra},
                             sleep=waits.append), waits


def calls(intercom: Intercom) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in intercom.server.requests]


def test_a_new_tag_is_created_and_attached_by_the_tokens_admin(intercom):
    tags, _ = writer(intercom)
    tags.apply_tags({"conversation_id": CONVERSATION}, add=["sentiment_negative"], remove=[])
    assert intercom.names() == ["VIP", "sentiment_positive", "sentiment_negative"]
    assert calls(intercom) == [("GET", f"/conversations/{CONVERSATION}"), ("POST", "/tags"), ("GET", "/me"),
                               ("POST", f"/conversations/{CONVERSATION}/tags")]
    assert intercom.server.requests[1].json == {"name": "sentiment_negative"}
    assert intercom.server.requests[3].json == {"id": "102", "admin_id": ADMIN}
    assert all(r.headers["Intercom-Version"] == "2.14" for r in intercom.server.requests)


def test_only_carried_tags_are_detached_and_others_kept(intercom):
    tags, _ = writer(intercom)
    tags.apply_tags({"conversation_id": CONVERSATION}, add=[], remove=["sentiment_positive", "escalation_competitor"])
    assert intercom.names() == ["VIP"]
    assert calls(intercom)[-1] == ("DELETE", f"/conversations/{CONVERSATION}/tags/8")
    assert intercom.server.requests[-1].json == {"admin_id": ADMIN}
    assert ("POST", "/tags") not in calls(intercom)  # a tag's id for removal comes from the conversation


def test_tag_ids_and_the_admin_are_looked_up_once_per_writer(intercom):
    tags, _ = writer(intercom)
    for cid in (CONVERSATION, "215471234567892"):
        tags.apply_tags({"conversation_id": cid}, add=["sentiment_negative", "escalation_competitor"], remove=[])
    assert intercom.names("215471234567892") == ["sentiment_negative", "escalation_competitor"]
    assert calls(intercom).count(("POST", "/tags")) == 2 and calls(intercom).count(("GET", "/me")) == 1
    assert len(intercom.tags) == 4  # one workspace tag per name


def test_a_configured_admin_id_needs_no_lookup(intercom):
    tags, _ = writer(intercom, admin_id="814860")
    tags.apply_tags({"conversation_id": CONVERSATION}, add=["sentiment_negative"], remove=["sentiment_positive"])
    assert ("GET", "/me") not in calls(intercom)
    writes = [r for r in intercom.server.requests if r.method in ("POST", "DELETE") and r.path != "/tags"]
    assert {r.json["admin_id"] for r in writes} == {"814860"}


def test_a_second_identical_call_only_reads(intercom):
    tags, _ = writer(intercom)
    for _ in range(2):
        tags.apply_tags({"conversation_id": CONVERSATION}, add=["sentiment_negative"], remove=["sentiment_positive"])
    assert [m for m, _ in calls(intercom)] == ["GET", "POST", "GET", "POST", "DELETE", "GET"]


def test_names_match_case_insensitively_like_intercom(intercom):
    tags, _ = writer(intercom)
    tags.apply_tags({"conversation_id": CONVERSATION}, add=["vip", "VIP "], remove=["Sentiment_Positive"])
    assert intercom.names() == ["VIP"]
    assert [m for m, _ in calls(intercom)] == ["GET", "GET", "DELETE"]  # the admin lookup, then the untag


def test_a_tag_detached_meanwhile_counts_as_removed(intercom):
    intercom.server.fail_next(f"/conversations/{CONVERSATION}/tags/", 404, body={"type": "error.list"})
    tags, _ = writer(intercom)
    tags.apply_tags({"conversation_id": CONVERSATION}, add=[], remove=["sentiment_positive"])
    assert intercom.server.requests[-1].status == 404


def test_a_rejected_token_is_401_and_not_retried(intercom):
    tags, waits = writer(intercom, token="wrong")
    with pytest.raises(ProviderError) as raised:
        tags.apply_tags({"conversation_id": CONVERSATION}, add=["sentiment_negative"], remove=[])
    assert (raised.value.status, raised.value.retryable, raised.value.message) == (401, False, "Access Token Invalid")
    assert len(intercom.server.requests) == 1 and waits == []


def test_a_deleted_conversation_is_404_and_not_retried(intercom):
    tags, waits = writer(intercom)
    with pytest.raises(ProviderError) as raised:
        tags.apply_tags({"conversation_id": "999"}, add=["sentiment_negative"], remove=[])
    assert (raised.value.status, raised.value.retryable) == (404, False) and waits == []
    assert calls(intercom) == [("GET", "/conversations/999")]


def test_429_waits_for_retry_after_then_succeeds(intercom):
    intercom.server.fail_next("/tags", 429, headers={"Retry-After": "2"})
    tags, waits = writer(intercom)
    tags.apply_tags({"conversation_id": CONVERSATION}, add=["sentiment_negative"], remove=[])
    assert waits == [2.0] and "sentiment_negative" in intercom.names()
    assert [r.status for r in intercom.server.requests] == [200, 429, 200, 200, 200]


def test_5xx_is_retryable_after_bounded_attempts(intercom):
    intercom.server.fail_next("/conversations/", 502, count=10)
    tags, waits = writer(intercom)
    with pytest.raises(ProviderError) as raised:
        tags.apply_tags({"conversation_id": CONVERSATION}, add=["sentiment_negative"], remove=[])
    assert (raised.value.status, raised.value.retryable) == (502, True)
    assert len(intercom.server.requests) == 3 and len(waits) == 2


def test_missing_credentials_are_a_clear_error():
    with pytest.raises(ValueError, match="INTERCOM_ACCESS_TOKEN"):
        IntercomTagWriter({"base_url": "https://api.intercom.io", "access_token": ""})
    with pytest.raises(ValueError, match="INTERCOM_ACCESS_TOKEN"):
        IntercomTagWriter(Settings(_env_file=None).source_api("intercom"))


def test_settings_source_api_is_what_the_writer_takes():
    tags = IntercomTagWriter(Settings(intercom_access_token=TOKEN, _env_file=None).source_api("intercom"))
    assert tags.name == "intercom" and tags._api.base_url == "https://api.intercom.io"
    assert tags._api.headers["Authorization"] == f"Bearer {TOKEN}"


def test_intercom_admin_id_setting_reaches_the_writer(intercom, monkeypatch):
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("INTERCOM_API_BASE", intercom.server.base_url)
    monkeypatch.setenv("INTERCOM_ADMIN_ID", "814860")
    tags = IntercomTagWriter(Settings(_env_file=None).source_api("intercom"))
    tags.apply_tags({"conversation_id": CONVERSATION}, add=["sentiment_negative"], remove=[])
    assert ("GET", "/me") not in calls(intercom)
    assert intercom.server.requests[-1].json["admin_id"] == "814860"


@pytest.mark.parametrize("source_ids", [{}, {"contact_id": "6650f1a2c3d4e5f601234567"}, {"conversation_id": " "},
                                        {"conversation_id": "1/../../admins"}])
def test_source_ids_without_a_conversation_id_are_refused(intercom, source_ids):
    tags, _ = writer(intercom)
    with pytest.raises(ValueError, match="conversation_id"):
        tags.apply_tags(source_ids, add=["sentiment_negative"], remove=[])
    assert intercom.server.requests == []


def test_a_tag_both_added_and_removed_is_refused(intercom):
    tags, _ = writer(intercom)
    with pytest.raises(ValueError, match="both added and removed"):
        tags.apply_tags({"conversation_id": CONVERSATION}, add=["VIP"], remove=["vip"])
    assert intercom.server.requests == []
