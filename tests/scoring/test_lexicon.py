"""Tests for the VADER + customer-service-rules scorer and its rule data."""
from __future__ import annotations

import json

import pytest

from scoring.base import INTENSITIES, LABELS, Score
from scoring.lexicon import LexiconScorer, chunks, confidence
from scoring.lexicon_rules import (
    DEFAULT_PATH,
    RuleSet,
    expand_macros,
    masked,
    normalise,
)


@pytest.fixture(scope="module")
def scorer() -> LexiconScorer:
    """One scorer for the module (rules and VADER load once)."""
    return LexiconScorer()


@pytest.fixture(scope="module")
def plain() -> LexiconScorer:
    """The same scorer with the rules switched off: VADER alone."""
    return LexiconScorer(use_rules=False)


NEGATIVE_CS = [
    ("I was promised a refund weeks ago and still haven't seen a cent", "money_not_returned"),
    ("If this isn't fixed I'm going to dispute the charge with my bank", "chargeback_threat"),
    ("I'll just file a chargeback then", "chargeback_threat"),
    ("nobody has gotten back to me", "no_response"),
    ("No one called me back", "no_response"),
    ("I've been waiting three weeks for my order", "long_wait"),
    ("two weeks later and still no reply", "long_wait"),
    ("still waiting on a reply", "still_waiting"),
    ("this is the third time I'm calling about this", "repeat_contact"),
    ("I called you guys five times", "repeat_contact"),
    ("I want to cancel my subscription", "cancel_intent"),
    ("I want a refund", "refund_request"),
    ("I was charged twice this month", "billing_error"),
    ("I was on hold for an hour", "long_hold"),
    ("the technician never showed up", "no_show"),
    ("my parcel never arrived", "no_show"),
    ("it doesn't work", "not_working"),
    ("it doesn\u2019t work", "not_working"),
    ("it does n't work", "not_working"),
    ("the app is still broken", "still_broken"),
    ("the issue is not resolved", "not_resolved"),
    ("I want to speak to a manager", "escalation"),
    ("worst service ever", "bad_service"),
    ("I'm leaving a review", "public_review"),
    ("I'm disappointed", "disappointed"),
    ("I'm switching to Verizon", "switching_provider"),
    ("I'm not happy with this", "not_satisfied"),
    ("thanks for nothing", "sarcasm"),
    ("great, another outage", "sarcasm"),
    ("Internet has been down since Monday", "outage"),
    ("what a waste of time", "wasted_time"),
    ("they sent the wrong item", "order_problem"),
]

NEUTRALISED = [
    ("no problem", "polite_filler"),
    ("No worries!", "polite_filler"),
    ("Thank you for calling Acme, how can I help you today?", "agent_boilerplate"),
    ("hold on a second", "agent_boilerplate"),
    ("fine", "neutral_acknowledgement"),
    ("that's fine", "neutral_acknowledgement"),
    ("ok", "neutral_acknowledgement"),
    ("can you help me reset my password", "request_phrasing"),
    ("I'd like to check my balance", "request_phrasing"),
    ("Please update my billing address. Kind regards, Sam", "request_phrasing"),
]

POSITIVE_CS = [
    ("great, it works now", "resolved"),
    ("my issue was resolved, thanks", "resolved"),
    ("The engineer went above and beyond", "great_service"),
    ("quick response from the support team", "great_service"),
]


@pytest.mark.parametrize(("text", "signal"), NEGATIVE_CS)
def test_customer_service_complaints_are_negative(scorer, text, signal):
    score = scorer.score([text])[0]
    assert score.label == "negative", score
    assert signal in score.signals


@pytest.mark.parametrize(("text", "signal"), NEUTRALISED)
def test_overscored_filler_is_neutralised(scorer, plain, text, signal):
    score = scorer.score([text])[0]
    assert score.label == "neutral", score
    assert signal in score.signals
    assert abs(score.score) < abs(plain.score([text])[0].score) or plain.score([text])[0].score == 0


