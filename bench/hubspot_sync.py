"""HubSpot write-back under HubSpot's limits: calls per interaction, 429s, drain time, webhook-to-update delay.

Replays N interactions across M contacts as signed generic webhooks into the web process (gunicorn),
with W real `undertone worker` processes writing to the local HubSpot test server, which enforces
100 requests per 10 s and 5 searches per second like a Starter account. Prints:
- HubSpot calls per interaction (searches, updates, notes and tasks included; target at most 0.25),
- 429 answers received (target: none),
- time to drain (first webhook sent to every contact up to date),
- p50/p95 delay from an interaction's webhook to the first contact update after it.

    .venv/bin/python bench/hubspot_sync.py [--interactions 1000] [--contacts 200] [--workers 2]
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.webhook_ack import wait_up  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"bench-hubspot-sync-key-0123456789").decode()
TEXTS = [
    "Thank you, the technician was great and everything works now.",
    "I've been waiting three weeks and nobody has gotten back to me.",
    "Can you confirm my appointment for Friday morning?",
    "This is ridiculous, I want a refund.",
    "The new water heater is working perfectly, thanks!",
    "The sink is still leaking after your visit. Disappointing.",
]


def signed(document: dict) -> tuple[bytes, dict]:
    body = json.dumps(document).encode()
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    return body, {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": stamp,
                  "webhook-signature": f"v1,{signature}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    random.seed(args.seed)

    from connectors.hubspot.schema import CONTACT_PROPERTIES
    from integration.cli.embedded_redis import EmbeddedRedis, free_port
    from integration.store.migrate import upgrade
    from tests.servers.hubspot import HubSpotTestServer

    phones = [f"+1415555{i:04d}" for i in range(args.contacts)]
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis() as redis, \
            HubSpotTestServer(access_token="pat-bench", limit_per_window=100, window_s=10.0, search_per_second=5) as hubspot:
        for prop in CONTACT_PROPERTIES:
            hubspot.define_property(prop["name"], prop["type"], prop["fieldType"], options=prop.get("options"))
        ids = {phone: hubspot.add_contact({"phone": phone, "firstname": f"C{i}"}) for i, phone in enumerate(phones)}
        hubspot.clear_requests()
        database_url = f"sqlite:///{tmp}/bench.db"
        upgrade(database_url)
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis.url, "GENERIC_WEBHOOK_SECRET": SECRET,
               "SECRET_KEY": "bench-" + "k" * 32,
               "HUBSPOT_ACCESS_TOKEN": "pat-bench", "HUBSPOT_API_BASE": hubspot.base_url, "PYTHONPATH": str(ROOT)}
        port = free_port()
        bin_dir = Path(sys.executable).parent
        processes = [subprocess.Popen([str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
                                       "integration.web.app:create_app()"], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        processes += [subprocess.Popen([str(bin_dir / "undertone"), "--log-level", "WARNING", "worker"], env=env, cwd=ROOT,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(args.workers)]
        try:
            base = f"http://127.0.0.1:{port}"
            wait_up(base)
            sent = _replay(base, phones, args.interactions)
            drained = _wait_drained(database_url, args.contacts, started=min(t for _, t in sent))
            _report(hubspot, ids, sent, drained, args)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=20)


def _replay(base: str, phones: list[str], count: int) -> list[tuple[str, float]]:
    """Send the interactions (8 concurrent senders); returns (phone, time sent) per interaction."""
    plan = [(phones[i % len(phones)], random.choice(TEXTS)) for i in range(count)]
    session = requests.Session()

    def send(item):
        phone, text = item
        body, headers = signed({"id": uuid.uuid4().hex, "channel": "sms", "text": text,
                                "occurred_at": datetime.now(timezone.utc).isoformat(), "contact": {"phone": phone}})
        at = time.time()
        answer = session.post(f"{base}/webhooks/generic", data=body, headers=headers, timeout=30)
        answer.raise_for_status()
        return phone, at

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(send, plan))


def _wait_drained(database_url: str, contacts: int, started: float, timeout_s: float = 900) -> float:
    """Seconds from the first webhook until every event is processed and every contact synced."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        with engine.connect() as conn:
            pending = conn.execute(text("SELECT count(*) FROM webhook_events WHERE status = 'pending'")).scalar()
            behind = conn.execute(text("SELECT count(*) FROM contacts WHERE needs_sync_at IS NOT NULL AND "
                                       "(synced_at IS NULL OR synced_at < needs_sync_at)")).scalar()
            total = conn.execute(text("SELECT count(*) FROM contacts")).scalar()
        if pending == 0 and behind == 0 and total >= contacts:
            return time.time() - started
        time.sleep(0.5)
    raise SystemExit("did not drain in time")


def _report(hubspot, ids: dict, sent: list[tuple[str, float]], drained: float, args) -> None:
    calls = [r for r in hubspot.requests if not r.path.startswith("/conversations/")]
    updates = [(r.at, {i["id"] for i in r.json["inputs"]}) for r in calls
               if r.path == "/crm/v3/objects/contacts/batch/update" and r.status in (200, 207)]
    delays = []
    for phone, at in sent:
        after = [t for t, touched in updates if t >= at and ids[phone] in touched]
        if after:
            delays.append(min(after) - at)
    kinds: dict[str, int] = {}
    for r in calls:
        kinds[f"{r.method} {r.path.split('/crm/v3/objects/')[-1]}"] = kinds.get(f"{r.method} {r.path.split('/crm/v3/objects/')[-1]}", 0) + 1
    print(f"{args.interactions} interactions across {args.contacts} contacts, {args.workers} worker processes, "
          f"HubSpot test server at 100 requests/10 s and 5 searches/s\n")
    print(f"HubSpot calls:                 {len(calls)}  ({len(calls) / args.interactions:.3f} per interaction; target <= 0.25)")
    for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<40}{count:>6}")
    print(f"429 answers:                   {sum(1 for r in calls if r.status == 429)}  (target 0)")
    print(f"time to drain:                 {drained:.1f} s")
    if delays:
        ordered = sorted(delays)
        print(f"webhook -> contact update:     p50 {statistics.median(ordered):.1f} s, "
              f"p95 {ordered[int(len(ordered) * 0.95) - 1]:.1f} s, max {ordered[-1]:.1f} s "
              f"({len(delays)} of {len(sent)} matched to an update)")


if __name__ == "__main__":
    main()
