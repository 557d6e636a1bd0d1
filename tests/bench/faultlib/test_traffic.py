"""The fault suite's sender: signed like GENERIC_WEBHOOK_SECRET expects, retried until a 2xx, counted."""
from __future__ import annotations

import base64
import hashlib
import hmac

from bench.faultlib.traffic import SECRET, Traffic, marker
from tests.servers.json_api import JsonAPIServer


def valid(headers: dict, body: bytes) -> bool:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{headers['Webhook-Id']}.{headers['Webhook-Timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return headers["Webhook-Signature"] == f"v1,{expected}"


def test_retries_until_accepted_counts_every_post_and_sends_a_duplicate():
    bodies = []
    with JsonAPIServer() as api:
        def accept(request):
            bodies.append(request.json)
            return 200, {"accepted": 1}
        api.route("POST", "/webhooks/generic", accept)
        api.fail_next("/webhooks/generic", 503, count=2)
        traffic = Traffic(api.base_url, "t1")
        traffic.send(2)
        assert traffic.wait(30)
        traffic.close()
        seen = api.requests
    # two failures, two acceptances, and delivery 00000 (every tenth) once more
    assert [r.status for r in seen].count(503) == 2
    assert traffic.stats.sent == len(seen) == 5
    assert traffic.stats.statuses["503"] == 2 and traffic.stats.statuses["200"] == 3
    assert [d.id for d in traffic.accepted] == ["flt-t1-00000", "flt-t1-00001"]
    assert not traffic.abandoned
    assert all(b["summary"] == marker(b["id"]) for b in bodies)
    assert [b["id"] for b in bodies].count("flt-t1-00000") == 2


def test_signature_verifies_with_the_configured_secret():
    verdicts = []
    with JsonAPIServer() as api:
        def check(request):
            verdicts.append(valid(dict(request.headers), request.get_data()))
            return (200, {}) if verdicts[-1] else (401, {})
        api.route("POST", "/webhooks/generic", check)
        traffic = Traffic(api.base_url, "t2")
        traffic.send(1)
        assert traffic.wait(10)
        traffic.close()
    assert verdicts == [True, True]  # delivery 00000, and its duplicate


def test_unreachable_service_is_counted_not_raised():
    traffic = Traffic("http://127.0.0.1:9", "t3")  # discard port: nothing listens
    traffic.send(1)
    assert not traffic.wait(1.5)  # still retrying with backoff
    traffic.close()
    assert traffic.stats.statuses["no connection"] >= 1
    assert traffic.abandoned and not traffic.accepted
