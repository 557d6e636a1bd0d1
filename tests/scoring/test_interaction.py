"""Scoring a whole interaction from its turns."""
from __future__ import annotations

import pytest

from scoring.base import Score
from scoring.interaction import combine, content_hash, score_interaction, texts_to_score
from scoring.lexicon import LexiconScorer


def score(value: float, label: str, signals=()) -> Score:
    intensity = {"negative": "negative", "positive": "positive", "neutral": "neutral"}[label]
    return Score(label, value, intensity, 0.8, tuple(signals))


def test_only_customer_turns_are_scored():
    turns = [
        {"speaker": "agent", "text": "Thanks for calling, how can I help?"},
        {"speaker": "customer", "text": "My heater broke again."},
        {"speaker": "agent", "text": "Sorry to hear that."},
    ]
    basis, indexes, texts = texts_to_score(turns, "summary text")
    assert basis == "customer_turns" and indexes == [1] and texts == ["My heater broke again."]


@pytest.mark.parametrize(
    "turns, summary, expected",
    [
        ([{"speaker": "agent", "text": "Hello?"}], "Customer asked about pricing.", "summary"),
        ([{"speaker": None, "text": "unattributed words"}], None, "unattributed_turns"),
        ([{"speaker": "agent", "text": "Voicemail left."}], None, None),
        ([], "  ", None),
        (None, None, None),
    ],
)
def test_what_is_scored_without_customer_turns(turns, summary, expected):
    selected = texts_to_score(turns, summary)
    assert (selected[0] if selected else None) == expected


def test_negative_turns_weigh_more_than_polite_ones():
    texts = ["this is the third time I have called about it", "ok", "thanks", "bye"]
    scores = [score(-0.8, "negative"), score(0.3, "positive"), score(0.4, "positive"), score(0.3, "positive")]
    assert combine(scores, texts).label == "negative"


def test_last_turn_weighs_more_than_first():
    texts = ["same length words here", "same length words here"]
    ends_happy = combine([score(-0.3, "negative"), score(0.7, "positive")], texts)
    ends_unhappy = combine([score(0.7, "positive"), score(-0.3, "negative")], texts)
    assert ends_happy.score > 0 and ends_unhappy.score < ends_happy.score


def test_signals_are_the_union_in_order():
    combined = combine([score(-0.5, "negative", ["cancel"]), score(-0.2, "negative", ["refund", "cancel"])], ["a", "b"])
    assert combined.signals == ("cancel", "refund")


def test_summary_only_interaction_has_lower_confidence():
    scorer = LexiconScorer()
    text = "The customer was upset that nobody called back about the refund."
    from_summary = score_interaction([], text, scorer)
    from_turn = score_interaction([{"speaker": "customer", "text": text}], None, scorer)
    assert from_summary.basis == "summary"
    assert from_summary.overall.confidence < from_turn.overall.confidence


def test_content_hash_changes_with_text_and_scorer():
    assert content_hash("lexicon", ["a"]) == content_hash("lexicon", ["a"])
    assert content_hash("lexicon", ["a"]) != content_hash("flair", ["a"])
    assert content_hash("lexicon", ["a", "b"]) != content_hash("lexicon", ["ab"])


@pytest.mark.parametrize(
    "labels, expected",
    [
        (["negative", "neutral", "positive"], "recovered"),
        (["positive", "negative"], "soured"),
        (["neutral", "negative"], "soured"),
        (["negative", "negative"], "steady"),
        (["positive"], "single"),
    ],
)
def test_trajectory(labels, expected):
    from scoring.interaction import trajectory

    values = {"negative": -0.5, "neutral": 0.0, "positive": 0.5}
    assert trajectory([score(values[label], label) for label in labels]) == expected


def test_start_and_end_come_from_first_and_last_customer_turns():
    turns = [
        {"speaker": "customer", "text": "This is terrible, the heater is broken again and I am furious."},
        {"speaker": "agent", "text": "We will send someone today."},
        {"speaker": "customer", "text": "Thank you so much, that is wonderful, I really appreciate it!"},
    ]
    scored = score_interaction(turns, None, LexiconScorer())
    assert scored.start_score < 0 < scored.end_score
    assert scored.trajectory == "recovered"
    assert scored.texts == (turns[0]["text"], turns[2]["text"])
