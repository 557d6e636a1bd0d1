"""The interaction pages in a real browser: correct a label and see the CRM sink follow (a signed webhook, a real
RQ worker, the built-in CRM sink), and the list and detail pages clean, accessible, screenshotted, at 1280 and
390 px."""
from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from datetime import datetime, timezone

import pytest
from pydantic import SecretStr
from redis import Redis
from sqlalchemy import select

from integration.store.models import Interaction, SinkContact
from tests.browser.checks import assert_no_sideways_scroll, record_problems, serious_violations
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_console import sign_in
from tests.connectors.signing import sign_standard
from tests.integration.web.admin.console import make_user
from tests.integration.web.admin.interactions_data import SECRET
from tests.workers.helpers import drain
from workers import context

UNHAPPY = "Terrible service, the leak is worse and nobody called me back. Awful."


@pytest.fixture
def worker(live, monkeypatch, sqlite_url, redis_url):
    """A real RQ worker's environment for the live app's database and Redis (jobs run by `drain`)."""
    _, app = live
    settings = app.extensions["undertone"].settings
    settings.generic_webhook_secret = SecretStr(SECRET)
    settings.crm_flush_delay_s = 0  # the burst worker runs no scheduled jobs
    for name in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (("DATABASE_URL", sqlite_url), ("REDIS_URL", redis_url), ("CRM_FLUSH_DELAY_S", "0"),
                        ("SCORER", "lexicon")):
        monkeypatch.setenv(name, value)
    context.reset()
    yield Redis.from_url(redis_url)
    context.reset()


def deliver(base: str, text: str, email: str = "dana@example.com", thread: str | None = None) -> None:
    """A signed generic webhook posted to the live server, as a sender would."""
    document = {"id": uuid.uuid4().hex, "channel": "sms", "text": text, "thread_id": thread or uuid.uuid4().hex,
                "occurred_at": datetime.now(timezone.utc).isoformat(),
                "contact": {"email": email, "name": "Dana Lee"}, "api_token": "tok-never-shown"}
    body = json.dumps(document).encode()
    headers = {**sign_standard(body, SECRET, f"msg_{uuid.uuid4().hex}", int(time.time())),
               "content-type": "application/json"}
    request = urllib.request.Request(f"{base}/webhooks/generic", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def sink_sentiment(app, contact_id: int) -> str | None:
    with app.extensions["undertone"].db.session() as session:
        sink = session.scalar(select(SinkContact).where(SinkContact.contact_id == contact_id))
        return sink.properties.get("undertone_sentiment") if sink else None


def test_correct_a_label_and_see_the_crm_sink_follow(live, page, worker):
    base, app = live
    deliver(base, UNHAPPY)
    drain(worker)
    with app.extensions["undertone"].db.session() as session:
        interaction = session.scalars(select(Interaction)).one()
    assert interaction.score.label == "negative"
    assert sink_sentiment(app, interaction.contact_id) in ("negative", "very_negative")
    sign_in(page, base, make_user(app))
    page.goto(f"{base}/admin/interactions/?sentiment=negative")
    page.get_by_role("link", name=f"interaction {interaction.id}").click()
    assert page.locator("#sentiment .label").inner_text() == "negative"
    page.get_by_label("positive").check()
    page.get_by_label("Note (optional)").fill("They were joking; the leak was fixed.")
    page.get_by_role("button", name="Save the label").click()
    assert "Label corrected from negative to positive." in page.locator(".flashes").inner_text()
    assert page.locator("#sentiment .label").inner_text() == "positive"
    assert "owner@example.com" in page.locator("#corrections").inner_text()
    assert page.locator("#sync-state").inner_text() == "waiting for the next sync"
    drain(worker)  # the flush the correction asked for, run by a real worker
    assert sink_sentiment(app, interaction.contact_id) == "positive"
    page.reload()
    assert page.locator("#sync-state").inner_text().startswith("up to date")
    row = page.locator("#crm-properties tr", has=page.locator("th", has_text=re.compile("^undertone_sentiment$")))
    assert row.locator("td").inner_text() == "positive"
    assert "tok-never-shown" not in page.content()


def test_interaction_pages_are_clean_accessible_and_screenshotted(live, browser, axe_source, worker):
    base, app = live
    for n, text in enumerate((UNHAPPY, "Thank you, wonderful work, everything is perfect!",
                              "I want a refund or I will call my lawyer. " * 6)):
        deliver(base, text, email=f"person{n}@example.com")
    drain(worker)
    with app.extensions["undertone"].db.session() as session:
        first = session.scalars(select(Interaction.id).order_by(Interaction.id)).first()
    email = make_user(app)
    pages = {"interactions": "/admin/interactions/", "interactions-filtered": "/admin/interactions/?flag=any&text=refund",
             "interaction": f"/admin/interactions/{first}"}
    ARTIFACTS.mkdir(exist_ok=True)
    problems, violations = [], []
    for width, height in ((1280, 900), (390, 844)):
        context_ = browser.new_context(viewport={"width": width, "height": height})
        tab = context_.new_page()
        record_problems(tab, problems)
        sign_in(tab, base, email)
        for name, path in pages.items():
            tab.goto(f"{base}{path}")
            tab.wait_for_load_state("networkidle")
            assert tab.locator("h1").count() == 1, name
            assert tab.locator("table.interactions tbody tr, .turn").count() >= 1, name
            if name == "interaction":
                for raw in tab.locator("details.raw").all():
                    raw.locator("summary").click()  # the raw events open, so the screenshot shows them
            if width == 390:
                assert_no_sideways_scroll(tab, name, width)
            tab.screenshot(path=str(ARTIFACTS / f"admin-{name}-{width}.png"), full_page=True)
            violations += serious_violations(tab, axe_source, f"{name} @{width}")
        context_.close()
    assert problems == []
    assert violations == []
