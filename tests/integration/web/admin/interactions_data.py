"""Interactions for the console's tests: stored directly (lists, filters, pages) or delivered as signed generic
webhooks and processed by a real RQ worker (detail, correction, the CRM sink)."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

from integration.store.models import Contact, ContactIdentity, Interaction, InteractionScore
from tests.connectors.signing import sign_standard, whsec_secret

SECRET = whsec_secret(b"console-interactions-test-key-0123")
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def add(db, n: int, *, source: str = "quo", channel: str = "call", label: str | None = "negative",
        score: float = -0.5, at: datetime | None = None, text: str = "It was fine", flags: list | None = None,
        themes: list | None = None, line: str | None = None, agent: str | None = None,
        contact_id: int | None = None) -> int:
    """One interaction (thread `t<n>`), scored unless label is None; returns its id."""
    with db.session() as session:
        row = Interaction(source=source, thread_key=f"t{n}", channel=channel, source_ids={},
                          occurred_at=at or T0 - timedelta(minutes=n), line=line, agent=agent,
                          turns=[{"speaker": "customer", "text": text, "at": None}], contact_id=contact_id)
        session.add(row)
        session.flush()
        if label is not None:
            session.add(InteractionScore(
                interaction_id=row.id, scorer="lexicon", basis="customer_turns", label=label, score=score,
                intensity=label, confidence=0.8, signals=[], content_hash=f"h{n}",
                turn_scores=[{"turn": 0, "label": label, "score": score}], flags=flags or [],
                escalation_reason=(flags[0]["reason"] if flags else None),
                themes=[{"theme": t, "how": "keyword", "evidence": text} for t in themes or []]))
        return row.id


def contact(db, name: str = "Dana Lee", email: str = "dana@example.com") -> int:
    with db.session() as session:
        row = Contact(name=name)
        session.add(row)
        session.flush()
        session.add(ContactIdentity(contact_id=row.id, kind="email", value=email))
        return row.id


def say(client, text: str, *, email: str = "dana@example.com", thread: str | None = None,
        at: datetime | None = None, extra: dict | None = None) -> None:
    """Deliver one message through the generic webhook, signed as a sender would."""
    document = {"id": uuid.uuid4().hex, "channel": "sms", "text": text,
                "occurred_at": (at or datetime.now(timezone.utc)).isoformat(), "contact": {"email": email},
                **({"thread_id": thread} if thread else {}), **(extra or {})}
    body = json.dumps(document).encode()
    answer = client.post("/webhooks/generic", data=body,
                         headers=sign_standard(body, SECRET, f"msg_{uuid.uuid4().hex}", int(time.time())))
    assert answer.status_code == 200, answer.get_json()
