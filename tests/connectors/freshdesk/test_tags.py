"""Freshdesk tag writer against a local server that keeps tickets like Freshdesk API v2.

The server checks basic auth `api_key:X`; `PUT /api/v2/tickets/{id}` replaces the ticket's tag list,
as Freshdesk's Update a Ticket does, so a writer that forgot to read first would lose other tags.
"""
from __future__ import annotations

import base64

import pytest

from connectors.common.http import ProviderError
from connectors.freshdesk.tags import FreshdeskTagWriter
from integration.settings import Settings
from tests.servers.json_api import JsonAPIServer

API_KEY, TICKET = "fd-api-key-abc123", "20417"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Freshdesk:
    """Ticket state and the ticket routes."""

    def __init__(self, server: JsonAPIServer):
        self.server = server
        self.refuse_next_update: tuple | None = None  # (status, body) for the next PUT only
        self.tickets = {TICKET: {"id": int(TICKET), "status": 2, "tags": ["VIP", "billing"]}}
        server.route("GET", "/api/v2/tickets/<ticket_id>", self.show)
        server.route("PUT", "/api/v2/tickets/<ticket_id>", self.update)

    def show(self, req, ticket_id):
        ticket = self.tickets.get(ticket_id)
        return (200, dict(ticket, tags=list(ticket["tags"]))) if ticket else (404, {"code": "not_found"})

    def update(self, req, ticket_id):
        if ticket_id not in self.tickets:
            return 404, {"code": "not_found"}
        if self.refuse_next_update:
            refused, self.refuse_next_update = self.refuse_next_update, None
            return refused
        self.tickets[ticket_id]["tags"] = list(req.get_json()["tags"])  # replaces, like Freshdesk
        return 200, self.tickets[ticket_id]


@pytest.fixture
def freshdesk():
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == basic(API_KEY, "X"),
                       unauthorized_body={"code": "invalid_credentials", "message": "You have to be logged in"}) as server:
        yield Freshdesk(server)


def writer(freshdesk: Freshdesk, key: str = API_KEY) -> tuple[FreshdeskTagWriter, list]:
    waits: list = []
    return FreshdeskTagWriter({"base_url": freshdesk.server.base_url, "api_key": key}, sleep=waits.append), waits


def methods(freshdesk: Freshdesk) -> list[str]:
    return [r.method for r in freshdesk.server.requests]


def test_tags_are_added_to_the_ones_the_ticket_has(freshdesk):
    tags, _ = writer(freshdesk)
    tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative", "escalation_competitor"], remove=[])
    assert freshdesk.tickets[TICKET]["tags"] == ["VIP", "billing", "sentiment_negative", "escalation_competitor"]
    assert [(r.method, r.path) for r in freshdesk.server.requests] == [
        ("GET", f"/api/v2/tickets/{TICKET}"), ("PUT", f"/api/v2/tickets/{TICKET}")]


def test_removed_tags_go_and_other_tags_stay(freshdesk):
    freshdesk.tickets[TICKET]["tags"] = ["VIP", "sentiment_positive", "billing"]
    tags, _ = writer(freshdesk)
    tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=["sentiment_positive", "absent"])
    assert freshdesk.tickets[TICKET]["tags"] == ["VIP", "billing", "sentiment_negative"]
    assert methods(freshdesk) == ["GET", "PUT"]  # one write for both changes


def test_a_second_identical_call_makes_no_put(freshdesk):
    tags, _ = writer(freshdesk)
    for _ in range(2):
        tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=["sentiment_positive"])
    assert methods(freshdesk) == ["GET", "PUT", "GET"]


def test_tags_compare_case_insensitively_and_keep_the_tickets_spelling(freshdesk):
    tags, _ = writer(freshdesk)
    tags.apply_tags({"ticket_id": TICKET}, add=["vip", " Billing "], remove=["SENTIMENT_POSITIVE"])
    assert methods(freshdesk) == ["GET"] and freshdesk.tickets[TICKET]["tags"] == ["VIP", "billing"]
    tags.apply_tags({"ticket_id": TICKET}, add=[], remove=["vip"])
    assert freshdesk.tickets[TICKET]["tags"] == ["billing"]


def test_a_ticket_without_tags_gets_them(freshdesk):
    freshdesk.tickets[TICKET]["tags"] = []
    tags, _ = writer(freshdesk)
    tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative", "sentiment_negative"], remove=[])
    assert freshdesk.server.requests[-1].json == {"tags": ["sentiment_negative"]}


