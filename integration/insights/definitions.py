"""The definitions every insight uses, as named constants (the README's "Definitions" section says the same).

- complaint: an interaction scored negative; compliment: an interaction scored positive.
- unresolved: an interaction scored negative, or carrying an escalation flag, that was not followed by a positive
  interaction of the same contact.
- callback: the same contact back (any inbound interaction) within CALLBACK_WINDOW after an interaction.
- week: starts on Monday 00:00 in the business's TIMEZONE (settings.timezone).
- trend verdict: the least-squares slope of the weekly mean score across the window is above
  +TREND_SLOPE_THRESHOLD per week (improving), below -TREND_SLOPE_THRESHOLD (declining), steady otherwise; only when
  at least TREND_MIN_WEEKS weeks each have at least TREND_MIN_PER_WEEK interactions, else NOT_ENOUGH_DATA.
- heard back: a touch (TOUCH_KINDS) of the contact after the customer's negative interaction.
"""
from __future__ import annotations

from datetime import timedelta

# Labels (InteractionScore.label)
NEGATIVE = "negative"
NEUTRAL = "neutral"
POSITIVE = "positive"
LABELS = (POSITIVE, NEUTRAL, NEGATIVE)

COMPLAINT_LABEL = NEGATIVE  # a complaint is a negative interaction
COMPLIMENT_LABEL = POSITIVE  # a compliment is a positive interaction

# Unresolved: negative, or escalated (InteractionScore.escalation_reason set, which it is exactly when it has
# flags), and no later positive interaction of the same contact.
UNRESOLVED_LABELS = (NEGATIVE,)
RESOLVED_BY_LABEL = POSITIVE

# Callback: the same contact back with an inbound interaction within this long.
CALLBACK_WINDOW = timedelta(hours=48)
CALLBACK_DIRECTIONS = ("inbound",)  # interactions with no direction recorded count as inbound (customer-started)

# Weeks start on Monday (date.weekday() == 0) in the business's TIMEZONE.
WEEK_START_WEEKDAY = 0

# Trend verdict over weekly mean scores.
TREND_SLOPE_THRESHOLD = 0.02  # score units per week
TREND_MIN_WEEKS = 3  # weeks that must each have TREND_MIN_PER_WEEK interactions
TREND_MIN_PER_WEEK = 5
IMPROVING = "improving"
DECLINING = "declining"
STEADY = "steady"
NOT_ENOUGH_DATA = "not enough data"

# Touches: what the business did toward a contact (never scored). "Heard back" = any of these after a complaint.
OUTBOUND_CALL = "outbound_call"
OUTBOUND_TEXT = "outbound_text"
OUTBOUND_EMAIL = "outbound_email"
AGENT_REPLY = "agent_reply"
TOUCH_KINDS = (OUTBOUND_CALL, OUTBOUND_TEXT, OUTBOUND_EMAIL, AGENT_REPLY)
HEARD_BACK_KINDS = TOUCH_KINDS

# Spikes: this many different customers negative about the same theme within SPIKE_WINDOW.
SPIKE_MIN_CUSTOMERS = 5
SPIKE_WINDOW = timedelta(days=14)


def needs_resolution(label: str | None, escalation_reason: str | None) -> bool:
    """Whether an interaction counts toward "unresolved" until a later positive one: negative, or escalated."""
    return label in UNRESOLVED_LABELS or bool(escalation_reason)


def trend_verdict(weekly: list[tuple[float, int]]) -> str:
    """The verdict for consecutive weeks given as (mean score, interactions); empty weeks are (0.0, 0)."""
    if sum(1 for _, count in weekly if count >= TREND_MIN_PER_WEEK) < TREND_MIN_WEEKS:
        return NOT_ENOUGH_DATA
    points = [(index, mean) for index, (mean, count) in enumerate(weekly) if count]
    slope = least_squares_slope(points)
    if slope > TREND_SLOPE_THRESHOLD:
        return IMPROVING
    if slope < -TREND_SLOPE_THRESHOLD:
        return DECLINING
    return STEADY


def least_squares_slope(points: list[tuple[float, float]]) -> float:
    """The slope of the least-squares line through (x, y) points (0.0 with fewer than two distinct x)."""
    if len(points) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
