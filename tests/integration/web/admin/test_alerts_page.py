"""/admin/alerts: the alert and digest settings (secrets masked, replace-only, the environment wins, values
checked), a test alert with each destination's answer, the digest preview, recent alerts and digests; viewers
look and change nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from integration.store import settings_store
from integration.store.models import Alert, DigestSend, Setting, utcnow
from integration.web.admin.alerts import PREVIEW_CSP
from tests.integration.insights import dataset
from tests.integration.web.admin.console import make_user, post, sign_in
from tests.servers.slack import SlackServer

PAGE = "/admin/alerts/"


def save(client, group: str, values: dict):
    return post(client, f"/admin/alerts/settings/{group}", values, token_from=PAGE)


@pytest.fixture
def slack():
    with SlackServer() as server:
        yield server


def test_a_webhook_saved_here_is_encrypted_masked_and_used_by_the_test_alert(app, client, slack):
    sign_in(client, make_user(app))
    url = slack.hook_url()
    assert save(client, "slack", {"slack_webhook_url": url}).status_code == 302
    rt = app.extensions["undertone"]
    with rt.db.session() as session:
        stored = session.scalar(select(Setting.value).where(Setting.key == "slack_webhook_url"))
    assert stored and url not in stored
    page = client.get(PAGE).get_data(as_text=True)
    assert "Saved: SLACK_WEBHOOK_URL." in page and url not in page and url.rsplit("/", 1)[-1] not in page
    assert 'id="alert-targets">slack<' in page
    answer = post(client, "/admin/alerts/test", token_from=PAGE).get_data(as_text=True)
    assert "<strong>slack</strong>: <span class=\"ok\">sent</span>" in answer and len(slack.messages) == 1
    assert slack.messages[0]["blocks"][0]["text"]["text"] == "Undertone test alert"
    save(client, "slack", {"slack_webhook_url": ""})  # an empty secret box keeps the stored value
    assert rt.reload_settings().slack_webhook_url.get_secret_value() == url


def test_a_refused_test_alert_shows_the_reason(app, client, slack):
    sign_in(client, make_user(app))
    url = slack.hook_url()
    slack.revoke(url, 410)
    save(client, "slack", {"slack_webhook_url": url})
    answer = post(client, "/admin/alerts/test", token_from=PAGE).get_data(as_text=True)
    assert "failed: 410: Slack answered 410 no_service" in answer and url.rsplit("/", 1)[-1] not in answer


@pytest.mark.parametrize("field, value, message", [
    ("digest_schedule", "every monday", "DIGEST_SCHEDULE: DIGEST_SCHEDULE must look like"),
    ("timezone", "Mars/Olympus", "TIMEZONE: not an IANA time zone name"),
    ("quiet_hours", "late", "QUIET_HOURS: QUIET_HOURS must look like 20:00-07:00"),
    ("follow_up_after_days", "0", "FOLLOW_UP_AFTER_DAYS: not a valid value"),
    ("digest_destinations", "slack,pager", "DIGEST_DESTINATIONS: unknown destination(s) pager"),
])
def test_bad_values_are_refused_with_a_message_and_nothing_is_stored(app, client, field, value, message):
    sign_in(client, make_user(app))
    rt = app.extensions["undertone"]
    version = settings_store.version(rt.db)
    save(client, "digest", {field: value, "follow_up_after_days": "3" if field != "follow_up_after_days" else value})
    assert message in client.get(PAGE).get_data(as_text=True)
    assert settings_store.version(rt.db) == version
    assert rt.reload_settings().follow_up_after_days == 2


def test_digest_settings_are_stored_and_followed(app, client):
    sign_in(client, make_user(app))
    save(client, "digest", {"digest_schedule": "fri 17:30", "timezone": "Europe/Paris", "quiet_hours": "20:00-07:00",
                            "follow_up_after_days": "3", "digest_destinations": "email,notion"})
    settings = app.extensions["undertone"].reload_settings()
    assert (settings.digest_schedule, settings.timezone, settings.quiet_hours, settings.follow_up_after_days,
            settings.digest_destinations) == ("fri 17:30", "Europe/Paris", "20:00-07:00", 3, "email,notion")
    assert "Europe/Paris" in client.get(PAGE).get_data(as_text=True)  # the next digest, in the business's zone


@pytest.fixture
def settings(settings):
    from pydantic import SecretStr

    return settings.model_copy(update={"notion_token": SecretStr("secret_from_the_environment_123")})


def test_the_environment_wins(app, client, settings):
    sign_in(client, make_user(app))
    page = client.get(PAGE).get_data(as_text=True)
    assert "secret_from_the_environment_123" not in page and "Set in the environment" in page
    save(client, "notion", {"notion_token": "secret_other"})
    rt = app.extensions["undertone"]
    assert settings_store.load(rt.db, None, "notion_token") is None
    assert rt.reload_settings().notion_token.get_secret_value() == "secret_from_the_environment_123"


def test_a_viewer_sees_everything_and_changes_nothing(app, client, slack):
    make_user(app)
    sign_in(client, make_user(app, "viewer@example.com", "viewer"))
    page = client.get(PAGE).get_data(as_text=True)
    assert "only an admin can change it" in page and "Send a test alert" not in page.split("</h2>", 2)[2][:400]
    assert 'id="f-slack_webhook_url"' in page and "disabled" in page.split('id="f-slack_webhook_url"')[1][:300]
    assert save(client, "slack", {"slack_webhook_url": slack.hook_url()}).status_code == 403
    assert post(client, "/admin/alerts/test", token_from=PAGE).status_code == 403
    assert app.extensions["undertone"].reload_settings().slack_webhook_url is None and slack.messages == []
    assert client.get("/admin/alerts/digest-preview").status_code == 200  # looking is allowed


def test_the_preview_is_the_digest_email_in_a_sandbox(app, client, db):
    dataset.build(db)
    sign_in(client, make_user(app))
    page = client.get(PAGE).get_data(as_text=True)
    assert '<iframe class="digest-preview" src="/admin/alerts/digest-preview"' in page
    preview = client.get("/admin/alerts/digest-preview?week=" + utcnow().date().isoformat())
    assert preview.status_code == 200 and preview.mimetype == "text/html"
    assert preview.headers["Content-Security-Policy"] == PREVIEW_CSP and "sandbox" in PREVIEW_CSP
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    html = preview.get_data(as_text=True)
    assert "Undertone weekly digest" in html and "No one left waiting" in html and "<script" not in html
    assert client.get("/admin/alerts/digest-preview?week=soon").status_code == 400
    assert app.test_client().get("/admin/alerts/digest-preview").status_code == 302  # signed-in only


def test_recent_alerts_show_their_delivery_state_and_refusals_and_digests_are_listed(app, client, db):
    with db.session() as session:
        session.add(Alert(key="escalation:1:anger", kind="escalation", reason="anger or frustration", status="refused",
                          deliveries={"slack": "refused: 410: Slack answered 410 no_service"}, facts={}, attempts=1))
        session.add(Alert(key="spike:billing:1", kind="spike", reason="6 customers negative about billing",
                          status="sent", deliveries={"slack": "sent"}, facts={}, attempts=1))
        session.add(DigestSend(week="2026-W48", destination="email", status="refused", attempts=1, summary={},
                               last_error="535: SMTP login refused: 535"))
    sign_in(client, make_user(app))
    page = client.get(PAGE).get_data(as_text=True)
    assert "slack: refused: 410: Slack answered 410 no_service" in page
    assert "6 customers negative about billing" in page
    assert "2026-W48" in page and "535: SMTP login refused: 535" in page
