"""Escalation reasons from scores and their signals."""
import pytest

from scoring.base import Score
from scoring.escalation import STRONG_NEGATIVE_REASON, escalation_reason


@pytest.mark.parametrize(
    "signals, intensity, expected",
    [
        (("cancel",), "negative", "intent to cancel or leave"),
        (("refund", "manager"), "negative", "asked for a refund"),
        (("legal_threat", "cancel"), "negative", "threat of legal action or chargeback"),
        ((), "very_negative", STRONG_NEGATIVE_REASON),
        (("long_wait",), "negative", None),
        ((), "positive", None),
    ],
)
def test_reason_follows_signals_then_strength(signals, intensity, expected):
    value = {"very_negative": -0.9, "negative": -0.3, "positive": 0.4}[intensity]
    label = "positive" if value > 0 else "negative"
    assert escalation_reason(Score(label, value, intensity, 0.7, signals)) == expected
