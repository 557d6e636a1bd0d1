"""The Overview and the contacts pages in a real browser: clean (no console error, no failed request, no
sideways scroll at 390 px), accessible (axe-core), screenshotted; the overview's figures equal the insights
API's on the constructed data; a Quo test delivery sent from its connector page shows on the overview once a
real RQ worker has processed it."""
from __future__ import annotations

import pytest
from redis import Redis
from rq import SimpleWorker

from integration import defaults
from integration.store import api_tokens
from integration.store.models import utcnow
from integration.web.admin import overview
from tests import keys
from tests.browser.checks import assert_no_sideways_scroll, record_problems, serious_violations
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_console import sign_in
from tests.integration.insights import dataset
from tests.integration.web.admin.console import make_user


def figure(page, selector: str) -> str:
    return " ".join(page.locator(selector).inner_text().split())


def pct(value) -> str:
    return "—" if value is None else f"{value:.1f}%"


def test_overview_and_contacts_are_clean_accessible_and_screenshotted(live, browser, axe_source):
    base, app = live
    ids = dataset.build(app.extensions["undertone"].db)
    email = make_user(app)
    pages = {"overview": "/admin/", "contacts": "/admin/contacts/", "contacts-search": "/admin/contacts/?q=spike",
             "contact": f"/admin/contacts/{ids['C1']}", "contact-quiet": f"/admin/contacts/{ids['C5']}"}
    ARTIFACTS.mkdir(exist_ok=True)
    problems, violations = [], []
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        record_problems(page, problems)
        sign_in(page, base, email)
        for name, path in pages.items():
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            assert page.locator("h1").count() == 1, name
            if name == "overview":
                page.locator("details summary").first.click()  # the chart's numbers, open in the screenshot
            assert_no_sideways_scroll(page, name, width)
            page.screenshot(path=str(ARTIFACTS / f"admin-{name}-{width}.png"), full_page=True)
            violations += serious_violations(page, axe_source, f"{name} @{width}")
        context.close()
    assert problems == []
    assert violations == []


def test_the_overview_shows_the_insights_apis_figures(live, page):
    base, app = live
    runtime = app.extensions["undertone"]
    ids = dataset.build(runtime.db)
    token = api_tokens.create(runtime.db, "browser test")
    sign_in(page, base, make_user(app))
    page.goto(f"{base}/admin/")
    api = {}
    for key, (name, query) in overview.asks(runtime.settings.tzinfo, utcnow()).items():
        answer = page.request.get(f"{base}/api/v1/insights/{name}", headers={"Authorization": f"Bearer {token}"},
                                  params={k: str(v) for k, v in query.model_dump(exclude_none=True).items()})
        assert answer.status == 200, (key, answer.text())
        api[key] = answer.json()
    for key in ("this_week", "last_week"):
        assert figure(page, f"#{key}-total") == str(api[key]["total"])
        for label in ("positive", "neutral", "negative"):
            assert figure(page, f"#{key}-{label}-n") == str(api[key]["counts"][label])
            assert figure(page, f"#{key}-{label}-pct") == pct(api[key]["percent"][label])
        ratio = api[key]["complaint_to_compliment"]
        assert figure(page, f"#{key}-ratio") == ("— (no compliments)" if ratio is None else f"{ratio:.2f}")
    assert api["this_week"]["total"] + api["last_week"]["total"] > 0
    assert figure(page, "#trend-verdict") == api["trend"]["verdict"]
    page.get_by_text("The numbers behind the chart").click()
    assert page.locator("#trend-table tbody tr td:nth-of-type(1)").all_inner_texts() == [
        str(w["interactions"]) for w in api["trend"]["weeks"]]
    assert page.locator("#trend-chart circle").count() == sum(1 for w in api["trend"]["weeks"] if w["interactions"])
    for key in ("themes", "praise"):
        assert page.locator(f"#{key} > li .theme").all_text_contents() == [t["theme"] for t in api[key]["themes"]]
        assert page.locator(f"#{key} > li .figure").all_inner_texts() == [
            str(t["interactions"]) for t in api[key]["themes"]]
    assert page.locator("#spikes > li .theme").all_text_contents() == [s["theme"] for s in api["spikes"]["spikes"]]
    assert page.locator("#spikes > li .figure").all_inner_texts() == [
        str(s["customers"]) for s in api["spikes"]["spikes"]] == ["6"]
    waiting = [c["contact_id"] for c in api["unanswered"]["customers"]]
    assert waiting == [ids["C1"], ids["C3"]]
    assert page.locator("#unanswered > li > a:first-child").evaluate_all("links => links.map(a => a.pathname)") == [
        f"/admin/contacts/{c}" for c in waiting]
    assert page.locator("#escalations > li").count() == len(api["escalations"]["escalations"]) == 1
    # Following a waiting customer leads to their contact page, with the same worst conversation on it.
    page.locator("#unanswered > li > a").first.click()
    assert page.locator("h1").inner_text() == "Ann Angry"
    assert page.locator(f"#timeline a[href='/admin/interactions/{ids['I-C1']}']").count() == 1


@pytest.fixture
def worker_env(monkeypatch, live, sqlite_url, redis_url):
    """Worker code reads the environment: point it at the live console's database and Redis."""
    from workers import context

    for name in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("QUO_WEBHOOK_SECRET", f"{keys.QUO_CLASSIC},{keys.QUO_STANDARD}")
    monkeypatch.setenv("CRM_FLUSH_DELAY_S", "0")
    monkeypatch.setenv("SCORER", "lexicon")
    context.reset()
    yield
    context.reset()


def test_a_test_delivery_from_the_quo_page_shows_on_the_overview(live, page, redis_url, worker_env):
    base, app = live
    sign_in(page, base, make_user(app))
    page.goto(f"{base}/admin/")
    assert figure(page, "#this_week-total") == "0"
    page.goto(f"{base}/admin/connectors/quo")
    page.get_by_role("button", name="Send a test delivery").click()
    assert "Answer 200" in page.locator("#test-result").inner_text()
    for _ in range(3):  # the event, then the CRM flush it asks for, with a real RQ worker
        SimpleWorker([defaults.EVENTS_QUEUE, defaults.CRM_QUEUE], connection=Redis.from_url(redis_url)).work(burst=True)
    page.get_by_role("link", name="Overview").click()
    assert figure(page, "#this_week-total") == "1"
    assert figure(page, "#this_week-positive-n") == "1" and figure(page, "#this_week-positive-pct") == "100.0%"
    assert page.locator("#trend-chart circle").count() == 1
    page.get_by_role("link", name="Contacts").click()
    row = page.locator("#contacts tbody tr")
    assert row.count() == 1 and "positive" in row.inner_text()
    row.get_by_role("link").click()
    assert page.locator("#timeline > li").count() == 1
    assert page.locator("#timeline .kind").inner_text() == "Text message"
    assert "This is a test delivery from the Undertone admin console" in page.locator("#timeline").inner_text()
