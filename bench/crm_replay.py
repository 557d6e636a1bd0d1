"""Replays interactions through the whole service into the local HubSpot server (shared by hubspot_sync and scale).

Starts a HubSpot test server that enforces a Starter account's limits (100 requests per 10 s, 5
searches per second) holding M contacts, Redis, a fresh SQLite database, gunicorn and W real
`undertone worker` processes; sends N signed generic webhooks (8 concurrent senders) spread over the
contacts, either as one burst or paced at a steady rate; waits until every event is processed and every
contact synced.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

from bench import harness

SECRET = "whsec_" + base64.b64encode(b"bench-hubspot-sync-key-0123456789").decode()
TEXTS = [
    "Thank you, the technician was great and everything works now.",
    "I've been waiting three weeks and nobody has gotten back to me.",
    "Can you confirm my appointment for Friday morning?",
    "This is ridiculous, I want a refund.",
    "The new water heater is working perfectly, thanks!",
    "The sink is still leaking after your visit. Disappointing.",
]


SEND_ATTEMPTS = 5
RETRIED: list[str] = []  # event ids of the last replay's sends that met a 503 (once per retry)


@dataclass
class Sent:
    event_id: str
    phone: str
    at: float  # time.time() just before the POST


@dataclass
class Run:
    """What one replay produced: the interactions sent, when they were processed, HubSpot's request log."""

    sent: list[Sent]
    drained_s: float
    processed_at: dict[str, float]  # event id -> epoch seconds
    requests: list = field(default_factory=list)  # the HubSpot test server's recorded requests
    hubspot_ids: dict[str, str] = field(default_factory=dict)  # phone -> HubSpot contact id


def signed(document: dict) -> tuple[bytes, dict]:
    body = json.dumps(document).encode()
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    return body, {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": stamp,
                  "webhook-signature": f"v1,{signature}"}


def run(interactions: int, contacts: int, workers: int, seed: int = 7, scorer: str | None = None,
        extra_env: dict | None = None, rate: float | None = None) -> Run:
    """Replay `interactions` across `contacts` through `workers` worker processes; return what happened.

    `rate`: interactions per second, sent at a steady pace; None sends them as one burst."""
    from connectors.hubspot.schema import CONTACT_PROPERTIES
    from integration.cli.embedded_redis import EmbeddedRedis, free_port
    from tests.servers.hubspot import HubSpotTestServer

    random.seed(seed)
    phones = [f"+1415555{i:04d}" for i in range(contacts)]
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis() as redis, \
            harness.fresh_database("sqlite", tmp) as database_url, \
            HubSpotTestServer(access_token="pat-bench", limit_per_window=100, window_s=10.0,
                              search_per_second=5) as hubspot:
        for prop in CONTACT_PROPERTIES:
            hubspot.define_property(prop["name"], prop["type"], prop["fieldType"], options=prop.get("options"))
        ids = {phone: hubspot.add_contact({"phone": phone, "firstname": f"C{i}"}) for i, phone in enumerate(phones)}
        hubspot.clear_requests()
        env = harness.process_env(DATABASE_URL=database_url, REDIS_URL=redis.url, GENERIC_WEBHOOK_SECRET=SECRET,
                                  HUBSPOT_ACCESS_TOKEN="pat-bench", HUBSPOT_API_BASE=hubspot.base_url,
                                  **({"SCORER": scorer} if scorer else {}), **(extra_env or {}))
        port = free_port()
        processes = [harness.start_gunicorn("integration.web.app:create_app()", env, port)]
        processes += harness.start_workers(workers, env)
        try:
            base = f"http://127.0.0.1:{port}"
            harness.wait_up(base)
            _wait_workers_ready(base, database_url, phones[0], redis.url, workers)
            time.sleep(3)  # let the warm-up's flush go out before counting requests
            hubspot.clear_requests()
            sent = _replay(base, phones, interactions, rate)
            drained = _wait_drained(database_url, contacts, interactions, started=min(s.at for s in sent))
            return Run(sent, drained, _processed_at(database_url), list(hubspot.requests), ids)
        finally:
            harness.stop(processes)


def _wait_workers_ready(base: str, database_url: str, phone: str, redis_url: str, workers: int,
                        timeout_s: float = 300) -> None:
    """Wait until every worker has loaded its scorer (an RQ worker registers once `warm()` is done), then send one
    warm-up interaction and wait until a worker has processed it: the burst meets warm workers, as in service."""
    from redis import Redis
    from rq import Worker
    from sqlalchemy import create_engine, text

    deadline = time.monotonic() + timeout_s
    with Redis.from_url(redis_url) as connection:
        while len(Worker.all(connection=connection)) < workers:
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not start")
            time.sleep(0.5)

    body, headers = signed({"id": "warm-up", "channel": "sms", "text": "hello",
                            "occurred_at": datetime.now(timezone.utc).isoformat(), "contact": {"phone": phone}})
    requests.post(f"{base}/webhooks/generic", data=body, headers=headers, timeout=30).raise_for_status()
    engine = create_engine(database_url)
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(text("SELECT count(*) FROM webhook_events WHERE status = 'processed'")).scalar():
                    return
            time.sleep(0.5)
    finally:
        engine.dispose()
    raise SystemExit("the workers did not start")


