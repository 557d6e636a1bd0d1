"""An owner's edited rules apply to the next event a worker processes, through the real job path (claims, the
batch, the analyzer), once the settings interval has passed since the worker's last check.

The bug this guards (fixed in 48f030f): `process_event` read `rt.settings` before building the analyzer. A due
check then started in a background thread, which counted as "checked", so `context.analyzer()` found nothing due
and kept the old rules until a later job. Whether that thread finished first was a race, which only a browser test
lost (sometimes). Here the clock is the test's and the background check never finishes before the job ends, so
the old code fails every time and the fixed one (the check runs in the job and is waited for) passes every time.
"""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

from sqlalchemy import select

from connectors.base import InboundEvent
from integration import defaults, queues
from integration import runtime as runtime_module
from integration.store import inbox
from integration.store import rules as owner_rules
from integration.store.models import Interaction, WebhookEvent
from scoring.base import Score
from tests.workers.helpers import drain
from workers import context

NEUTRAL = Score("neutral", 0.0, "neutral", 0.5)


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _BackgroundChecks:
    """Stands in for `threading.Thread` in integration.runtime: a started check runs only when `finish` is called
    (a background settings check still under way while the job builds its analyzer)."""

    def __init__(self):
        self.pending = []

    def Thread(self, target, name=None, daemon=None):  # noqa: N802 (threading.Thread's name)
        return SimpleNamespace(start=lambda: self.pending.append(target))

    def finish(self):
        while self.pending:
            self.pending.pop()()


def _store(db, text: str, phone: str) -> list[int]:
    document = {"id": uuid.uuid4().hex, "channel": "sms", "text": text,
                "occurred_at": datetime.now(timezone.utc).isoformat(), "contact": {"phone": phone}}
    event = InboundEvent(document["id"], "interaction", json.dumps(document).encode())
    return inbox.accept(db, "generic", [event], lambda _type: True).new


def _flags(db, event_row_id: int) -> set[str]:
    with db.session() as session:
        event = session.get(WebhookEvent, event_row_id)
        assert event.status == "processed", event.last_error
        (interaction,) = session.scalars(select(Interaction)).all()
        return {flag["rule"] for flag in interaction.score.flags}


def test_an_edited_escalation_phrase_applies_to_the_next_processed_event(db, redis_conn, worker_env, monkeypatch):
    clock, checks = _Clock(), _BackgroundChecks()
    monkeypatch.setattr(runtime_module, "time", SimpleNamespace(monotonic=clock))
    monkeypatch.setattr(runtime_module, "threading",
                        SimpleNamespace(Thread=checks.Thread, Lock=threading.Lock, RLock=threading.RLock))
    before = context.analyzer()  # the worker starts (warm): the shipped rules
    assert not before.rules.evaluate(["the whole thing is bananas"], NEUTRAL)

    document = owner_rules.default("escalation", context.runtime().settings)  # the console's save, as it stores it
    anger = next(rule for rule in document["rules"] if rule["name"] == "anger")
    anger["phrases"] = [*anger.get("phrases", []), "bananas"]
    assert owner_rules.validate("escalation", document) == []
    owner_rules.save(db, "escalation", document)
    clock.now += defaults.SETTINGS_REFRESH_S  # the next job comes after the settings interval

    ids = _store(db, "Honestly, the whole thing is bananas.", "+14155550101")
    queues.enqueue_events(redis_conn, ids)
    try:
        drain(redis_conn)  # the real job: workers.jobs.process_event, its claims and batch
    finally:
        checks.finish()
    assert "anger" in _flags(db, ids[0])