@pytest.mark.parametrize(("text", "signal"), POSITIVE_CS)
def test_resolution_and_praise_are_positive(scorer, text, signal):
    score = scorer.score([text])[0]
    assert score.label == "positive", score
    assert signal in score.signals


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love this phone, it is fantastic", "positive"),
        ("Thanks so much, you were really helpful!", "positive"),
        ("The package arrived today.", "neutral"),
        ("What are your opening hours?", "neutral"),
        ("My account number is 12345.", "neutral"),
        ("This is terrible and I hate it", "negative"),
    ],
)
def test_plain_texts_keep_their_label(scorer, text, label):
    assert scorer.score([text])[0].label == label


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("I'm not disappointed at all, the team was great", "disappointed"),
        ("I can't wait two weeks to see the show", "long_wait"),
        ("I don't want to cancel my plan", "cancel_intent"),
        ("I don't want to dispute the charge, it was my mistake", "chargeback_threat"),
        ("I had no problem using it", "polite_filler"),
        ("I've had this phone for 3 months now and love it", "long_wait"),
    ],
)
def test_negated_or_unrelated_uses_do_not_fire(scorer, text, absent):
    assert absent not in scorer.score([text])[0].signals


def test_negated_disappointment_stays_positive(scorer):
    assert scorer.score(["I'm not disappointed at all, the team was great"])[0].label == "positive"


def test_rule_moves_score_away_from_plain_vader(scorer, plain):
    text = "Thank you so much, but I've been waiting three weeks and nobody has gotten back to me"
    assert plain.score([text])[0].label == "positive"
    ours = scorer.score([text])[0]
    assert ours.label == "negative"
    assert ours.signals == ("no_response", "long_wait")


def test_batch_gives_one_score_per_text_in_order(scorer):
    texts = ["I love it", "it doesn't work", "The package arrived today.", "worst service ever"] * 25
    scores = scorer.score(texts)
    assert len(scores) == len(texts)
    assert [s.label for s in scores[:4]] == ["positive", "negative", "neutral", "negative"]
    assert scores == [scorer.score([text])[0] for text in texts]


def test_empty_batch_gives_empty_list(scorer):
    assert scorer.score([]) == []


@pytest.mark.parametrize("text", ["", "   ", "\n\t \n"])
def test_empty_or_whitespace_is_neutral_with_low_confidence(scorer, text):
    score = scorer.score([text])[0]
    assert (score.label, score.score, score.intensity) == ("neutral", 0.0, "neutral")
    assert score.confidence < 0.2
    assert score.signals == ()


def test_very_short_text_is_less_confident_than_a_sentence(scorer):
    short = scorer.score(["bad"])[0]
    longer = scorer.score(["the service was bad"])[0]
    assert short.label == longer.label == "negative"
    assert short.confidence < longer.confidence


def test_very_long_text_is_scored_by_chunks(scorer):
    complaint = "I was charged twice and nobody has gotten back to me. "
    score = scorer.score([complaint * 400])[0]
    assert len(complaint * 400) > 20_000
    assert score.label == "negative"
    assert -1.0 <= score.score <= 1.0
    assert set(score.signals) == {"billing_error", "no_response"}


def test_long_text_without_spaces_or_punctuation_still_scores(scorer):
    score = scorer.score(["a" * 100_000])[0]
    assert score.label == "neutral"
    assert 0.0 <= score.confidence <= 1.0


def test_long_text_is_not_saturated_by_length(scorer):
    mostly_neutral = "I called about my account today. " * 60 + "The agent was rude."
    score = scorer.score([mostly_neutral])[0]
    assert -0.6 < score.score < 0


@pytest.mark.parametrize(
    "text",
    [
        "I was charged twice, nobody called me back, still broken, worst service, waste of time, cancel my account",
        "AMAZING!!! Best ever, love love love it, thanks so much, above and beyond, works perfectly now :)",
        "!!!???",
        "\u2019\u2019\u2019",
        "ok " * 300,
        "\U0001F600 \U0001F621",
        "\u0130stanbul office never showed up",
    ],
)
def test_fields_always_in_range(scorer, text):
    score = scorer.score([text])[0]
    assert -1.0 <= score.score <= 1.0
    assert 0.0 <= score.confidence <= 1.0
    assert score.label in LABELS
    assert score.intensity in INTENSITIES


