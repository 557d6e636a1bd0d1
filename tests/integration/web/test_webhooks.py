"""POST /webhooks/<source>: verification, storage, dedupe and enqueueing, on both databases."""
from __future__ import annotations

import time

import pytest
from pydantic import SecretStr
from rq import Queue
from sqlalchemy import select

from integration import defaults
from integration.store.models import WebhookEvent
from tests import keys
from tests.quo_requests import classic_headers, fixture_body, standard_headers

TRANSCRIPT = "call_transcript_completed.json"


def stored_events(app) -> list[WebhookEvent]:
    with app.extensions["undertone"].db.session() as session:
        return list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def post(client, body: bytes, headers: dict, source: str = "quo"):
    return client.post(f"/webhooks/{source}", data=body, headers=headers)


def test_classic_signed_event_is_stored_and_queued(app, client, redis_conn):
    body = fixture_body(TRANSCRIPT)
    response = post(client, body, classic_headers(body))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"accepted": 1, "queued": 1, "duplicates": 0, "ignored": 0}
    [event] = stored_events(app)
    assert (event.source, event.event_type, event.status) == ("quo", "call.transcript.completed", "pending")
    assert event.body == body  # the raw bytes, exactly as signed
    assert "openphone-signature" in event.headers
    assert Queue(defaults.EVENTS_QUEUE, connection=redis_conn).job_ids == [f"event-{event.id}"]


def test_standard_webhooks_event_uses_webhook_id_for_dedupe(app, client):
    body = fixture_body("v2026_message_received.json")
    headers = standard_headers(body, msg_id="msg_2026_abc")
    assert post(client, body, headers).status_code == 200
    assert post(client, body, standard_headers(body, msg_id="msg_2026_abc")).get_json()["duplicates"] == 1
    [event] = stored_events(app)
    assert event.event_id == "msg_2026_abc"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda b, h: (b.replace(b"third", b"fifth"), h), id="changed-byte"),
        pytest.param(lambda b, h: (b, classic_headers(b, secret=keys.QUO_CLASSIC_ROTATED)), id="wrong-secret"),
        pytest.param(lambda b, h: (b, {"content-type": "application/json"}), id="missing-header"),
        pytest.param(lambda b, h: (b, {"openphone-signature": "garbage"}), id="malformed-header"),
        pytest.param(lambda b, h: (b, {"openphone-signature": h["openphone-signature"].replace("hmac;1", "hmac;2")}),
                     id="unknown-version"),
        pytest.param(lambda b, h: (b, classic_headers(b, at=time.time() - 3600)), id="stale-timestamp"),
        pytest.param(lambda b, h: (b, classic_headers(b, at=time.time() + 3600)), id="future-timestamp"),
        pytest.param(lambda b, h: (b, standard_headers(b, at=time.time() - 3600)), id="stale-standard"),
        pytest.param(lambda b, h: (b, standard_headers(b, secret=keys.QUO_STANDARD.replace("A", "B"))),
                     id="wrong-standard-secret"),
    ],
)
def test_bad_signatures_are_refused_and_nothing_is_stored(app, client, redis_conn, tamper):
    body = fixture_body(TRANSCRIPT)
    bad_body, bad_headers = tamper(body, classic_headers(body))
    response = post(client, bad_body, bad_headers)
    assert response.status_code == 401
    assert "signature" in response.get_json()["error"]
    assert stored_events(app) == []
    assert Queue(defaults.EVENTS_QUEUE, connection=redis_conn).count == 0


def test_two_secrets_during_rotation_both_accepted(settings, client, app):
    settings.quo_webhook_secret = type(settings.quo_webhook_secret)(f"{keys.QUO_CLASSIC_ROTATED},{keys.QUO_CLASSIC}")
    first = fixture_body(TRANSCRIPT, event_id="EVrotation1")
    second = fixture_body(TRANSCRIPT, event_id="EVrotation2")
    assert post(client, first, classic_headers(first, secret=keys.QUO_CLASSIC)).status_code == 200
    assert post(client, second, classic_headers(second, secret=keys.QUO_CLASSIC_ROTATED)).status_code == 200
    assert [e.event_id for e in stored_events(app)] == ["EVrotation1", "EVrotation2"]


