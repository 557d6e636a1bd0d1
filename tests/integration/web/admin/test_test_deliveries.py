"""Send a test delivery for every source: a sample signed per the vendor's real scheme, posted to the app's own
webhook route, accepted (2xx) and stored; a source without its secret says so and sends nothing."""
from __future__ import annotations

import html
import json

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from integration.store.models import WebhookEvent
from integration.web.app import create_app
from tests.connectors.signed_sources import SECRETS
from tests.integration.web.admin.console import make_user, post, sign_in

OTHER_SOURCES = ("twilio", "aircall", "dialpad", "zendesk", "intercom", "freshdesk", "hubspot")


@pytest.fixture
def signed_app(settings):
    """The console with every source's secret set (no PUBLIC_BASE_URL: the URL signed is the request's own)."""
    configured = settings.model_copy(update={name: SecretStr(value) for name, value in SECRETS.items()})
    application = create_app(configured)
    application.config["TESTING"] = True
    yield application
    application.extensions["undertone"].db.dispose()


def _stored(app, source: str) -> list[tuple[str, str]]:
    with app.extensions["undertone"].db.session() as session:
        return list(session.execute(select(WebhookEvent.event_type, WebhookEvent.status)
                                    .where(WebhookEvent.source == source)))


@pytest.mark.parametrize("source", OTHER_SOURCES)
def test_each_source_test_delivery_is_accepted_and_stored(signed_app, source):
    client = signed_app.test_client()
    sign_in(client, make_user(signed_app))
    page = client.get(f"/admin/connectors/{source}").get_data(as_text=True)
    assert "Send a test delivery</button>" in page
    answer = post(client, f"/admin/connectors/{source}/test", token_from=f"/admin/connectors/{source}")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200, text
    assert 'id="test-result"' in text and "Answer 200" in text
    result = json.loads(html.unescape(text.split("<pre>")[1].split("</pre>")[0]))
    assert result["accepted"] == 1, result
    events = _stored(signed_app, source)
    assert len(events) == 1 and events[0][1] == "pending", events
    # a second test delivery is a new event, not a duplicate of the first
    again = post(client, f"/admin/connectors/{source}/test", token_from=f"/admin/connectors/{source}")
    assert json.loads(html.unescape(again.get_data(as_text=True).split("<pre>")[1].split("</pre>")[0]))["accepted"] == 1
    assert len(_stored(signed_app, source)) == 2


@pytest.mark.parametrize("source", ("zendesk", "hubspot"))
def test_a_source_without_its_secret_says_so_and_sends_nothing(app, client, source):
    sign_in(client, make_user(app))
    answer = post(client, f"/admin/connectors/{source}/test", token_from=f"/admin/connectors/{source}")
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "webhook secret is not set" in html.unescape(page)
    with app.extensions["undertone"].db.session() as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


def test_a_viewer_cannot_send_a_test_delivery(signed_app):
    client = signed_app.test_client()
    make_user(signed_app)
    sign_in(client, make_user(signed_app, "viewer@example.com", "viewer"))
    page = client.get("/admin/connectors/twilio").get_data(as_text=True)
    assert "Send a test delivery</button>" not in page
    answer = post(client, "/admin/connectors/twilio/test", token_from="/admin/connectors/twilio")
    assert answer.status_code == 403
    assert _stored(signed_app, "twilio") == []
