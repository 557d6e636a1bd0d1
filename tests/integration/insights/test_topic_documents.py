"""Recurring topics read the most recent interactions of the window, at most a bounded number."""
from __future__ import annotations

from datetime import timedelta

from integration.insights.themes import customer_texts
from integration.store.models import utcnow
from tests.integration.web.admin.interactions_data import add


def test_customer_texts_keeps_the_most_recent_within_the_window(db):
    now = utcnow()
    for n in range(6):
        add(db, n, label=None, at=now - timedelta(hours=n), text=f"message {n}")
    add(db, 99, label=None, at=now - timedelta(days=40), text="too old")
    assert customer_texts(db, now - timedelta(days=30)) == [f"message {n}" for n in range(6)]
    assert customer_texts(db, now - timedelta(days=30), limit=3) == ["message 0", "message 1", "message 2"]