def test_a_connector_is_built_once_for_its_secrets_and_again_when_they_change(settings, client, app, monkeypatch):
    """Building a connector decodes its keys, so the web path keeps it; a secret changed (in the console, or here in
    place) makes another one at once: the old key is refused from the next request on."""
    from connectors import registry
    from connectors.quo.inbound import QuoConnector

    built: list[tuple[str, ...]] = []

    class CountedQuo(QuoConnector):
        def __init__(self, secrets=(), **options):
            built.append(tuple(secrets))
            super().__init__(secrets, **options)

    monkeypatch.setattr(registry, "inbound_class", lambda source: CountedQuo)
    settings.quo_webhook_secret = SecretStr(keys.QUO_CLASSIC)
    bodies = [fixture_body(TRANSCRIPT, event_id=f"EVkept{i}") for i in range(3)]
    assert post(client, bodies[0], classic_headers(bodies[0])).status_code == 200
    assert post(client, bodies[1], classic_headers(bodies[1])).status_code == 200
    assert built == [(keys.QUO_CLASSIC,)]
    settings.quo_webhook_secret = SecretStr(keys.QUO_CLASSIC_ROTATED)
    assert post(client, bodies[2], classic_headers(bodies[2])).status_code == 401
    assert post(client, bodies[2], classic_headers(bodies[2], secret=keys.QUO_CLASSIC_ROTATED)).status_code == 200
    assert built == [(keys.QUO_CLASSIC,), (keys.QUO_CLASSIC_ROTATED,)]


def test_oversize_body_is_refused_before_parsing(app, client):
    body = b'{"padding": "' + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1) + b'"}'
    response = post(client, body, classic_headers(body))
    assert response.status_code == 413
    assert stored_events(app) == []


def test_non_json_body_with_valid_signature_is_400(app, client):
    body = b"this is not json"
    response = post(client, body, classic_headers(body))
    assert response.status_code == 400
    assert "malformed" in response.get_json()["error"]
    assert stored_events(app) == []


def test_unknown_source_is_404(client):
    body = b"{}"
    assert post(client, body, {}, source="nosuchsystem").status_code == 404


def test_source_without_secret_refuses_even_signed_requests(settings, client, app):
    settings.quo_webhook_secret = None
    body = fixture_body(TRANSCRIPT)
    response = post(client, body, classic_headers(body))
    assert response.status_code == 401
    assert "no secret configured" in response.get_json()["error"]
    assert stored_events(app) == []


def test_event_type_we_do_not_use_is_acknowledged_and_recorded_as_ignored(app, client, redis_conn):
    body = fixture_body("call_ringing.json")
    response = post(client, body, classic_headers(body))
    assert response.status_code == 200
    assert response.get_json()["ignored"] == 1
    [event] = stored_events(app)
    assert event.status == "ignored" and event.processed_at is not None
    assert Queue(defaults.EVENTS_QUEUE, connection=redis_conn).count == 0


def test_same_delivery_ten_times_is_stored_once(app, client, redis_conn):
    body = fixture_body(TRANSCRIPT)
    answers = [post(client, body, classic_headers(body)).get_json() for _ in range(10)]
    assert answers[0]["accepted"] == 1
    assert all(a == {"accepted": 0, "queued": 0, "duplicates": 1, "ignored": 0} for a in answers[1:])
    assert len(stored_events(app)) == 1
    assert Queue(defaults.EVENTS_QUEUE, connection=redis_conn).count == 1


def test_redis_down_at_ingest_leaves_event_pending(settings, client, app, redis_server):
    settings.redis_url = "redis://127.0.0.1:1/0"  # nothing listens there
    body = fixture_body(TRANSCRIPT)
    response = post(client, body, classic_headers(body))
    assert response.status_code == 200
    assert response.get_json() == {"accepted": 1, "queued": 0, "duplicates": 0, "ignored": 0}
    [event] = stored_events(app)
    assert event.status == "pending"


