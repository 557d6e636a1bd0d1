"""The demo's sample webhooks are real, valid Quo deliveries end to end."""
import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.serving import make_server

from connectors.base import Touch, WebhookRequest
from connectors.quo.inbound import QuoConnector
from integration.cli import demo, demo_history
from tests import keys
from tests.workers.helpers import drain


@pytest.mark.parametrize("scheme", ["classic", "standard"])
def test_samples_verify_and_parse(scheme):
    connector = QuoConnector([keys.QUO_CLASSIC, keys.QUO_STANDARD])
    for payload, _ in demo.samples():
        body = json.dumps(payload).encode()
        if scheme == "classic":
            headers = demo._classic_headers(body, keys.QUO_CLASSIC)
        else:
            headers = demo._standard_headers(body, keys.QUO_STANDARD)
        request = WebhookRequest(body=body, headers=headers, url="http://x/webhooks/quo")
        connector.verify(request)
        [event] = connector.events(request)
        if connector.handles(event.event_type):
            assert connector.parse(event)[0].thread_key == demo._thread_key(payload)


def test_history_is_valid_quo_deliveries_of_the_promised_shape():
    connector = QuoConnector([keys.QUO_CLASSIC])
    start = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    scored, touches, times = set(), [], []
    for payload in demo_history.events(start):
        body = json.dumps(payload).encode()
        request = WebhookRequest(body=body, headers=demo._classic_headers(body, keys.QUO_CLASSIC),
                                 url="http://x/webhooks/quo")
        connector.verify(request)
        [event] = connector.events(request)
        for item in connector.parse(event):
            if isinstance(item, Touch):
                touches.append(item)
            elif item.turns:
                scored.add(item.thread_key)
                times.append(item.occurred_at)
    assert sorted(scored) == sorted(demo_history.scored_thread_keys())
    assert len(touches) == sum(e.kind == "reply" for e in demo_history.HISTORY) > 0
    assert all(t.customer.phone and t.line for t in touches)
    assert min(times) == start - timedelta(days=58) and max(times) == start - timedelta(days=1)
    assert len({e["id"] for e in demo_history.events(start)}) == len(demo_history.events(start))  # fixed, unique
    assert [e["id"] for e in demo_history.events(start)] == [e["id"] for e in demo_history.events(datetime.now(
        timezone.utc))]


def test_demo_against_a_running_service_shows_scores_and_tasks(app, settings, redis_conn, worker_env, capsys):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    result = {}
    sender = threading.Thread(target=lambda: result.update(status=demo.run_demo(
        settings, f"http://127.0.0.1:{server.server_port}", wait_s=120)))
    sender.start()
    try:
        while sender.is_alive():  # RQ workers need the main thread (signals)
            drain(redis_conn, rounds=1)
            sender.join(timeout=0.2)
    finally:
        server.shutdown()
    out = capsys.readouterr().out
    assert result["status"] == 0, out
    history = len(demo_history.scored_thread_keys())
    assert f"history: {len(demo_history.events(datetime.now(timezone.utc)))} Quo events from the last 60 days " \
           f"sent, {len(demo_history.events(datetime.now(timezone.utc)))} new" in out
    assert f"history: {history} of {history} past conversations scored" in out
    assert out.count("-> 200") == 6
    assert "All 3 interactions scored and synced" in out
    assert "Call +13125550147 back today" in out
