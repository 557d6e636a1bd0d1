"""Correctly signed bodies that cannot be stored or parsed get 400 and store nothing, on every source.

NUL characters and lone surrogates are refused (not stripped); nesting is bounded before parsing; both
databases. (A chunked body over the limit: tests/integration/test_gunicorn_web.py.)
"""
from __future__ import annotations

import json

import jwt
import pytest
from sqlalchemy import func, select

from connectors.base import MalformedPayload
from connectors.common.body_checks import check_depth, check_storable
from integration.store.models import WebhookEvent
from tests.connectors import signed_sources as ss

POISONS = {"nul": "a\u0000x", "lone-surrogate": "a\ud800x", "lone-low-surrogate": "\udc00"}


@pytest.fixture
def configured(settings):
    ss.configure(settings)
    return settings


def count(app) -> int:
    with app.extensions["undertone"].db.session() as session:
        return session.scalar(select(func.count()).select_from(WebhookEvent))


def post(client, source, body, headers, query=""):
    return client.post(ss.path(source) + (f"?{query}" if query else ""), data=body, headers=headers,
                       base_url=ss.PUBLIC_BASE_URL)


@pytest.mark.parametrize("source", ss.SOURCES)
def test_the_clean_delivery_is_accepted(configured, app, client, source):
    """The premise: each source's unpoisoned delivery is signed correctly and stored."""
    response = post(client, source, *ss.delivery(source, None))
    assert response.status_code == 200, response.get_json()
    assert count(app) >= 1


@pytest.mark.parametrize("poison", POISONS.values(), ids=POISONS.keys())
@pytest.mark.parametrize("source", ss.SOURCES)
def test_nul_or_lone_surrogate_is_refused_with_400(configured, app, client, source, poison):
    response = post(client, source, *ss.delivery(source, poison))
    assert response.status_code == 400, (response.status_code, response.get_json())
    assert "malformed payload" in response.get_json()["error"]
    assert count(app) == 0


@pytest.mark.parametrize("source", ("quo", "generic", "zendesk", "twilio", "intercom", "freshdesk", "hubspot"))
def test_nul_only_in_the_id_is_refused(configured, app, client, source):
    """The issue's example: {"id": "a\\u0000x", ...}."""
    body, headers, query = ss.signed_document(source, {"id": "a\u0000x", "type": "message.received",
                                                        "object": "event", "data": {"object": {"id": "m\u0000"}}})
    response = post(client, source, body, headers, query)
    assert response.status_code == 400, (response.status_code, response.get_json())
    assert count(app) == 0


@pytest.mark.parametrize("source", ss.SOURCES)
def test_deep_nesting_is_refused_before_parsing(configured, app, client, source):
    body = b"[" * 100_000
    headers, query = ss.signed(source, body)
    response = post(client, source, body, headers, query)
    assert response.status_code in (400, 401), (response.status_code, response.get_json())
    if source not in ("aircall", "dialpad"):  # these two carry their signature inside the body
        assert response.status_code == 400 and "nests deeper" in response.get_json()["error"]
    assert count(app) == 0


@pytest.mark.parametrize("source", ("dialpad", "aircall"))
def test_deep_nesting_inside_a_signed_object_is_refused(configured, app, client, source):
    deep = b"[" * 5000 + b"]" * 5000
    if source == "aircall":
        body = b'{"event": "call.ended", "token": "%s", "deep": %s}' % (ss.secret("aircall").encode(), deep)
    else:
        body = jwt.api_jws.encode(b'{"call_id": 1, "deep": %s}' % deep, ss.secret("dialpad"), algorithm="HS256")
        body = body.encode() if isinstance(body, str) else body
    headers, query = ss.signed(source, body)
    response = post(client, source, body, headers, query)
    # Aircall's token is read from the parsed body: one too deep to parse carries no readable token.
    assert response.status_code == (401 if source == "aircall" else 400), (response.status_code, response.get_json())
    assert count(app) == 0


def test_depth_scan_ignores_brackets_inside_strings():
    text = json.dumps({"text": "[" * 1000 + "{" * 1000, "list": [[[1]]]}).encode()
    check_depth(text, "generic", 8)  # no error: the brackets are text
    with pytest.raises(MalformedPayload):
        check_depth(b'{"a":' * 9 + b"1" + b"}" * 9, "generic", 8)


def test_surrogate_pairs_and_escaped_backslashes_are_not_refused():
    check_storable(json.dumps({"text": "thanks \U0001F600", "path": "C:\\u0000dir"}).encode(), "generic")
    with pytest.raises(MalformedPayload):
        check_storable(b'{"text": "x\\ud83d"}', "generic")
