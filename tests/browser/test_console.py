"""The console in a real browser: sign-in, CSRF, viewers, a connector's secret and test delivery, requeue,
every page clean (no console error, no failed request), accessible (axe-core) and screenshotted."""
from __future__ import annotations

import json

from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry

from integration import defaults
from tests.browser.checks import assert_no_sideways_scroll, record_problems, serious_violations
from tests.browser.conftest import ARTIFACTS
from tests.integration.web.admin.console import PASSWORD, failed_job, make_user

PAGES = {"home": "/admin/", "connectors": "/admin/connectors/", "connector-quo": "/admin/connectors/quo",
         "connector-generic": "/admin/connectors/generic", "crm": "/admin/crm/", "jobs": "/admin/jobs/",
         "users": "/admin/users/", "login": "/admin/login"}
GENERIC_SECRET = "whsec_YnJvd3NlciB0ZXN0IGdlbmVyaWMgc2lnbmluZyBrZXk="


def sign_in(page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def test_sign_in_with_a_wrong_then_the_right_password(live, page):
    base, app = live
    email = make_user(app)
    sign_in(page, base, email, "a wrong password!")
    assert page.locator("#login-error").inner_text() == "Wrong email or password."
    sign_in(page, base, email)
    assert page.url == f"{base}/admin/connectors/"
    assert page.get_by_role("heading", name="Connectors").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{base}/admin/jobs/")
    assert page.url.startswith(f"{base}/admin/login")


def test_a_form_posted_without_its_csrf_token_is_refused(live, page):
    base, app = live
    sign_in(page, base, make_user(app))
    page.goto(f"{base}/admin/users/")
    page.get_by_label("Email").fill("new.person@example.com")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.locator("form[action='/admin/users/'] input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_response(lambda r: r.url == f"{base}/admin/users/" and r.request.method == "POST") as posted:
        page.get_by_role("button", name="Add user").click()
    assert posted.value.status == 400
    assert "CSRF" in page.locator("main").inner_text()
    page.goto(f"{base}/admin/users/")
    assert "new.person@example.com" not in page.content()


def test_a_viewer_cannot_change_anything(live, page):
    base, app = live
    make_user(app)
    sign_in(page, base, make_user(app, "viewer@example.com", "viewer"))
    page.goto(f"{base}/admin/connectors/generic")
    assert page.get_by_text("only an admin can change it").is_visible()
    assert page.locator("#f-generic_webhook_secret").is_disabled()
    assert page.get_by_role("button", name="Save").count() == 0
    assert page.get_by_role("button", name="Send a test delivery").count() == 0
    # Past the interface: a hand-made post with a valid token is refused by the server.
    status = page.evaluate("""async () => {
        const token = document.querySelector("input[name=csrf_token]").value;
        const body = new URLSearchParams({csrf_token: token, generic_webhook_secret: "whsec_c2VjcmV0"});
        const answer = await fetch("/admin/connectors/generic", {method: "POST", body});
        return answer.status;
    }""")
    assert status == 403
    assert app.extensions["undertone"].reload_settings().source_secrets("generic") == ()
    response = page.goto(f"{base}/admin/users/")
    assert response.status == 403


def test_set_a_connector_secret_and_send_a_test_delivery(live, page):
    base, app = live
    sign_in(page, base, make_user(app))
    page.goto(f"{base}/admin/connectors/generic")
    assert page.locator("#secret-state").inner_text().startswith("Not set")
    page.get_by_label("GENERIC_WEBHOOK_SECRET").fill(GENERIC_SECRET)
    page.get_by_role("button", name="Save").click()
    assert "Saved: GENERIC_WEBHOOK_SECRET." in page.locator(".flashes").inner_text()
    assert page.locator("#secret-state").inner_text() == "Set"
    assert GENERIC_SECRET not in page.content()
    page.get_by_role("button", name="Send a test delivery").click()
    result = page.locator("#test-result")
    assert "Answer 200" in result.inner_text()
    assert json.loads(result.locator("pre").inner_text())["accepted"] == 1
    page.goto(f"{base}/admin/connectors/")
    row = page.get_by_role("row", name="Generic (Standard Webhooks)")
    assert row.get_by_role("cell").nth(1).inner_text() == "1"  # accepted today (cells after the row header)


def test_requeue_a_failed_job(live, page, redis_url):
    base, app = live
    job_id = failed_job(redis_url)
    sign_in(page, base, make_user(app))
    page.goto(f"{base}/admin/jobs/")
    job = page.locator(f"#job-{job_id}")
    assert "RuntimeError: the CRM said no (test)" in job.inner_text()
    job.get_by_role("button", name="Requeue").click()
    assert f"Job {job_id} is queued again." in page.locator(".flashes").inner_text()
    redis = Redis.from_url(redis_url)
    assert FailedJobRegistry(defaults.CRM_QUEUE, connection=redis).count == 0
    assert job_id in Queue(defaults.CRM_QUEUE, connection=redis).job_ids


NAV = ["Overview", "Interactions", "Contacts", "Connectors", "CRM", "Jobs", "Alerts", "Rules", "API tokens", "Users"]


def assert_nav_usable(page, width: int) -> None:
    """Every console link (an admin's) is shown whole inside the viewport: the nav wraps between links, never
    inside one, and each is tall enough to tap (24 px, WCAG 2.5.8)."""
    links = page.evaluate("""() => [...document.querySelectorAll('header nav a')].map(a => {
        const box = a.getBoundingClientRect();
        return {text: a.textContent.trim(), left: box.left, right: box.right, height: box.height,
                line: parseFloat(getComputedStyle(a).lineHeight)};
    })""")
    assert [link["text"] for link in links] == NAV
    for link in links:
        assert 0 <= link["left"] and link["right"] <= width, f"{link['text']} is outside the {width} px viewport"
        assert 24 <= link["height"] < 2 * link["line"], f"{link['text']} is {link['height']} px tall at {width} px"


def test_every_page_is_clean_accessible_and_screenshotted(live, browser, axe_source, redis_url):
    base, app = live
    failed_job(redis_url)  # so the jobs page shows a failed job with its buttons
    email = make_user(app)
    ARTIFACTS.mkdir(exist_ok=True)
    problems, violations = [], []
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        record_problems(page, problems)
        for name, path in PAGES.items():
            if name == "login":
                context.clear_cookies()
            elif page.url.endswith("/admin/login") or "/admin/" not in page.url:
                sign_in(page, base, email)
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            assert page.locator("h1").count() == 1, name
            if width == 390:
                assert_no_sideways_scroll(page, name, width)
            if name != "login":
                assert_nav_usable(page, width)
            page.screenshot(path=str(ARTIFACTS / f"admin-{name}-{width}.png"), full_page=True)
            violations += serious_violations(page, axe_source, f"{name} @{width}")
        context.close()
    assert problems == []
    assert violations == []
