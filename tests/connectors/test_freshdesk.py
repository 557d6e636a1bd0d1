"""Freshdesk connector: token checks, event ids, parsing of the rule template, and API hydration.

Fixture bodies are what the documented automation-rule template (docs/sources/freshdesk.md) renders
to. Freshdesk signs nothing, so "signing" here means attaching the shared token the way a rule can:
a custom header, basic auth, or `?token=` in the URL. Hydration runs against a local server
answering like Freshdesk API v2.
"""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pydantic
import pytest
from sqlalchemy import select

from connectors.base import InboundEvent, Interaction, MalformedPayload, SignatureInvalid, WebhookRequest
from connectors.freshdesk import TEMPLATE_KEYS, FreshdeskConnector
from connectors.http import ProviderError
from integration.models import WebhookEvent
from tests.servers.json_api import JsonAPIServer

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "freshdesk"
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))
TOKEN = "fd-webhook-token-0001-c3VwZXJzZWNyZXQ"
TOKEN_2 = "fd-webhook-token-0002-cm90YXRlZA"
API_KEY = "fd-api-key-abc123"
URL = "https://undertone.example/webhooks/freshdesk"
TICKET = "4821"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def with_header(token: str = TOKEN) -> dict:
    return {"X-Undertone-Token": token}


def with_basic(token: str = TOKEN) -> dict:
    return {"Authorization": basic("undertone", token)}


def with_query(token: str = TOKEN) -> str:
    return f"{URL}?token={token}"


def connector(*secrets: str, api: dict | None = None) -> FreshdeskConnector:
    return FreshdeskConnector(secrets or (TOKEN,), api=api)


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def payload(name: str) -> dict:
    return json.loads(fixture(name))


def request(body: bytes, headers: dict | None = None, url: str = URL) -> WebhookRequest:
    return WebhookRequest(body=body, headers=headers or {}, url=url)


