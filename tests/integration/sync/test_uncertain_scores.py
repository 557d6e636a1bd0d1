"""Below the configured confidence a negative score opens no follow-up task on its own (an escalation still
does), and the note says the score is uncertain (issue 14)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from integration import defaults
from integration.store.models import Interaction, InteractionScore
from integration.sync.content import follow_up, follow_up_rules, note_body

NOW = datetime(2026, 11, 2, tzinfo=timezone.utc)


def interaction(confidence: float, escalation: str | None = None) -> Interaction:
    row = Interaction(source="quo", thread_key="t1", channel="sms", url=None, occurred_at=NOW - timedelta(hours=1),
                      turns=[{"speaker": "customer", "text": "still broken"}], source_ids={})
    flags = [{"rule": "refund", "reason": escalation, "evidence": "I want a refund"}] if escalation else []
    row.score = InteractionScore(scorer="flair", basis="customer_turns", label="negative", score=-0.7,
                                 intensity="very_negative", confidence=confidence, signals=[],
                                 turn_scores=[{"turn": 0, "score": -0.7}], flags=flags, themes=[], trajectory="single",
                                 content_hash="x", escalation_reason=escalation)
    return row


def test_a_confident_negative_opens_a_task_an_uncertain_one_does_not():
    minimum = next(r for r in follow_up_rules()["rules"] if r["reason"] == "negative_sentiment")["min_confidence"]
    assert follow_up(interaction(minimum + 0.1), "Dana", NOW)[0] == "negative_sentiment"
    assert follow_up(interaction(minimum - 0.1), "Dana", NOW) is None


def test_an_escalation_opens_a_task_whatever_the_confidence():
    decided = follow_up(interaction(0.4, escalation="asked for a refund"), "Dana", NOW)
    assert decided is not None and decided[0] == "escalation"


def test_a_rule_without_min_confidence_ignores_it():
    rules = {"max_age_days": 7, "rules": [{"reason": "negative_sentiment", "when": "score_at_most", "threshold": -0.3,
                                           "due_hours": 24, "subject": "s", "body": "b"}]}
    assert follow_up(interaction(0.1), "Dana", NOW, rules)[0] == "negative_sentiment"


def test_the_note_says_when_the_score_is_uncertain():
    assert "uncertain score" in note_body(interaction(defaults.UNCERTAIN_CONFIDENCE - 0.05))
    assert "uncertain" not in note_body(interaction(defaults.UNCERTAIN_CONFIDENCE + 0.05))
