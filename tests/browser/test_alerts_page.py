"""/admin/alerts in a real browser: settings saved, a test alert answered by the local Slack server, the digest
preview framed; the page clean (no console error, no failed request, no sideways scroll at 390 px), accessible
(axe-core) and screenshotted. Also the digest e-mail itself rendered by headless Chromium, for people to see."""
from __future__ import annotations

from datetime import timedelta

from integration import schedule
from integration.digest import build, render
from integration.store.models import utcnow
from tests.browser.checks import assert_no_sideways_scroll, record_problems, serious_violations
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_console import sign_in
from tests.integration.insights import dataset
from tests.integration.web.admin.console import make_user
from tests.servers.slack import SlackServer


def test_alerts_page_saves_tests_previews_and_is_clean(live, browser, axe_source):
    base, app = live
    rt = app.extensions["undertone"]
    dataset.build(rt.db)
    email = make_user(app)
    ARTIFACTS.mkdir(exist_ok=True)
    problems, violations = [], []
    with SlackServer() as slack:
        url = slack.hook_url()
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()  # not watched: each save leaves the page while its preview frame still loads
        sign_in(page, base, email)
        page.goto(f"{base}/admin/alerts/")
        page.get_by_label("SLACK_WEBHOOK_URL").fill(url)
        page.locator("#settings-slack").get_by_role("button", name="Save").click()
        assert "Saved: SLACK_WEBHOOK_URL." in page.locator(".flashes").inner_text()
        assert url not in page.content()
        page.get_by_label("DIGEST_SCHEDULE").fill("every day")
        page.locator("#settings-digest").get_by_role("button", name="Save").click()
        assert "DIGEST_SCHEDULE: DIGEST_SCHEDULE must look like" in page.locator(".flashes").inner_text()
        page.get_by_role("button", name="Send a test alert").click()
        assert page.locator("#test-results").inner_text() == "slack: sent"
        assert len(slack.messages) == 1
        frame = page.frame_locator("iframe.digest-preview")
        assert frame.get_by_role("heading", name="No one left waiting").is_visible()
        context.close()

    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        record_problems(page, problems)
        sign_in(page, base, email)
        page.goto(f"{base}/admin/alerts/")
        page.wait_for_load_state("networkidle")
        page.frame_locator("iframe.digest-preview").locator("h1").wait_for()
        assert page.locator("h1").count() == 1
        if width == 390:
            assert_no_sideways_scroll(page, "/admin/alerts", width)
        page.screenshot(path=str(ARTIFACTS / f"admin-alerts-{width}.png"), full_page=True)
        violations += serious_violations(page, axe_source, f"alerts @{width}")
        context.close()
    assert problems == []
    assert violations == []


def test_the_digest_email_renders_in_chromium(live, browser):
    """The e-mail as a mail client's HTML view shows it: test-artifacts/digest-email.png."""
    from connectors.email.digest_html import render as render_html

    _, app = live
    rt = app.extensions["undertone"]
    dataset.build(rt.db)
    settings = rt.settings.model_copy(update={"public_base_url": "https://undertone.example"})
    digest = build.build(rt.db, settings, schedule.week_from_key((utcnow() - timedelta(days=8)).date().isoformat()))
    html = render_html(render.message(digest))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "digest-email.html").write_text(html)
    context = browser.new_context(viewport={"width": 700, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    page.set_content(html)
    page.screenshot(path=str(ARTIFACTS / "digest-email.png"), full_page=True)
    assert page.get_by_role("heading", name="Sentiment mix, this week against last").is_visible()
    assert page.locator("td[bgcolor]").count() >= 4  # the bars
    assert page.evaluate("document.documentElement.scrollWidth") <= 700
    context.close()