def test_database_down_answers_503_so_the_sender_retries(settings, client):
    settings.database_url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1"
    body = fixture_body(TRANSCRIPT)
    response = post(client, body, classic_headers(body))
    assert response.status_code == 503
    assert "retry" in response.get_json()["error"]


def test_health_reports_database_redis_and_queues(settings, client, redis_conn):
    settings.healthz_token = SecretStr("health-token-1")
    body = fixture_body(TRANSCRIPT)
    post(client, body, classic_headers(body))
    report = client.get("/healthz", headers={"Authorization": "Bearer health-token-1"}).get_json()
    assert report["status"] == "ok"
    assert report["database"] == "ok" and report["redis"] == "ok"
    assert report["pending_events"] == 1
    assert report["queues"][defaults.EVENTS_QUEUE] == {"queued": 1, "failed": 0}


def test_health_is_degraded_without_redis_and_503_without_database(settings, client):
    settings.redis_url = "redis://127.0.0.1:1/0"
    degraded = client.get("/healthz")
    assert degraded.status_code == 200 and degraded.get_json()["status"] == "degraded"


def test_health_503_without_database(settings, client):
    settings.database_url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1"
    settings.healthz_token = SecretStr("health-token-1")
    down = client.get("/healthz", headers={"Authorization": "Bearer health-token-1"})
    assert down.status_code == 503 and down.get_json()["database"].startswith("error")


def test_credentials_in_headers_are_not_stored(app):
    from connectors.base import InboundEvent
    from integration.store import inbox

    runtime = app.extensions["undertone"]
    event = InboundEvent("EVheaders", "call.completed", b"{}")
    inbox.accept(runtime.db, "quo", [event], lambda _t: True,
                 {"Authorization": "Basic c2VjcmV0", "X-Undertone-Token": "s3cret", "User-Agent": "Freshdesk"})
    [stored] = stored_events(app)
    assert stored.headers == {"user-agent": "Freshdesk"}


@pytest.mark.parametrize("new, duplicates, ignored, queued", [(1, 0, 0, 1), (0, 1, 0, 0), (12, 3, 101, 0)])
def test_the_acknowledgement_is_what_jsonify_answers(app, new, duplicates, ignored, queued):
    """The 200 is written out without jsonify's encoder: the same bytes and headers."""
    from flask import jsonify

    from integration.store.inbox import AcceptResult
    from integration.web import webhooks

    result = AcceptResult(new=list(range(new)), duplicates=duplicates, ignored=ignored)
    with app.test_request_context():
        ours = webhooks._accepted(result, queued=queued)
        theirs = jsonify(accepted=new, queued=queued, duplicates=duplicates, ignored=ignored)
    assert ours.get_data() == theirs.get_data()
    assert list(ours.headers.items()) == list(theirs.headers.items()) and ours.status_code == theirs.status_code == 200


@pytest.mark.parametrize("environ", [
    {},
    {"CONTENT_LENGTH": "", "CONTENT_TYPE": ""},  # empty: werkzeug leaves them out
    {"HTTP_CONTENT_TYPE": "text/plain", "HTTP_CONTENT_LENGTH": "3"},  # some servers copy them: werkzeug ignores these
])
def test_the_stored_headers_are_werkzeugs_lower_cased_in_its_order(app, environ):
    """The webhook reads headers from the WSGI environ, as werkzeug's request.headers does."""
    from flask import request

    from integration.web import webhooks

    headers = {"Content-Type": "application/json", "X-Quo-Thing": "a, b", "Authorization": "Bearer t",
               "Openphone-Signature": "hmac;1;2;x", "User-Agent": "Quo/1"}
    with app.test_request_context("/webhooks/quo", method="POST", data=b"{}", headers=headers,
                                  environ_overrides=environ):
        expected = [(name.lower(), value) for name, value in request.headers.items()]
        assert list(webhooks._request_headers(request.environ).items()) == expected
        assert len(expected) >= 5
