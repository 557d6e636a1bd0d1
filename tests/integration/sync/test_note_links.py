"""A link taken from a webhook body reaches a CRM note only when it is http(s) on the provider's own host."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from integration.store.models import Interaction, InteractionScore
from integration.sync.content import note_body, safe_link


@pytest.mark.parametrize("source, url", [
    ("freshdesk", "https://brightline.freshdesk.com/helpdesk/tickets/4821"),
    ("zendesk", "https://brightline.zendesk.com/agent/tickets/7"),
    ("quo", "https://my.quo.com/inbox/PN1/c/CN1"),
    ("intercom", "https://app.intercom.com/a/apps/x/conversations/1"),
    ("hubspot", "https://app.hubspot.com/live-messages/1/inbox/2"),
    ("generic", "https://reviews.example.com/r/42"),  # no single provider host: any http(s) link
    ("generic", "http://reviews.example.com/r/42"),
])
def test_own_host_links_are_kept(source, url):
    assert safe_link(url, source) == url


@pytest.mark.parametrize("source, url", [
    ("freshdesk", "https://evil.example/phish"),
    ("freshdesk", "https://brightline.freshdesk.com.evil.example/x"),
    ("freshdesk", "https://evilfreshdesk.com/x"),
    ("freshdesk", "https://brightline.freshdesk.com@evil.example/x"),
    ("quo", "javascript:alert(1)"),
    ("generic", "javascript:alert(1)"),
    ("generic", "data:text/html,<script>alert(1)</script>"),
    ("generic", "ftp://files.example/x"),
    ("generic", "//evil.example/x"),
    ("generic", "https://[broken/x"),
    ("zendesk", "https://user:pass@brightline.zendesk.com/agent/tickets/7"),
])
def test_other_hosts_and_schemes_are_dropped(source, url):
    assert safe_link(url, source) is None


def interaction(source: str, url: str) -> Interaction:
    row = Interaction(source=source, thread_key="t1", channel="ticket", url=url,
                      occurred_at=datetime(2026, 11, 1, tzinfo=timezone.utc), turns=[], source_ids={})
    row.score = InteractionScore(scorer="lexicon", basis="customer_turns", label="negative", score=-0.5,
                                 intensity="negative", confidence=0.8, signals=[], turn_scores=[], flags=[],
                                 themes=[], trajectory="single", content_hash="x")
    return row


def test_note_carries_only_a_safe_link():
    assert 'href="https://brightline.freshdesk.com/a/tickets/1"' in note_body(
        interaction("freshdesk", "https://brightline.freshdesk.com/a/tickets/1"))
    hostile = note_body(interaction("freshdesk", "https://evil.example/login"))
    assert "evil.example" not in hostile and "<a " not in hostile
