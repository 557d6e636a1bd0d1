"""Settings edited in the console: stored encrypted, never shown back, the environment wins, every process follows."""
from __future__ import annotations

import base64
import json
import time

from sqlalchemy import select

from integration.runtime import Runtime
from integration.store import settings_store
from integration.store.models import Setting, WebhookEvent
from tests.integration.web.admin.console import make_user, post, sign_in

GENERIC_SECRET = "whsec_" + base64.b64encode(b"console-stored generic signing key").decode()


def _admin(app, client):
    sign_in(client, make_user(app))


def test_a_secret_saved_in_the_console_is_encrypted_masked_and_used(app, client, settings, caplog):
    _admin(app, client)
    assert client.post("/webhooks/generic", data=b"{}").status_code == 401  # no secret yet
    caplog.set_level("DEBUG")
    saved = post(client, "/admin/connectors/generic", {"generic_webhook_secret": GENERIC_SECRET},
                 token_from="/admin/connectors/generic")
    assert saved.status_code == 302
    rt = app.extensions["undertone"]
    with rt.db.session() as session:
        stored = session.scalar(select(Setting.value).where(Setting.key == "generic_webhook_secret"))
    assert stored and GENERIC_SECRET not in stored and "Y29uc29sZ" not in stored
    assert GENERIC_SECRET not in caplog.text
    page = client.get("/admin/connectors/generic").get_data(as_text=True)
    assert GENERIC_SECRET not in page and "stored here, encrypted" in page and 'value="whsec' not in page
    assert rt.settings.source_secrets("generic") == (GENERIC_SECRET,)

    # "Send a test delivery": a signed sample through the real webhook route, stored like any other
    answer = post(client, "/admin/connectors/generic/test", token_from="/admin/connectors/generic")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Answer 200" in text
    assert json.loads(text.split("<pre>")[1].split("</pre>")[0].replace("&#34;", '"'))["accepted"] == 1
    with rt.db.session() as session:
        assert session.scalar(select(WebhookEvent.source)) == "generic"
    assert "Accepted today</dt><dd>1" in client.get("/admin/connectors/generic").get_data(as_text=True)


def test_an_empty_secret_box_keeps_the_stored_secret_and_clear_forgets_it(app, client):
    _admin(app, client)
    post(client, "/admin/connectors/generic", {"generic_webhook_secret": GENERIC_SECRET},
         token_from="/admin/connectors/generic")
    post(client, "/admin/connectors/generic", {"generic_webhook_secret": ""}, token_from="/admin/connectors/generic")
    rt = app.extensions["undertone"]
    assert rt.settings.source_secrets("generic") == (GENERIC_SECRET,)
    post(client, "/admin/connectors/generic", {"clear_generic_webhook_secret": "1"},
         token_from="/admin/connectors/generic")
    assert rt.reload_settings().source_secrets("generic") == ()


def test_the_environment_wins_and_is_shown_as_such(app, client, settings):
    _admin(app, client)
    page = client.get("/admin/connectors/quo").get_data(as_text=True)
    assert "Set in the environment" in page and settings.quo_webhook_secret.get_secret_value() not in page
    post(client, "/admin/connectors/quo", {"quo_webhook_secret": "b3RoZXI="}, token_from="/admin/connectors/quo")
    rt = app.extensions["undertone"]
    assert settings_store.load(rt.db, None, "quo_webhook_secret") is None  # nothing stored for it
    assert rt.reload_settings().quo_webhook_secret == settings.quo_webhook_secret


def test_an_invalid_value_is_refused_with_a_message_and_nothing_is_stored(app, client):
    _admin(app, client)
    rt = app.extensions["undertone"]
    version = settings_store.version(rt.db)
    answer = post(client, "/admin/connectors/generic", {"generic_webhook_secret": "whsec_***not base64***"},
                  token_from="/admin/connectors/generic")
    assert answer.status_code == 302
    page = client.get("/admin/connectors/generic").get_data(as_text=True)
    assert "GENERIC_WEBHOOK_SECRET: generic: a configured secret is not valid base64" in page
    assert "not base64" not in page  # the message never echoes the value
    post(client, "/admin/crm/", {"hubspot_api_base": "api.hubapi.com", "hubspot_default_owner_id": "7"},
         token_from="/admin/crm/")
    assert "HUBSPOT_API_BASE: give the full address" in client.get("/admin/crm/").get_data(as_text=True)
    assert settings_store.version(rt.db) == version  # one bad field: nothing of the form was stored
    assert rt.reload_settings().hubspot_default_owner_id is None
    assert client.post("/webhooks/generic", data=b"{}").status_code == 401


def test_another_process_sees_a_change_within_its_refresh_interval(app, client, settings):
    worker = Runtime(settings, refresh_s=0.2)  # what a worker builds, with a short interval for the test
    assert worker.settings.source_secrets("generic") == ()
    _admin(app, client)
    post(client, "/admin/connectors/generic", {"generic_webhook_secret": GENERIC_SECRET},
         token_from="/admin/connectors/generic")
    assert _eventually(lambda: worker.settings.source_secrets("generic") == (GENERIC_SECRET,))
    post(client, "/admin/crm/", {"hubspot_default_owner_id": "4242"}, token_from="/admin/crm/")
    assert _eventually(lambda: worker.settings.hubspot_default_owner_id == "4242")
    worker.db.dispose()


def _eventually(check, within_s: float = 3.0) -> bool:
    """Whether `check` comes true within a few refresh intervals (the refresh runs in the background)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_a_stored_secret_without_the_right_key_is_ignored_not_fatal(app, settings):
    from integration.store.secret_box import SecretBox

    rt = app.extensions["undertone"]
    settings_store.save(rt.db, SecretBox("some other key"), "generic_webhook_secret", GENERIC_SECRET, secret=True)
    assert rt.reload_settings().source_secrets("generic") == ()


def test_refused_deliveries_are_counted_with_the_last_reason(app, client):
    _admin(app, client)
    for _ in range(2):
        assert client.post("/webhooks/quo", data=b"{}", headers={"openphone-signature": "hmac;1;1;x"}
                           ).status_code == 401
    assert client.post("/webhooks/nosuch", data=b"{}").status_code == 404
    page = client.get("/admin/connectors/quo").get_data(as_text=True)
    assert "Refused in 24 h</dt><dd>2; last at" in page and "signature check failed" in page
    listing = client.get("/admin/connectors/").get_data(as_text=True)
    assert "/webhooks/quo" in listing and "nosuch" not in listing