def _replay(base: str, phones: list[str], count: int, rate: float | None = None) -> list[Sent]:
    """Send the interactions (8 concurrent senders), as one burst or, with `rate`, the i-th one at i / rate
    seconds after the first; returns what was sent and when."""
    plan = [(i, uuid.uuid4().hex, phones[i % len(phones)], random.choice(TEXTS)) for i in range(count)]
    retried = RETRIED
    retried.clear()
    session = requests.Session()
    start = time.monotonic()

    def send(item) -> Sent:
        index, event_id, phone, text = item
        if rate:
            time.sleep(max(0.0, start + index / rate - time.monotonic()))
        body, headers = signed({"id": event_id, "channel": "sms", "text": text,
                                "occurred_at": datetime.now(timezone.utc).isoformat(), "contact": {"phone": phone}})
        if rate:
            # a new connection per paced send, as a sender at that pace would open: a kept-alive one sits idle past
            # gunicorn's keep-alive and the server can close it just as the next POST goes out
            headers["connection"] = "close"
        at = time.time()
        for attempt in range(SEND_ATTEMPTS):  # a 503 is retried, as webhook senders retry it
            response = session.post(f"{base}/webhooks/generic", data=body, headers=headers, timeout=30)
            if response.status_code != 503 or attempt == SEND_ATTEMPTS - 1:
                break
            retried.append(event_id)
            time.sleep(1.0)
        response.raise_for_status()
        return Sent(event_id, phone, at)  # `at` is the first attempt: a retry's wait counts in the delay

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(send, plan))


def _wait_drained(database_url: str, contacts: int, interactions: int, started: float,
                  timeout_s: float = 1800) -> float:
    """Seconds from the first webhook until every event is processed and every contact synced."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    deadline = time.time() + timeout_s
    try:
        while time.time() < deadline:
            with engine.connect() as conn:
                pending = conn.execute(text("SELECT count(*) FROM webhook_events WHERE status = 'pending'")).scalar()
                behind = conn.execute(text("SELECT count(*) FROM contacts WHERE needs_sync_at IS NOT NULL AND "
                                           "(synced_at IS NULL OR synced_at < needs_sync_at)")).scalar()
                total = conn.execute(text("SELECT count(*) FROM contacts")).scalar()
            if pending == 0 and behind == 0 and total >= min(contacts, interactions):
                return time.time() - started
            time.sleep(0.5)
    finally:
        engine.dispose()
    raise SystemExit("did not drain in time")


def _processed_at(database_url: str) -> dict[str, float]:
    from sqlalchemy import select

    from integration.store.db import Database
    from integration.store.models import WebhookEvent

    db = Database(database_url)
    try:
        with db.session() as session:
            rows = session.execute(select(WebhookEvent.event_id, WebhookEvent.processed_at))
            return {event_id: at.timestamp() for event_id, at in rows if at is not None}
    finally:
        db.dispose()


def update_delays(result: Run) -> list[float]:
    """Per interaction: seconds from its webhook to the first HubSpot update of its contact sent after the
    interaction was processed (an update sent earlier carried an older interaction, not this one)."""
    updates = [(r.at, {i["id"] for i in r.json["inputs"]}) for r in result.requests
               if r.path == "/crm/v3/objects/contacts/batch/update" and r.status in (200, 207)]
    delays = []
    for sent in result.sent:
        processed = result.processed_at.get(sent.event_id, float("inf"))
        after = [t for t, touched in updates if t >= processed and result.hubspot_ids[sent.phone] in touched]
        if after:
            delays.append(min(after) - sent.at)
    return delays


def processing_delays(result: Run) -> list[float]:
    """Per interaction: seconds from its webhook until a worker had processed it."""
    return [result.processed_at[s.event_id] - s.at for s in result.sent if s.event_id in result.processed_at]


def send_span(result: Run) -> float:
    """Seconds from the first webhook sent to the last."""
    return max(s.at for s in result.sent) - min(s.at for s in result.sent)


def processing_span(result: Run) -> float:
    """Seconds from the first webhook until the last of them was processed."""
    done = [result.processed_at[s.event_id] for s in result.sent if s.event_id in result.processed_at]
    return max(done) - min(s.at for s in result.sent)


def flush_delays(result: Run) -> list[float]:
    """Per interaction: seconds from its processing to the first HubSpot update of its contact after that."""
    updates = [(r.at, {i["id"] for i in r.json["inputs"]}) for r in result.requests
               if r.path == "/crm/v3/objects/contacts/batch/update" and r.status in (200, 207)]
    delays = []
    for sent in result.sent:
        processed = result.processed_at.get(sent.event_id)
        after = [t for t, touched in updates
                 if processed is not None and t >= processed and result.hubspot_ids[sent.phone] in touched]
        if after:
            delays.append(min(after) - processed)
    return delays
