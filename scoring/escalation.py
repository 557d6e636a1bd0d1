"""Escalation: when a scored interaction needs a person's attention now, and why.

Rules are data: a signal raised by a scorer maps to a reason. The full rule set (anger, competitors,
repeat contact within 48 hours...) arrives with the AI scoring issue; this is its foundation.
"""
from __future__ import annotations

from scoring.base import Score

# Scorer signal -> escalation reason. Order matters: the first match is the reported reason.
SIGNAL_REASONS: dict[str, str] = {
    "chargeback_threat": "threat of a chargeback",
    "escalation": "asked for a manager, or threatened a complaint or legal action",
    "public_review": "threat of a bad review",
    "cancel_intent": "intent to cancel",
    "switching_provider": "leaving for a competitor",
    "refund_request": "asked for a refund",
    "money_not_returned": "promised refund not received",
}
STRONG_NEGATIVE_REASON = "strongly negative"


def escalation_reason(score: Score, signal_reasons: dict[str, str] | None = None) -> str | None:
    """The reason to escalate, or None. A very negative interaction escalates even without a rule hit."""
    reasons = signal_reasons or SIGNAL_REASONS
    for signal, reason in reasons.items():
        if any(s == signal or s.startswith(signal + ":") for s in score.signals):
            return reason
    if score.intensity == "very_negative":
        return STRONG_NEGATIVE_REASON
    return None