def test_nothing_to_do_makes_no_request(freshdesk):
    tags, _ = writer(freshdesk)
    tags.apply_tags({"ticket_id": TICKET}, add=[" "], remove=[])
    assert freshdesk.server.requests == []


def test_a_wrong_api_key_is_401_and_not_retried(freshdesk):
    tags, waits = writer(freshdesk, key="wrong")
    with pytest.raises(ProviderError) as raised:
        tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=[])
    assert (raised.value.status, raised.value.retryable) == (401, False)
    assert len(freshdesk.server.requests) == 1 and waits == []


def test_a_deleted_ticket_is_404_and_not_retried(freshdesk):
    tags, waits = writer(freshdesk)
    with pytest.raises(ProviderError) as raised:
        tags.apply_tags({"ticket_id": "9999"}, add=["sentiment_negative"], remove=[])
    assert (raised.value.status, raised.value.retryable) == (404, False)
    assert methods(freshdesk) == ["GET"] and waits == []


def test_a_validation_error_on_the_put_is_not_retried(freshdesk):
    freshdesk.refuse_next_update = (400, {"description": "Validation failed",
                                          "errors": [{"field": "tags", "message": "too long", "code": "invalid_value"}]})
    tags, waits = writer(freshdesk)
    with pytest.raises(ProviderError) as raised:
        tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=[])
    assert (raised.value.status, raised.value.retryable, raised.value.message) == (400, False, "too long")
    assert methods(freshdesk) == ["GET", "PUT"] and waits == []


def test_429_waits_for_retry_after_then_succeeds(freshdesk):
    freshdesk.server.fail_next(f"/api/v2/tickets/{TICKET}", 429, headers={"Retry-After": "3"})
    tags, waits = writer(freshdesk)
    tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=[])
    assert waits == [3.0] and [r.status for r in freshdesk.server.requests] == [429, 200, 200]
    assert "sentiment_negative" in freshdesk.tickets[TICKET]["tags"]


def test_5xx_is_retryable_after_bounded_attempts(freshdesk):
    freshdesk.server.fail_next("/api/v2/tickets/", 502, count=10)
    tags, waits = writer(freshdesk)
    with pytest.raises(ProviderError) as raised:
        tags.apply_tags({"ticket_id": TICKET}, add=["sentiment_negative"], remove=[])
    assert (raised.value.status, raised.value.retryable) == (502, True)
    assert len(freshdesk.server.requests) == 3 and len(waits) == 2


@pytest.mark.parametrize(("api", "named"), [({"base_url": "", "api_key": API_KEY}, "FRESHDESK_DOMAIN"),
                                            ({"base_url": "https://acme.freshdesk.com", "api_key": ""}, "FRESHDESK_API_KEY")])
def test_missing_credentials_are_a_clear_error(api, named):
    with pytest.raises(ValueError, match=named):
        FreshdeskTagWriter(api)


def test_settings_source_api_is_what_the_writer_takes():
    settings = Settings(freshdesk_domain="acme.freshdesk.com", freshdesk_api_key=API_KEY, _env_file=None)
    tags = FreshdeskTagWriter(settings.source_api("freshdesk"))
    assert tags.name == "freshdesk" and tags._api.base_url == "https://acme.freshdesk.com"
    assert tags._api.auth == (API_KEY, "X")
    with pytest.raises(ValueError, match="FRESHDESK_API_KEY"):
        FreshdeskTagWriter(Settings(freshdesk_domain="acme.freshdesk.com", _env_file=None).source_api("freshdesk"))


@pytest.mark.parametrize("source_ids", [{}, {"requester_id": "80012345678"}, {"ticket_id": None},
                                        {"ticket_id": "20417?x=1"}])
def test_source_ids_without_a_ticket_id_are_refused(freshdesk, source_ids):
    tags, _ = writer(freshdesk)
    with pytest.raises(ValueError, match="ticket_id"):
        tags.apply_tags(source_ids, add=["sentiment_negative"], remove=[])
    assert freshdesk.server.requests == []


def test_a_tag_both_added_and_removed_is_refused(freshdesk):
    tags, _ = writer(freshdesk)
    with pytest.raises(ValueError, match="both added and removed"):
        tags.apply_tags({"ticket_id": TICKET}, add=["VIP"], remove=["vip"])
    assert freshdesk.server.requests == []
