"""The digest's numbers are the insights API's: each part asks an insight, and the API asked the same question
on the same constructed data answers the same; the rendered digest shows those numbers and links."""
from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr

from integration import schedule
from integration.digest import build, render
from integration.store import api_tokens
from integration.store.models import utcnow
from tests.integration.insights import dataset

VOLATILE = {"waiting_hours"}  # hours since a complaint, computed at answer time: differs by the call's moment


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"public_base_url": "https://undertone.example",
                                       "hubspot_access_token": SecretStr("pat-test"), "hubspot_portal_id": "4242"})


def _steady(value):
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


@pytest.mark.parametrize("days_ago", [8, 20])  # the week of S1 (a spike) and the week of C6 (a callback)
def test_every_part_equals_the_api_answer(app, client, db, settings, days_ago):
    ids = dataset.build(db)
    token = api_tokens.create(db, "digest-test")
    monday = schedule.week_from_key((utcnow() - timedelta(days=days_ago)).date().isoformat())
    digest = build.build(db, settings, monday)
    compared = 0
    for name, part in digest.parts.items():
        if part["insight"] == "waiting":
            continue  # not an API insight: checked against its function in test_waiting.py
        response = client.get(f"/api/v1/insights/{part['insight']}", query_string=part["query"],
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (name, response.json)
        assert _steady(response.json) == _steady(part["answer"]), name
        compared += 1
    assert compared == 12
    mix = digest.parts["mix"]["answer"]
    assert mix["window"]["first_day"] == monday.isoformat() and mix["window"]["days"] is None
    assert mix["total"] > 0, "the week holds some of the data set"

    text = render.message(digest).text
    for label in ("negative", "neutral", "positive"):
        assert f"{mix['counts'][label]} {label} ({mix['percent'][label]:g}%)" in text
    assert f"Verdict: {digest.parts['trend']['answer']['verdict']}" in text
    for row in digest.parts["issues"]["answer"]["themes"]:
        assert f"{row['rank']}. {row['theme']}: {row['interactions']} interactions" in text
    for row in digest.parts["lines"]["answer"]["lines"]:
        assert (row["line_name"] or row["line"] or "(none)") in text
    if days_ago == 8:  # the spike week: S1..S5 (and C2 when its day is inside) negative about wait time
        (spike,) = digest.parts["spikes"]["answer"]["spikes"]
        assert spike["theme"] == "wait time" and spike["customers"] >= 5
        assert f"wait time: {spike['customers']} different customers negative" in text
    else:  # C6's unresolved call and its callback 10 hours later fall in this week
        callbacks = digest.parts["callbacks"]["answer"]
        assert callbacks["total"] == 1 and callbacks["callbacks"][0]["contact"]["contact_id"] == ids["C6"]
        assert "back 10 h after an unresolved call on Main line" in text
    assert "https://undertone.example/admin/interactions/" in text


def test_customers_and_links_this_week(app, db, settings):
    ids = dataset.build(db)
    monday = schedule.week_from_key(utcnow().date().isoformat())
    if (utcnow().date() - monday).days < 2:  # C1 (2 days ago) must fall in the current week
        monday -= timedelta(weeks=1)
    digest = build.build(db, settings, monday)
    message = render.message(digest)
    customers = digest.parts["customers"]["answer"]["customers"]
    assert customers[0]["contact_id"] == ids["C1"]  # the worst of all
    part = next(p for p in message.parts if p.heading.startswith("Customers who expressed"))
    first = part.lines[0]
    assert first.text.startswith("Ann Angry: worst score -0.80") and "asked for a refund" in first.text
    assert dict(first.links) == {"CRM record": "https://app.hubspot.com/contacts/4242/record/0-1/101",
                                 "Interaction": f"https://undertone.example/admin/interactions/{ids['I-C1']}"}
    waiting = digest.parts["waiting"]["answer"]
    assert ids["C1"] in [c["contact_id"] for c in waiting["customers"]]  # negative 2 days ago, never touched
    assert ids["C2"] not in [c["contact_id"] for c in waiting["customers"]]  # called back yesterday