def event_of(body: dict | bytes) -> InboundEvent:
    """The stored event for a body, as events() would key it."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    [event] = connector().events(request(raw, with_header()))
    return event


def parse_one(body: dict | bytes, **options) -> Interaction:
    """The interaction an event gives (an agent's reply also gives a touch, checked elsewhere)."""
    item, *touches = connector(**options).parse(event_of(body))
    assert all(t.kind == "agent_reply" for t in touches)
    return item


# --- verify ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_NAMES)
@pytest.mark.parametrize("how", ["header", "basic-password", "basic-user", "query"])
def test_each_way_of_sending_the_token_verifies(name, how):
    body = fixture(name)
    req = {
        "header": request(body, with_header()),
        "basic-password": request(body, with_basic()),
        "basic-user": request(body, {"Authorization": basic(TOKEN, "X")}),  # an "API key" style login
        "query": request(body, url=with_query()),
    }[how]
    connector().verify(req)


def test_header_name_is_case_insensitive():
    connector().verify(request(fixture("customer_reply"), {"x-undertone-token": TOKEN}))
    connector().verify(request(fixture("customer_reply"), {"X-UNDERTONE-TOKEN": TOKEN}))


@pytest.mark.parametrize(
    "req",
    [
        request(b"{}", with_header("wrong")),
        request(b"{}", with_basic("wrong")),
        request(b"{}", url=with_query("wrong")),
        request(b"{}", with_header(TOKEN[:-1])),
        request(b"{}", with_header(TOKEN + "x")),
        request(b"{}", {"X-Undertone-Token": "wrong", "Authorization": "Bearer " + TOKEN}),
    ],
    ids=["header", "basic", "query", "prefix", "longer", "bearer-is-not-basic"],
)
def test_a_wrong_token_fails(req):
    with pytest.raises(SignatureInvalid, match="does not match"):
        connector().verify(req)


@pytest.mark.parametrize(
    "req",
    [
        request(b"{}"),
        request(b"{}", {"X-Undertone-Token": ""}),
        request(b"{}", {"Authorization": "Basic not-base64!"}),
        request(b"{}", {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe").decode()}),
        request(b"{}", url=URL + "?tok=" + TOKEN),
        request(b"{}", {"X-Undertone-Token": TOKEN * 20}),
    ],
    ids=["nothing", "empty-header", "bad-basic", "non-utf8-basic", "other-param", "oversized"],
)
def test_a_missing_or_malformed_token_fails(req):
    with pytest.raises(SignatureInvalid):
        connector().verify(req)


@pytest.mark.parametrize("token", [TOKEN, TOKEN_2])
def test_both_tokens_verify_during_rotation(token):
    connector(TOKEN, TOKEN_2).verify(request(b"{}", with_header(token)))
    with pytest.raises(SignatureInvalid):
        connector(TOKEN_2 if token == TOKEN else TOKEN).verify(request(b"{}", with_header(token)))


def test_any_one_good_credential_is_enough():
    connector().verify(request(b"{}", {"X-Undertone-Token": "stale", "Authorization": basic("u", TOKEN)}))


def test_without_secrets_nothing_verifies():
    with pytest.raises(SignatureInvalid):
        FreshdeskConnector(()).verify(request(b"{}", {"X-Undertone-Token": ""}, url=URL + "?token="))
    with pytest.raises(SignatureInvalid):
        FreshdeskConnector(()).verify(request(b"{}", with_header()))


# --- events and handles ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind"), [("ticket_created", "ticket.created"), ("customer_reply", "ticket.updated"),
                                            ("agent_reply", "ticket.updated"), ("status_changed", "ticket.updated")])
def test_event_id_is_ticket_updated_at_and_a_body_digest(name, kind):
    body = fixture(name)
    [event] = connector().events(request(body, with_header()))
    ticket_id, updated_at, digest = event.event_id.split(":", 1)[0], payload(name)["updated_at"], event.event_id[-12:]
    assert event.event_id == f"{ticket_id}:{updated_at}:{digest}" and ticket_id == TICKET
    assert re.fullmatch(r"[0-9a-f]{12}", digest)
    assert (event.event_type, event.body) == (kind, body)


def test_a_redelivery_keeps_its_id_and_another_reply_in_the_same_second_gets_its_own():
    body = fixture("customer_reply")
    first, again = event_of(body), event_of(body)
    assert first.event_id == again.event_id
    other = payload("customer_reply")
    other["latest_public_comment"] = "Dana Whitfield : <div>One more thing.</div>"
    assert event_of(other).event_id != first.event_id


def test_kind_falls_back_to_the_triggered_event():
    body = payload("ticket_created")
    body.pop("kind")
    assert event_of(body).event_type == "ticket.created"
    body["triggered_event"] = "{status:{from:Open,to:Pending}}"
    assert event_of(body).event_type == "ticket.updated"


def test_a_missing_updated_at_still_gives_a_stable_id():
    body = payload("customer_reply")
    body["updated_at"] = "{{ticket.updated_at}}"  # left unrendered by Freshdesk
    assert event_of(body).event_id.startswith(f"{TICKET}:-:") and event_of(body).event_id == event_of(body).event_id


MALFORMED_BODIES = [
    b"not json", b"", b"\xff\xfe\x00garbage", b"[1, 2]", b'"4821"', b"{}",
    b'{"ticket_id": "{{ticket.id}}"}', b'{"ticket_id": "48a21"}', b'{"ticket_id": ""}', b'{"ticket_id": true}',
    b'{"kind": "created", "description": "no ticket id "here"}',
]


@pytest.mark.parametrize("body", MALFORMED_BODIES)
def test_an_authentic_but_unreadable_body_is_malformed(body):
    req = request(body, with_header())
    connector().verify(req)
    with pytest.raises(MalformedPayload):
        connector().events(req)


def test_a_numeric_ticket_id_is_accepted():
    body = payload("customer_reply")
    body["ticket_id"] = 4821
    assert event_of(body).event_id.startswith(f"{TICKET}:")


@pytest.mark.parametrize(("event_type", "handled"), [("ticket.created", True), ("ticket.updated", True),
                                                     ("ticket.deleted", False), ("", False)])
def test_handles_both_template_kinds(event_type, handled):
    assert connector().handles(event_type) is handled


# --- parse ----------------------------------------------------------------------------------


def test_parse_ticket_created():
    item = parse_one(fixture("ticket_created"), api={"base_url": "https://brightline.freshdesk.com"})
    assert (item.source, item.thread_key, item.channel, item.direction) == (
        "freshdesk", f"ticket:{TICKET}", "email", "inbound")
    [turn] = item.turns
    assert (turn.speaker, turn.id) == ("customer", "description")
    assert turn.text == ("My water heater installation was cancelled and I was promised a refund within "
                         "5 business days.\nIt has not arrived — please call me.")
    assert turn.at == item.occurred_at == datetime(2026, 3, 2, 15, 12, 7, tzinfo=timezone.utc)
    assert item.customer.phone == "+13125550147" and item.customer.email == "dana.whitfield@example.com"
    assert (item.customer.name, item.customer.provider_id) == ("Dana Whitfield", "80012345678")
    assert item.append_turns is True and item.summary is None
    assert item.source_ids == {"ticket_id": TICKET}
    assert item.url == "https://brightline.freshdesk.com/helpdesk/tickets/4821"  # {{ticket.url}} as sent


def test_parse_customer_reply_drops_the_author_prefix_and_the_quoted_history():
    item = parse_one(fixture("customer_reply"))
    [turn] = item.turns
    assert turn.speaker == "customer"
    assert turn.text == "Three weeks and still no refund. Nobody has called me back.\nI will dispute the charge with my bank."
    assert "Dana Whitfield :" not in turn.text and "being processed" not in turn.text
    assert turn.id.startswith("c:") and len(turn.id) == 18
    assert turn.at == datetime(2026, 3, 4, 9, 12, 30, tzinfo=timezone.utc)
    assert item.occurred_at == datetime(2026, 3, 2, 15, 12, 7, tzinfo=timezone.utc)
    assert item.direction is None and item.append_turns is True


def test_parse_agent_reply():
    [turn] = parse_one(fixture("agent_reply")).turns
    assert turn.speaker == "agent" and turn.text.startswith("Hi Dana,") and "approved today" in turn.text


def test_the_same_comment_sent_again_later_keeps_its_turn_id():
    body = payload("customer_reply")
    first = parse_one(body).turns[0].id
    body.update(updated_at="2026-03-04T11:00:00Z", status="Pending")  # e.g. a status change re-sends it
    assert parse_one(body).turns[0].id == first
    body["latest_public_comment"] = "Dana Whitfield : <div>Another message.</div>"
    assert parse_one(body).turns[0].id != first


@pytest.mark.parametrize(("prefix", "speaker"), [("Dana Whitfield", "customer"), ("dana  whitfield", "customer"),
                                                 ("Sam Ortega", "agent")])
def test_without_an_author_the_comment_prefix_is_compared_with_the_requester(prefix, speaker):
    body = payload("customer_reply")
    body.pop("author")
    body["latest_public_comment"] = f"{prefix} : <div>Any news?</div>"
    [turn] = parse_one(body).turns
    assert (turn.speaker, turn.text) == (speaker, "Any news?")


@pytest.mark.parametrize(("author", "prefix", "speaker"), [("agent", "Dana Whitfield", "agent"), ("agent", "", "agent"),
                                                           ("customer", "Sam Ortega", "customer")])
def test_the_rules_author_wins_over_the_comment_prefix(author, prefix, speaker):
    body = payload("customer_reply")
    body.update(author=author, latest_public_comment=(f"{prefix} : " if prefix else "") + "<div>Any news?</div>")
    assert parse_one(body).turns[0].speaker == speaker


def test_a_plain_text_comment_keeps_a_colon_in_its_first_words():
    body = payload("customer_reply")
    body["latest_public_comment"] = "Order 123 : still missing"
    assert parse_one(body).turns[0].text == "Order 123 : still missing"


def test_a_reply_equal_to_the_description_reuses_the_description_turn():
    body = payload("customer_reply")
    body["latest_public_comment"] = "Dana Whitfield : " + body["description"]
    assert parse_one(body).turns[0].id == "description"


def test_an_outbound_email_ticket_is_the_agents():
    body = payload("ticket_created")
    body.update(source="Outbound Email")
    body.pop("author")
    item = parse_one(body)
    assert (item.direction, item.turns[0].speaker, item.channel) == ("outbound", "agent", "email")


def test_empty_and_unrendered_placeholders_are_absent_not_text():
    item = parse_one(fixture("status_changed"), api={"base_url": "https://brightline.freshdesk.com"})
    assert item.turns is None and item.channel == "ticket"
    assert (item.customer.email, item.customer.phone, item.customer.provider_id) == (None, None, None)
    assert item.customer.name == "Dana Whitfield"
    assert item.url == "https://brightline.freshdesk.com/a/tickets/4821"  # {{ticket.url}} came unrendered


def test_a_body_whose_free_text_broke_the_json_is_still_accepted():
    broken = fixture("customer_reply").replace(b"Nobody has called", b'Nobody has "called')
    with pytest.raises(ValueError):
        json.loads(broken)
    [event] = connector().events(request(broken, with_header()))
    assert event.event_id.startswith(f"{TICKET}:2026-03-04T09:12:30Z:") and event.event_type == "ticket.updated"
    [item] = connector().parse(event)
    assert item.thread_key == f"ticket:{TICKET}" and item.turns is None  # hydration fetches the text
    assert (item.customer.email, item.customer.phone) == ("dana.whitfield@example.com", "+13125550147")


def test_the_documented_template_has_exactly_the_keys_the_connector_reads():
    doc = (ROOT / "docs" / "sources" / "freshdesk.md").read_text()
    block = re.search(r"```json\n(\{.*?\})\n```", doc, re.S).group(1)
    template = json.loads(block)
    assert tuple(template) == TEMPLATE_KEYS
    assert (template["ticket_id"], template["kind"], template["author"]) == ("{{ticket.id}}", "updated", "customer")


# --- hydration ------------------------------------------------------------------------------

REQUESTER = {"id": 80012345678, "name": "Dana Whitfield", "email": "dana.whitfield@example.com",
             "phone": None, "mobile": "+1 312 555 0147"}
CONVERSATIONS = [
    {"id": 101, "body": "<div>Hi Dana, we are on it.</div>", "body_text": "Hi Dana, we are on it.",
     "incoming": False, "private": False, "created_at": "2026-03-03T09:02:00Z"},
    {"id": 102, "body": "<div>Still waiting. This is ridiculous.</div><blockquote>Hi Dana, we are on it.</blockquote>",
     "body_text": "Still waiting.", "incoming": True, "private": False, "created_at": "2026-03-05T17:40:00Z"},
    {"id": 103, "body": "<div>Internal: approve refund</div>", "incoming": False, "private": True,
     "created_at": "2026-03-05T17:45:00Z"},
]


@pytest.fixture
def fd_api():
    """A local server answering like Freshdesk API v2, checking basic auth `api_key:X`."""
    expected = basic(API_KEY, "X")
    with JsonAPIServer(auth=lambda h: h.get("Authorization") == expected) as server:
        server.conversations = list(CONVERSATIONS)
        server.route("GET", f"/api/v2/tickets/{TICKET}", lambda req: (200, {
            "id": int(TICKET), "description": "<div>My refund never came.</div>", "description_text": "My refund never came.",
            "created_at": "2026-03-02T15:12:07Z", "requester": REQUESTER}))
        server.route("GET", f"/api/v2/tickets/{TICKET}/conversations", lambda req: (200, _page(server, req)))
        yield server


def _page(server: JsonAPIServer, req) -> list:
    per_page, page = int(req.args.get("per_page", 30)), int(req.args.get("page", 1))
    return server.conversations[(page - 1) * per_page: page * per_page]


def hydrating(server: JsonAPIServer, key: str = API_KEY) -> tuple[FreshdeskConnector, list]:
    waits: list = []
    fd = connector(api={"base_url": server.base_url, "api_key": key})
    fd.sleep = waits.append
    return fd, waits


def hydrate(fd: FreshdeskConnector, body: dict | bytes) -> list:
    event = event_of(body)
    return fd.hydrate(fd.parse(event), event)


def test_hydration_fills_the_requester_and_the_latest_public_reply(fd_api):
    fd, _ = hydrating(fd_api)
    [item] = hydrate(fd, fixture("status_changed"))
    assert (item.customer.email, item.customer.phone) == ("dana.whitfield@example.com", "+13125550147")
    assert (item.customer.name, item.customer.provider_id) == ("Dana Whitfield", "80012345678")
    [turn] = item.turns  # the private note (103) is skipped; 102 is the newest public one
    assert (turn.speaker, turn.id, turn.text) == ("customer", "102", "Still waiting. This is ridiculous.")
    assert turn.at == datetime(2026, 3, 5, 17, 40, tzinfo=timezone.utc)
    assert [(r.path, r.query.get("include")) for r in fd_api.requests] == [
        (f"/api/v2/tickets/{TICKET}", ["requester"]), (f"/api/v2/tickets/{TICKET}/conversations", None)]


def test_a_complete_webhook_needs_no_api_call(fd_api):
    fd, _ = hydrating(fd_api)
    assert hydrate(fd, fixture("customer_reply")) == [parse_one(fixture("customer_reply"))]
    assert fd_api.requests == []


def test_a_created_event_without_description_takes_it_from_the_ticket(fd_api):
    body = payload("ticket_created")
    body["description"] = ""
    fd, _ = hydrating(fd_api)
    [item] = hydrate(fd, body)
    assert [(t.speaker, t.id, t.text) for t in item.turns] == [("customer", "description", "My refund never came.")]
    assert item.customer.phone == "+13125550147"  # the webhook's own value is kept
    assert len(fd_api.requests) == 1


def test_conversations_are_read_across_pages(fd_api):
    fd_api.conversations = [{"id": i, "body": f"<p>agent note {i}</p>", "incoming": False, "private": False}
                            for i in range(1, 101)] + [{"id": 555, "body": "<p>Page two.</p>", "incoming": True}]
    fd, _ = hydrating(fd_api)
    body = payload("status_changed")
    body["requester_email"] = "dana.whitfield@example.com"  # only the text is missing
    [item] = hydrate(fd, body)
    assert [(t.id, t.text) for t in item.turns] == [("555", "Page two.")]
    assert [r.query["page"] for r in fd_api.requests] == [["1"], ["2"]]


def test_a_wrong_api_key_is_401_and_not_retryable(fd_api):
    fd, waits = hydrating(fd_api, key="wrong")
    with pytest.raises(ProviderError) as raised:
        hydrate(fd, fixture("status_changed"))
    assert (raised.value.status, raised.value.retryable) == (401, False) and waits == []


def test_a_deleted_ticket_degrades_to_the_webhook(fd_api):
    body = payload("status_changed")
    body["ticket_id"] = "9999"
    fd, _ = hydrating(fd_api)
    [item] = hydrate(fd, body)
    assert item.turns is None and item.customer.name == "Dana Whitfield"
    assert {r.status for r in fd_api.requests} == {404}


def test_429_waits_for_retry_after_then_succeeds(fd_api):
    fd_api.fail_next("/api/v2/tickets/", 429, headers={"Retry-After": "3"})
    fd, waits = hydrating(fd_api)
    [item] = hydrate(fd, fixture("status_changed"))
    assert item.customer.email == "dana.whitfield@example.com" and item.turns[0].id == "102"
    assert waits == [3.0] and [r.status for r in fd_api.requests] == [429, 200, 200]


def test_5xx_is_retryable_after_bounded_attempts(fd_api):
    fd_api.fail_next("/api/v2/tickets/", 502, count=10)
    fd, waits = hydrating(fd_api)
    with pytest.raises(ProviderError) as raised:
        hydrate(fd, fixture("status_changed"))
    assert (raised.value.status, raised.value.retryable) == (502, True)
    assert len(fd_api.requests) == 3 and len(waits) == 2


def test_without_credentials_hydration_is_skipped(fd_api):
    fd = connector(api={"base_url": fd_api.base_url})
    [item] = hydrate(fd, fixture("status_changed"))
    assert item.turns is None and fd_api.requests == []


# --- the web path ---------------------------------------------------------------------------


def stored_events(app) -> list[WebhookEvent]:
    with app.extensions["undertone"].db.session() as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def test_web_stores_an_authenticated_delivery_and_refuses_a_bad_one(settings, app, client):
    settings.freshdesk_webhook_token = pydantic.SecretStr(f"{TOKEN_2},{TOKEN}")
    body = fixture("customer_reply")
    json_type = {"Content-Type": "application/json"}
    assert client.post("/webhooks/freshdesk", data=body, headers={**json_type, **with_header("wrong")}).status_code == 401
    assert client.post("/webhooks/freshdesk?token=wrong", data=body, headers=json_type).status_code == 401
    assert stored_events(app) == []
    response = client.post(f"/webhooks/freshdesk?token={TOKEN}", data=body, headers=json_type)
    assert response.status_code == 200, response.get_json()
    again = client.post("/webhooks/freshdesk", data=body, headers={**json_type, **with_basic(TOKEN_2)})
    assert again.get_json()["duplicates"] == 1
    [event] = stored_events(app)
    assert (event.source, event.event_type, event.status) == ("freshdesk", "ticket.updated", "pending")
    assert event.event_id.startswith(f"{TICKET}:2026-03-04T09:12:30Z:") and event.body == body
    assert "authorization" not in event.headers
