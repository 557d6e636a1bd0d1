"""The insights HTTP API: tokens, 401/400/429, answers equal to the library's, the OpenAPI document."""
from __future__ import annotations

import pytest

from integration.store import api_tokens
from tests.integration.insights.dataset import L1


@pytest.fixture
def token(app):
    return api_tokens.create(app.extensions["undertone"].db, "tests")


def get(client, path, token=None, **query):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(f"/api/v1/insights/{path}", query_string=query, headers=headers)


def test_no_token_or_a_bad_one_is_401_json(client, data):
    for headers in ({}, {"Authorization": "Bearer ut_nope"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/insights/mix", headers=headers)
        assert response.status_code == 401 and response.json["error"] == "Unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_stops_working(client, app, token, data):
    assert get(client, "mix", token).status_code == 200
    api_tokens.revoke(app.extensions["undertone"].db, "tests")
    assert get(client, "mix", token).status_code == 401


@pytest.mark.parametrize("query, parameter", [
    ({"days": "0"}, "days"), ({"days": "soon"}, "days"), ({"since": "yesterday"}, "since"),
    ({"days": "7", "since": "2026-01-01"}, "days"), ({"limit": "100000"}, "limit"),
    ({"sentiment": "furious"}, "sentiment"), ({"colour": "red"}, "colour"),
])
def test_bad_parameters_are_400_naming_the_parameter(client, token, query, parameter):
    response = get(client, "themes", token, **query)
    assert response.status_code == 400
    assert response.json["parameter"] == parameter and parameter in response.json["detail"]


def test_answers_through_the_api(client, token, data):
    mix = get(client, "mix", token, days=30).json
    assert (mix["total"], mix["complaints"], mix["compliments"], mix["complaint_to_compliment"]) == (16, 11, 2, 5.5)
    assert mix["window"]["days"] == 30 and mix["window"]["timezone"] == "UTC"
    themes = get(client, "themes", token, sentiment="negative", limit=3).json["themes"]
    assert [t["theme"] for t in themes] == ["wait time", "billing", "scheduling"]
    assert get(client, "callbacks", token, line=L1).json["top_issue"] == "billing"
    assert [c["contact_id"] for c in get(client, "unanswered", token).json["customers"]] == [data["C1"], data["C3"]]
    assert get(client, "trend", token).json["verdict"] in ("improving", "declining", "steady", "not enough data")
    assert get(client, "spikes", token).json["spikes"][0]["theme"] == "wait time"


def test_rate_limit_per_token_is_429_with_retry_after(app, client, token, data):
    app.extensions["undertone"].settings.api_rate_limit_per_minute = 3
    other = api_tokens.create(app.extensions["undertone"].db, "other")
    assert [get(client, "mix", token).status_code for _ in range(3)] == [200, 200, 200]
    limited = get(client, "mix", token)
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert get(client, "mix", other).status_code == 200  # each token has its own budget


def test_openapi_document_is_generated_from_the_parameter_models(client):
    spec = client.get("/api/v1/openapi.json").json
    names = {"customers", "lines", "themes", "callbacks", "mix", "trend", "unanswered", "change", "agents",
             "spikes", "escalations"}
    assert {p.rsplit("/", 1)[1] for p in spec["paths"] if p.startswith("/api/v1/insights/")} == names
    themes = {p["name"]: p for p in spec["paths"]["/api/v1/insights/themes"]["get"]["parameters"]}
    assert themes["sentiment"]["schema"]["enum"] == ["negative", "neutral", "positive", "any"]
    assert themes["limit"]["schema"]["anyOf"][0]["maximum"] == 500
    assert "bearer" in str(spec["components"].get("securitySchemes"))
