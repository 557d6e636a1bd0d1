"""Zendesk tag writer against a local server that keeps tickets like the Zendesk Tags API does.

The server checks basic auth `{email}/token:{token}`, adds tags on PUT and removes them on DELETE,
honours `safe_update` (409 when `updated_stamp` is not the ticket's `updated_at`) and moves
`updated_at` on every change, so collisions and repeat calls behave as they would against Zendesk.
"""
from __future__ import annotations

import base64
import logging

import pytest

from connectors.common.http import ProviderError
from connectors.zendesk.tags import ZendeskTagWriter
from integration.settings import Settings
from tests.servers.json_api import JsonAPIServer

EMAIL, TOKEN, TICKET = "agent@brightline.example", "zd-api-token-123", "5158"
STAMP = "2026-03-31T23:33:20Z"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class ZendeskTickets:
    """Ticket state and the Tags API routes that change it."""

    def __init__(self, server: JsonAPIServer):
        self.server, self.version = server, 0
        self.before_next_write: list = []  # callables run as if another agent acted just before a write
        self.tickets = {TICKET: {"id": int(TICKET), "status": "open", "tags": ["vip", "billing"], "updated_at": STAMP}}
        server.route("GET", "/api/v2/tickets/<ticket_id>.json", self.show)
        server.route("PUT", "/api/v2/tickets/<ticket_id>/tags.json", self.add)
        server.route("DELETE", "/api/v2/tickets/<ticket_id>/tags.json", self.remove)

    def touch(self, ticket_id: str = TICKET) -> None:
        """Someone else updated the ticket: a new updated_at."""
        self.version += 1
        self.tickets[ticket_id]["updated_at"] = f"2026-04-01T00:00:{self.version:02d}Z"

    def show(self, req, ticket_id):
        ticket = self.tickets.get(ticket_id)
        return (200, {"ticket": dict(ticket, tags=list(ticket["tags"]))}) if ticket else (404, {"error": "RecordNotFound"})

    def add(self, req, ticket_id):
        return self._change(req, ticket_id, lambda tags, new: tags + [t for t in new if t not in tags])

    def remove(self, req, ticket_id):
        return self._change(req, ticket_id, lambda tags, gone: [t for t in tags if t not in gone], status=204)

    def _change(self, req, ticket_id, apply, status: int = 200):
        while self.before_next_write:
            self.before_next_write.pop(0)()
        ticket, body = self.tickets.get(ticket_id), req.get_json()
        if ticket is None:
            return 404, {"error": "RecordNotFound"}
        if body.get("safe_update") == "true" and body.get("updated_stamp") != ticket["updated_at"]:
            return 409, {"error": "UpdateConflict", "description": "Ticket was updated since you read it"}
        ticket["tags"] = apply(ticket["tags"], body["tags"])
        self.touch(ticket_id)
        return status, {"tags": ticket["tags"]} if status == 200 else None


