"""Escalation reasons from scores and their signals."""
import pytest

from scoring.base import Score
from scoring.escalation import STRONG_NEGATIVE_REASON, escalation_reason


@pytest.mark.parametrize(
    "signals, intensity, expected",
    [
        (("cancel_intent",), "negative", "intent to cancel"),
        (("refund_request", "long_wait"), "negative", "asked for a refund"),
        (("cancel_intent", "chargeback_threat"), "negative", "threat of a chargeback"),
        (("escalation",), "negative", "asked for a manager, or threatened a complaint or legal action"),
        ((), "very_negative", STRONG_NEGATIVE_REASON),
        (("long_wait",), "negative", None),
        ((), "positive", None),
    ],
)
def test_reason_follows_signals_then_strength(signals, intensity, expected):
    value = {"very_negative": -0.9, "negative": -0.3, "positive": 0.4}[intensity]
    label = "positive" if value > 0 else "negative"
    assert escalation_reason(Score(label, value, intensity, 0.7, signals)) == expected


def test_every_mapped_signal_is_one_the_lexicon_can_raise():
    from scoring.cs_rules import RuleSet
    from scoring.escalation import SIGNAL_REASONS

    signals = {rule.signal for rule in RuleSet.load().rules}
    assert set(SIGNAL_REASONS) <= signals