def test_stacked_complaints_clamp_to_very_negative(scorer):
    text = "I was charged twice, nobody called me back, still broken, worst service, waste of time"
    score = scorer.score([text])[0]
    assert score.score >= -1.0
    assert score.intensity == "very_negative"
    assert len(score.signals) >= 4


def test_signals_name_only_rules_that_fired_once_each(scorer):
    score = scorer.score(["I was charged twice. I was charged twice again!"])[0]
    assert score.signals.count("billing_error") == 1
    assert "refund_request" not in score.signals
    assert scorer.score(["I love this phone"])[0].signals == ()


def test_confidence_grows_with_strength_and_agreement():
    assert confidence(0.9, 0.9, [], 40) > confidence(0.3, 0.3, [], 40)
    rules = RuleSet.from_dict({"rules": [{"signal": "x", "pattern": "x", "weight": -0.4}]})
    hit = rules.find("x")
    assert confidence(-0.7, -0.3, hit, 40) > confidence(-0.7, 0.3, hit, 40)
    assert confidence(0.5, 0.5, [], 5) < confidence(0.5, 0.5, [], 40)


def test_scorer_loads_nothing_until_first_use():
    fresh = LexiconScorer()
    assert fresh._analyzer is None and fresh._rules is None
    fresh.score(["hello"])
    assert fresh._analyzer is not None and fresh._rules is not None
    analyzer = fresh.analyzer
    fresh.score(["again"])
    assert fresh.analyzer is analyzer


def test_load_warms_both_parts():
    warmed = LexiconScorer().load()
    assert warmed._analyzer is not None and warmed._rules is not None


def test_name_and_protocol_shape(scorer):
    assert scorer.name == "lexicon"
    assert all(isinstance(s, Score) for s in scorer.score(["a", "b"]))


def test_custom_rule_set_is_used(tmp_path):
    data = {"rules": [{"signal": "pineapple", "pattern": r"\bpineapple\b", "weight": -0.5, "triggers": "pineapple"}]}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(data))
    score = LexiconScorer(rules=path).score(["Pineapple pizza"])[0]
    assert score.signals == ("pineapple",)
    assert score.label == "negative"


def test_bad_bands_are_rejected():
    with pytest.raises(ValueError):
        LexiconScorer(neutral_band=0.7, strong_band=0.6)


def test_packaged_rules_are_well_formed():
    data = json.loads(DEFAULT_PATH.read_text())
    signals = [rule["signal"] for rule in data["rules"]]
    assert len(signals) == len(set(signals))
    for rule in data["rules"]:
        assert rule["pattern"] and rule["explanation"] and rule["triggers"]
        assert -1.0 <= rule["weight"] <= 1.0
        assert rule["weight"] == 0.0 or not rule.get("mask"), rule["signal"]


def test_every_listed_phrase_fires_through_the_trigger_gate():
    rules = RuleSet.load()
    for text, _ in NEGATIVE_CS + NEUTRALISED + POSITIVE_CS:
        lower = normalise(text).lower()
        assert rules.find(lower) == rules.find(lower, gated=False), text


def test_duplicate_signals_and_unknown_macros_are_errors():
    rule = {"signal": "a", "pattern": "a", "weight": 0.1}
    with pytest.raises(ValueError):
        RuleSet.from_dict({"rules": [rule, rule]})
    with pytest.raises(ValueError):
        expand_macros("<NOPE> x", {})
    with pytest.raises(ValueError):
        RuleSet.from_dict({"rules": [{"signal": "u", "pattern": "Refund", "weight": -0.1}]})
    assert RuleSet.from_dict({"rules": [{"signal": "e", "pattern": r"\Bfund\W", "weight": -0.1}]}).rules


def test_masked_blanks_all_mask_spans():
    rules = RuleSet.from_dict({"rules": [{"signal": "m", "pattern": "please", "weight": 0, "mask": True}]})
    text = "please fix it please"
    assert masked(text, rules.find(text)) == "fix it"


def test_normalise_collapses_space_and_apostrophes():
    assert normalise("  it  doesn\u2019t\n work ") == "it doesn't work"


def test_chunks_respect_limit_and_keep_all_words():
    text = "One two three. " * 100 + "x" * 1200
    pieces = chunks(text, 200)
    assert all(len(piece) <= 200 for piece in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