class Recorded(logging.Handler):
    """Collects log messages (the suite may run with pytest's logging plugin, and caplog, disabled)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def zendesk():
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == basic(f"{EMAIL}/token", TOKEN),
                       unauthorized_body={"error": "Couldn't authenticate you"}) as server:
        yield ZendeskTickets(server)


def writer(zendesk: ZendeskTickets, token: str = TOKEN) -> tuple[ZendeskTagWriter, list]:
    waits: list = []
    return ZendeskTagWriter({"base_url": zendesk.server.base_url, "email": EMAIL, "api_token": token},
                            sleep=waits.append), waits


def calls(zendesk: ZendeskTickets) -> list[tuple]:
    return [(r.method, r.path, r.status) for r in zendesk.server.requests]


def test_missing_tags_are_added_with_a_safe_update_and_others_kept(zendesk):
    tags, _ = writer(zendesk)
    tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative", "vip"], remove=[])
    assert zendesk.tickets[TICKET]["tags"] == ["vip", "billing", "sentiment_negative"]
    assert calls(zendesk) == [("GET", f"/api/v2/tickets/{TICKET}.json", 200),
                              ("PUT", f"/api/v2/tickets/{TICKET}/tags.json", 200)]
    assert zendesk.server.requests[1].json == {"tags": ["sentiment_negative"], "updated_stamp": STAMP,
                                               "safe_update": "true"}


def test_only_tags_the_ticket_carries_are_removed(zendesk):
    zendesk.tickets[TICKET]["tags"] = ["vip", "sentiment_positive"]
    tags, _ = writer(zendesk)
    tags.apply_tags({"ticket_id": TICKET}, add=[], remove=["sentiment_positive", "escalation_competitor"])
    assert zendesk.tickets[TICKET]["tags"] == ["vip"]
    [_, delete] = zendesk.server.requests
    assert (delete.method, delete.json["tags"], delete.status) == ("DELETE", ["sentiment_positive"], 204)


def test_add_and_remove_together_read_a_fresh_stamp_for_the_second_write(zendesk):
    zendesk.tickets[TICKET]["tags"] = ["vip", "sentiment_positive"]
    tags, _ = writer(zendesk)
    tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=["sentiment_positive"])
    assert zendesk.tickets[TICKET]["tags"] == ["vip", "sentiment_negative"]
    assert [r.method for r in zendesk.server.requests] == ["GET", "PUT", "GET", "DELETE"]
    assert zendesk.server.requests[3].json["updated_stamp"] == "2026-04-01T00:00:01Z"


def test_a_second_identical_call_only_reads(zendesk):
    tags, _ = writer(zendesk)
    for _ in range(2):
        tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=["sentiment_positive"])
    assert [r.method for r in zendesk.server.requests] == ["GET", "PUT", "GET"]


def test_tags_are_spelled_the_zendesk_way(zendesk):
    tags, _ = writer(zendesk)
    tags.apply_tags({"ticket_id": TICKET}, add=["Sentiment Negative", " VIP ", "sentiment_negative"], remove=[])
    assert zendesk.server.requests[1].json["tags"] == ["sentiment_negative"]


def test_a_collision_reads_the_ticket_again_and_keeps_the_other_change(zendesk):
    def another_agent_tags_it_urgent():
        zendesk.tickets[TICKET]["tags"].append("urgent")
        zendesk.touch()

    zendesk.before_next_write.append(another_agent_tags_it_urgent)
    tags, waits = writer(zendesk)
    tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=[])
    assert zendesk.tickets[TICKET]["tags"] == ["vip", "billing", "urgent", "sentiment_negative"]
    puts = [r for r in zendesk.server.requests if r.method == "PUT"]
    assert [p.status for p in puts] == [409, 200] and waits == []  # a 409 is never re-sent as it was
    assert [r.method for r in zendesk.server.requests].count("GET") == 2
    assert puts[-1].json["updated_stamp"] == "2026-04-01T00:00:01Z"


def test_endless_collisions_end_in_a_retryable_error(zendesk):
    zendesk.server.fail_next(f"/api/v2/tickets/{TICKET}/tags", 409, count=100)
    tags, _ = writer(zendesk)
    with pytest.raises(ProviderError) as raised:
        tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=[])
    assert (raised.value.status, raised.value.retryable) == (409, True)
    assert [r.method for r in zendesk.server.requests].count("GET") == 4


def test_a_closed_ticket_is_left_alone(zendesk):
    zendesk.tickets[TICKET]["status"] = "closed"
    tags, _ = writer(zendesk)
    logger, seen = logging.getLogger("connectors.zendesk.tags"), Recorded()
    logger.addHandler(seen)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=[])
    finally:
        logger.removeHandler(seen)
        logger.setLevel(level)
    assert [r.method for r in zendesk.server.requests] == ["GET"]
    assert any("closed" in message for message in seen.messages)


def test_nothing_to_do_makes_no_request(zendesk):
    tags, _ = writer(zendesk)
    tags.apply_tags({"ticket_id": TICKET}, add=[], remove=["  "])
    assert zendesk.server.requests == []


def test_a_rejected_token_is_401_and_not_retried(zendesk):
    tags, waits = writer(zendesk, token="wrong")
    with pytest.raises(ProviderError) as raised:
        tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=[])
    assert (raised.value.status, raised.value.retryable) == (401, False)
    assert "authenticate" in str(raised.value) and len(zendesk.server.requests) == 1 and waits == []


def test_a_deleted_ticket_is_404_and_not_retried(zendesk):
    tags, waits = writer(zendesk)
    with pytest.raises(ProviderError) as raised:
        tags.apply_tags({"ticket_id": "9999"}, add=["sentiment_negative"], remove=[])
    assert (raised.value.status, raised.value.retryable) == (404, False) and waits == []


def test_429_waits_for_retry_after_then_succeeds(zendesk):
    zendesk.server.fail_next(f"/api/v2/tickets/{TICKET}/tags", 429, headers={"Retry-After": "2"})
    tags, waits = writer(zendesk)
    tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=[])
    assert waits == [2.0] and [r.status for r in zendesk.server.requests] == [200, 429, 200]
    assert "sentiment_negative" in zendesk.tickets[TICKET]["tags"]


def test_5xx_is_retryable_after_bounded_attempts(zendesk):
    zendesk.server.fail_next("/api/v2/tickets/", 503, count=10)
    tags, waits = writer(zendesk)
    with pytest.raises(ProviderError) as raised:
        tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=[])
    assert (raised.value.status, raised.value.retryable) == (503, True)
    assert len(zendesk.server.requests) == 3 and len(waits) == 2


@pytest.mark.parametrize(("missing", "named"), [("base_url", "ZENDESK_SUBDOMAIN"), ("email", "ZENDESK_EMAIL"),
                                                ("api_token", "ZENDESK_API_TOKEN")])
def test_missing_credentials_are_a_clear_error(missing, named):
    api = {"base_url": "https://acme.zendesk.com", "email": EMAIL, "api_token": TOKEN, missing: ""}
    with pytest.raises(ValueError, match=named):
        ZendeskTagWriter(api)


def test_settings_source_api_is_what_the_writer_takes():
    settings = Settings(zendesk_subdomain="acme", zendesk_email=EMAIL, zendesk_api_token=TOKEN, _env_file=None)
    tags = ZendeskTagWriter(settings.source_api("zendesk"))
    assert tags.name == "zendesk" and tags._api.base_url == "https://acme.zendesk.com"
    assert tags._api.auth == (f"{EMAIL}/token", TOKEN)
    with pytest.raises(ValueError, match="ZENDESK_EMAIL, ZENDESK_API_TOKEN"):
        ZendeskTagWriter(Settings(zendesk_subdomain="acme", _env_file=None).source_api("zendesk"))


@pytest.mark.parametrize("source_ids", [{}, {"requester_id": "8447388090494"}, {"ticket_id": ""},
                                        {"ticket_id": "../users/1"}, {"ticket_id": "51 58"}])
def test_source_ids_without_a_ticket_id_are_refused(zendesk, source_ids):
    tags, _ = writer(zendesk)
    with pytest.raises(ValueError, match="ticket_id"):
        tags.apply_tags(source_ids, add=["sentiment_negative"], remove=[])
    assert zendesk.server.requests == []


def test_a_tag_both_added_and_removed_is_refused(zendesk):
    tags, _ = writer(zendesk)
    with pytest.raises(ValueError, match="both added and removed"):
        tags.apply_tags({"ticket_id": TICKET}, add=["Sentiment_Negative"], remove=["sentiment_negative"])
    assert zendesk.server.requests == []
