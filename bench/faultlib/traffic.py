"""Signed generic deliveries, sent like a provider sends them: retried on any non-2xx or no answer.

Each delivery is one interaction of one of a fixed set of customers; its `summary` carries a marker
(`fault-delivery <id>`) that the CRM note shows, so what reached the CRM is read from the CRM itself.
Every tenth accepted delivery is delivered once more later (providers send duplicates). All loops
are bounded in attempts and in time, and only 127.0.0.1 is ever called.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

SECRET = "whsec_" + base64.b64encode(b"faults-suite-signing-key-0123456789").decode()
CONTACTS = 30
TEXTS = [
    "Thank you, the technician was great and everything works now.",
    "I've been waiting three weeks and nobody has gotten back to me.",
    "Can you confirm my appointment for Friday morning?",
    "This is ridiculous, I want a refund.",
    "The sink is still leaking after your visit. Disappointing.",
]
REQUEST_TIMEOUT_S = 10  # a provider's patience per request (most allow 10-30 s)
BACKOFF_S = (0.5, 1, 2, 4, 8)  # between attempts of one delivery; the last repeats
MAX_ATTEMPTS = 60
GIVE_UP_S = 300  # a delivery not accepted within this long is abandoned (and reported)
SENDERS = 4
DUPLICATE_EVERY = 10
SLOW_S = 5.0  # an acknowledgement slower than this is reported


def phones() -> list[str]:
    return [f"+1415555{i:04d}" for i in range(CONTACTS)]


def marker(delivery_id: str) -> str:
    return f"fault-delivery {delivery_id}"


def signed(document: dict, msg_id: str) -> tuple[bytes, dict]:
    """Standard Webhooks signature, as GENERIC_WEBHOOK_SECRET expects (re-signed on every attempt)."""
    body = json.dumps(document).encode()
    stamp = str(int(time.time()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    return body, {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": stamp,
                  "webhook-signature": f"v1,{signature}"}


@dataclass
class Delivery:
    id: str
    document: dict
    msg_id: str
    accepted_at: float | None = None
    attempts: int = 0


@dataclass
class Stats:
    """What the senders saw: every POST counts in `sent` (retries and duplicates included)."""

    sent: int = 0
    statuses: Counter = field(default_factory=Counter)  # "200", "503", "timeout", "refused", ...
    slow: int = 0
    slowest_s: float = 0.0
    html_errors: int = 0  # 5xx answered with an HTML page instead of JSON


class Traffic:
    """Sends deliveries from a few threads; `wait()` blocks until each is accepted or abandoned."""

    def __init__(self, base_url: str, run_id: str, seed: int = 7):
        self.base_url = base_url
        self.run_id = run_id
        self.random = random.Random(seed)
        self.deliveries: list[Delivery] = []
        self.stats = Stats()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="sender")
        self._futures = []
        self._sessions = threading.local()
        self._stop = threading.Event()

    # ------------------------------------------------------------------ sending

    def send(self, count: int, rate_per_s: float | None = None) -> None:
        """Queue `count` new deliveries, paced at `rate_per_s` (None: as fast as the senders go); returns at once."""
        start = time.monotonic()
        for i in range(count):
            delivery = self._new()
            at = start + i / rate_per_s if rate_per_s else 0.0
            self._futures.append(self._pool.submit(self._deliver, delivery, at, True))

    def send_for(self, seconds: float, rate_per_s: float) -> None:
        self.send(max(1, int(seconds * rate_per_s)), rate_per_s)

    def wait(self, timeout_s: float) -> bool:
        """True when every delivery was accepted or abandoned within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        for future in list(self._futures):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                future.result(timeout=remaining)
            except TimeoutError:
                return False
        return True

    def done(self) -> bool:
        """Every delivery accepted or abandoned (duplicates sent too)."""
        return all(f.done() for f in self._futures)

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    @property
    def accepted(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.accepted_at is not None]

    @property
    def abandoned(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.accepted_at is None]

    # ------------------------------------------------------------------ internals

    def _new(self) -> Delivery:
        with self._lock:
            number = len(self.deliveries)
            delivery_id = f"flt-{self.run_id}-{number:05d}"
            document = {"id": delivery_id, "type": "interaction", "channel": "sms",
                        "text": self.random.choice(TEXTS), "summary": marker(delivery_id),
                        "occurred_at": datetime.now(timezone.utc).isoformat(),
                        "contact": {"phone": phones()[number % CONTACTS]}}
            delivery = Delivery(delivery_id, document, f"msg_{uuid.uuid4().hex}")
            self.deliveries.append(delivery)
            return delivery

    def _deliver(self, delivery: Delivery, at: float, original: bool) -> None:
        """Send until accepted (bounded); every DUPLICATE_EVERY-th is then sent once more."""
        pause = at - time.monotonic()
        if pause > 0 and self._stop.wait(pause):
            return
        started = time.monotonic()
        for attempt in range(MAX_ATTEMPTS):
            if self._stop.is_set() or time.monotonic() - started > GIVE_UP_S:
                return
            if self._post(delivery):
                if original and delivery.accepted_at is None:
                    delivery.accepted_at = time.monotonic()
                break
            self._stop.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)] * (0.75 + self.random.random() / 2))
        if original and delivery.accepted_at is not None and int(delivery.id[-5:]) % DUPLICATE_EVERY == 0:
            self._deliver(delivery, time.monotonic() + 1.0, False)

    def _post(self, delivery: Delivery) -> bool:
        session = getattr(self._sessions, "session", None) or requests.Session()
        self._sessions.session = session
        body, headers = signed(delivery.document, delivery.msg_id)
        began = time.monotonic()
        try:
            answer = session.post(f"{self.base_url}/webhooks/generic", data=body, headers=headers,
                                  timeout=REQUEST_TIMEOUT_S)
            status = str(answer.status_code)
            html = answer.status_code >= 500 and "json" not in answer.headers.get("content-type", "")
        except requests.Timeout:
            status, html = "timeout", False
        except requests.ConnectionError:
            status, html = "no connection", False
        took = time.monotonic() - began
        with self._lock:
            delivery.attempts += 1
            self.stats.sent += 1
            self.stats.statuses[status] += 1
            self.stats.slowest_s = max(self.stats.slowest_s, took)
            self.stats.slow += took > SLOW_S
            self.stats.html_errors += html
        return status.startswith("2")
