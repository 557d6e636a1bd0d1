"""The rules and tokens pages in a real browser: change an escalation phrase, try it, save it, send a webhook with
it and see the flag raised by a real worker (in the database, then on the interactions list filtered by that flag
and on the interaction's page); create and revoke an API token; both pages clean (no console error,
no failed request), no sideways scroll at 390 px, no serious axe violation, screenshotted at 1280 and 390 px."""
from __future__ import annotations

import json
import time
import urllib.request
import uuid

from redis import Redis
from rq import Worker
from sqlalchemy import select

from integration import defaults
from integration.store import api_tokens
from integration.store.models import Interaction, InteractionScore
from tests.browser.checks import assert_no_sideways_scroll, record_problems, serious_violations
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_console import sign_in
from tests.integration.web.admin.console import make_user
from tests.quo_requests import classic_headers, fixture_body
from tests.workers.processes import Process, environment, wait_until

PAGES = {"rules": "/admin/rules/", "tokens": "/admin/tokens/"}
PHRASE = "absolute circus"


def quo_message(base: str, text: str) -> int:
    """POST a signed Quo text to the live server's webhook; the HTTP status."""
    document = json.loads(fixture_body("message_received.json", event_id=f"EV{uuid.uuid4().hex}"))
    document["data"]["object"].update(id=f"AC{uuid.uuid4().hex}", text=text, **{"from": "+13125550199"})
    body = json.dumps(document).encode()
    request = urllib.request.Request(f"{base}/webhooks/quo", data=body, headers=classic_headers(body), method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def scored(db, text: str) -> tuple[int, list[dict]] | None:
    """(id, escalation flags) of the interaction holding `text`, once it is scored (None until then)."""
    with db.session() as session:
        for interaction, score in session.execute(select(Interaction, InteractionScore).join(
                InteractionScore, InteractionScore.interaction_id == Interaction.id)):
            if any(text in (turn.get("text") or "") for turn in interaction.turns or []):
                return interaction.id, score.flags
    return None


def flags_of(db, text: str) -> list[dict] | None:
    """The escalation flags stored for the interaction holding `text` (None until it is scored)."""
    found = scored(db, text)
    return found[1] if found else None


def test_change_an_escalation_phrase_send_a_webhook_with_it_see_the_flag(live, page, sqlite_url, redis_url, tmp_path):
    base, app = live
    db = app.extensions["undertone"].db
    worker = Process(["worker"], environment(sqlite_url, redis_url, CRM_FLUSH_DELAY_S="0"), tmp_path / "worker.log")
    try:
        wait_until(lambda: Worker.all(connection=Redis.from_url(redis_url)), 60, what="a worker registered")
        before = f"Honestly this is an {PHRASE} and nobody cares."
        assert quo_message(base, before) == 200  # with the shipped rules the phrase means nothing
        wait_until(lambda: flags_of(db, before) is not None, 30, what="scored before the change")
        assert flags_of(db, before) == []

        sign_in(page, base, make_user(app))
        page.goto(f"{base}/admin/rules/")
        phrases = page.locator("[id='esc.anger.phrases']")
        phrases.fill(PHRASE)
        page.get_by_role("textbox", name="Sentence").fill(f"This place is an {PHRASE}.")
        page.get_by_role("button", name="Try it").click()
        result = page.locator("#try-result")
        assert f"anger (anger or frustration): “This place is an {PHRASE}.”" in result.inner_text()
        assert page.locator("[id='esc.anger.phrases']").input_value() == PHRASE  # kept, not saved
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "admin-rules-try-1280.png"))  # the answer, at the top of the page
        page.get_by_role("button", name="Save rules").click()
        assert "Saved escalation rules." in page.locator(".flashes").inner_text()
        assert page.locator("[id='esc.anger.phrases']").input_value() == PHRASE

        time.sleep(defaults.SETTINGS_REFRESH_S + 0.5)  # the worker checks the rules at most this often
        after = f"Honestly this is an {PHRASE} and nobody cares. Second try."
        assert quo_message(base, after) == 200
        flags = wait_until(lambda: flags_of(db, after), 30, what="the new phrase's flag")
        evidence = f"Honestly this is an {PHRASE} and nobody cares."
        assert [(f["rule"], f["evidence"]) for f in flags] == [("anger", evidence)]

        # The same flag as the console shows it: the list filtered by the rule holds this interaction only (not
        # the one sent before the change), and its page names the rule and quotes the evidence.
        flagged, _ = scored(db, after)
        unflagged, _ = scored(db, before)
        page.goto(f"{base}/admin/interactions/?flag=anger")
        rows = page.locator("table.interactions tbody tr")
        assert rows.count() == 1
        assert rows.locator(".chip-flag").all_inner_texts() == ["anger"]
        assert rows.locator(f"a[href='/admin/interactions/{flagged}']").count() == 1
        assert page.locator(f"a[href='/admin/interactions/{unflagged}']").count() == 0
        rows.get_by_role("link", name=f"interaction {flagged}").click()
        assert page.url == f"{base}/admin/interactions/{flagged}"
        shown = page.get_by_role("region", name="Flags and themes")
        assert shown.locator(".chip-flag").all_inner_texts() == ["anger"]
        assert f"“{evidence}”" in shown.inner_text()
        page.screenshot(path=str(ARTIFACTS / "admin-rules-flag-seen-1280.png"))
    finally:
        worker.stop()


def test_create_and_revoke_an_api_token(live, page):
    base, app = live
    sign_in(page, base, make_user(app))
    page.goto(f"{base}/admin/tokens/")
    page.get_by_label("Name (who or what uses it)").fill("wallboard")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Token wallboard").input_value()
    db = app.extensions["undertone"].db
    assert api_tokens.verify(db, token) is not None
    page.goto(f"{base}/admin/tokens/")
    assert token not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())  # "Revoke wallboard?"
    page.get_by_role("button", name="Revoke wallboard").click()
    assert "Revoked 'wallboard'" in page.locator(".flashes").inner_text()
    assert api_tokens.verify(db, token) is None


def test_rules_and_tokens_pages_are_clean_accessible_and_screenshotted(live, browser, axe_source):
    base, app = live
    email = make_user(app)
    api_tokens.create(app.extensions["undertone"].db, "reporting")
    ARTIFACTS.mkdir(exist_ok=True)
    problems, violations = [], []
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        record_problems(page, problems)
        sign_in(page, base, email)
        for name, path in PAGES.items():
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            assert page.locator("h1").count() == 1, name
            if width == 390:
                assert_no_sideways_scroll(page, name, width)
            page.screenshot(path=str(ARTIFACTS / f"admin-{name}-{width}.png"), full_page=True)
            violations += serious_violations(page, axe_source, f"{name} @{width}")
        context.close()
    assert problems == []
    assert violations == []
