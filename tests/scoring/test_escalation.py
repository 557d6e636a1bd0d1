"""Escalation flags: rules as data, customer words only, negation, evidence, competitors, repeat contact."""
import json

import pytest

from scoring.base import Score
from scoring.escalation import EscalationRules, History, summary_reason

NEUTRAL = Score("neutral", 0.0, "neutral", 0.6)
NEGATIVE = Score("negative", -0.4, "negative", 0.7)
VERY_NEGATIVE = Score("negative", -0.8, "very_negative", 0.8)


@pytest.fixture(scope="module")
def rules():
    return EscalationRules.load(competitors=["Rapid Rooter", "AcmeAir"])


@pytest.mark.parametrize(
    "text, rule, evidence",
    [
        ("This is ridiculous. I have been patient.", "anger", "This is ridiculous."),
        ("Honestly I want to cancel my service plan.", "leaving", "Honestly I want to cancel my service plan."),
        ("Just give me my money back.", "refund", "Just give me my money back."),
        ("Rapid Rooter quoted half of that.", "competitor", "Rapid Rooter quoted half of that."),
        ("I'm leaving a one-star review on Yelp tonight.", "review_threat", "I'm leaving a one-star review on Yelp tonight."),
        ("Fine. I'll dispute the charge.", "chargeback", "I'll dispute the charge."),
        ("You'll be hearing from my lawyer.", "legal", "You'll be hearing from my lawyer."),
        ("Can I speak to a manager please?", "manager", "Can I speak to a manager please?"),
    ],
)
def test_each_rule_fires_with_its_sentence_as_evidence(rules, text, rule, evidence):
    flags = rules.evaluate([text], NEGATIVE)
    assert rule in [f.rule for f in flags]
    assert next(f for f in flags if f.rule == rule).evidence == evidence


@pytest.mark.parametrize(
    "text",
    [
        "I don't want to cancel my service plan, just to change the day.",
        "I'm not angry, just confused.",
        "No need for a refund, it's fine.",
        "I would never leave a bad review for you guys.",
    ],
)
def test_negated_mentions_do_not_escalate(rules, text):
    assert rules.evaluate([text], NEUTRAL) == []


def test_strong_negative_escalates_without_words(rules):
    [flag] = rules.evaluate(["meh"], VERY_NEGATIVE)
    assert (flag.rule, flag.reason, flag.evidence) == ("strong_negative", "strongly negative", "score -0.80")


def test_repeat_contact_needs_a_recent_negative_and_a_negative_now(rules):
    recent = History(negative_within_hours=20)
    assert "repeat_contact" in [f.rule for f in rules.evaluate(["still not fixed"], NEGATIVE, recent)]
    assert rules.evaluate(["still not fixed"], NEGATIVE, History(negative_within_hours=60)) == []
    assert rules.evaluate(["thanks, all good now"], NEUTRAL, recent) == []


def test_competitor_rule_is_silent_without_competitors():
    flags = EscalationRules.load().evaluate(["Rapid Rooter quoted half of that."], NEUTRAL)
    assert "competitor" not in [f.rule for f in flags]  # the list rule; `switching` sees the quote by its wording


def test_summary_reason_lists_distinct_reasons_in_rule_order(rules):
    flags = rules.evaluate(["This is ridiculous, I want a refund. I'll dispute the charge."], VERY_NEGATIVE)
    assert summary_reason(flags) == "strongly negative; anger or frustration; asked for a refund; threat of a chargeback"
    assert summary_reason([]) is None


def test_rules_are_data_and_bad_rules_fail_loudly(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{"name": "late", "kind": "pattern", "reason": "late", "pattern": r"\blate\b"}]}))
    assert [f.rule for f in EscalationRules.load(path).evaluate(["you are late"], NEUTRAL)] == ["late"]
    path.write_text(json.dumps({"rules": [{"name": "bad", "kind": "pattern", "reason": "x", "pattern": "("}]}))
    with pytest.raises(ValueError, match="bad"):
        EscalationRules.load(path)
    path.write_text(json.dumps({"rules": [{"name": "odd", "kind": "astrology", "reason": "x"}]}))
    with pytest.raises(ValueError, match="unknown kind"):
        EscalationRules.load(path)


def _shipped() -> dict:
    from scoring.escalation import DEFAULT_PATH

    return json.loads(DEFAULT_PATH.read_text())


def test_a_document_with_plain_phrases_and_a_rule_switched_off():
    """The console's copy: phrases beside the pattern, matched as whole words in any case; off means off."""
    document = _shipped()
    anger = next(r for r in document["rules"] if r["name"] == "anger")
    anger["phrases"] = ["bananas", "up  the wall", "100% done"]
    next(r for r in document["rules"] if r["name"] == "refund")["enabled"] = False
    rules = EscalationRules.from_document(document)
    fired = lambda text: [f.rule for f in rules.evaluate([text], NEUTRAL)]  # noqa: E731
    assert fired("This is BANANAS.") == ["anger"]
    assert fired("It drives me up the\twall") == ["anger"]
    assert fired("I am 100% done with this") == ["anger"]
    assert fired("I am furious") == ["anger"]  # the shipped pattern still works beside the phrases
    assert fired("bananasplit for lunch") == []  # whole words only
    assert fired("This is not bananas") == []  # negatable, as the rule is
    assert fired("I want a refund") == []  # switched off


def test_a_rule_with_only_phrases_and_the_threshold_from_the_document():
    document = {"competitors": [], "rules": [
        {"name": "strong_negative", "kind": "score", "below": -0.3, "reason": "strongly negative"},
        {"name": "words", "kind": "pattern", "reason": "owner's words", "phrases": ["rip-off"]}]}
    rules = EscalationRules.from_document(document)
    assert [f.rule for f in rules.evaluate(["What a rip-off."], NEGATIVE)] == ["strong_negative", "words"]
    assert rules.evaluate(["What a ripoff."], NEUTRAL) == []


@pytest.mark.parametrize(
    "text, rule",
    [
        ("If you can't fix it by Friday I'll cancel my account.", "leaving"),
        ("Unless you don't want my business, I'm closing my membership.", "leaving"),
        ("if you don't refund the fee I want my money back through my bank", "refund"),
        ("Not happy so I want to cancel my membership.", "leaving"),
    ],
)
def test_a_negation_inside_an_if_or_unless_clause_does_not_cancel_the_threat(rules, text, rule):
    assert rule in [f.rule for f in rules.evaluate([text], NEGATIVE)]


def test_a_negation_of_the_threat_itself_still_holds(rules):
    assert rules.evaluate(["If it breaks again I don't want to cancel my plan, just fix it."], NEUTRAL) == []
    assert rules.evaluate(["We won't be leaving a bad review, it was fine."], NEUTRAL) == []


@pytest.mark.parametrize(
    "text",
    [
        "Quarry Lane Fitness is running a no-fee month, so I signed up at Quarry Lane.",
        "we're migrating to Ledgerly next quarter",
        "Thinking of switching, honestly. Three outages this week.",
        "I'm looking at other providers now.",
        "took it to Dalton Motors and they fixed it in an hour",
        "fix it by Friday or I'm going with Harbor Plumbing",
    ],
)
def test_a_competitor_nobody_configured_in_new_words(text):
    rules = EscalationRules.load()  # no competitor list at all
    assert "switching" in [f.rule for f in rules.evaluate([text], NEGATIVE)]


def test_a_move_is_not_a_switch():
    rules = EscalationRules.load()
    assert rules.evaluate(["we're moving to Portland next month, can you transfer my service?"], NEUTRAL) == []


def test_a_calm_cancellation_is_a_churn_flag_with_low_priority(rules):
    calm = rules.evaluate(["We're moving to Ohio, please cancel my membership after March."], NEUTRAL)
    angry = rules.evaluate(["This is a joke. Cancel my membership."], NEGATIVE)
    assert [(f.rule, f.priority) for f in calm] == [("leaving", "low")]
    assert calm[0].as_dict()["priority"] == "low"
    assert ("leaving", "high") in [(f.rule, f.priority) for f in angry] and "priority" not in angry[-1].as_dict()
    unsure = Score("negative", -0.3, "negative", 0.47)  # a negative label the product calls uncertain
    assert [f.priority for f in rules.evaluate(["we're moving, please cancel my membership"], unsure)] == ["low"]


def test_one_appointment_is_not_a_cancellation(rules):
    for text in ["I need to cancel my appointment tomorrow", "how do I cancel my booking for friday?",
                 "please cancel order 5521, we ordered twice"]:
        assert rules.evaluate([text], NEUTRAL) == [], text


def test_an_offer_of_a_good_review_is_no_threat(rules):
    positive = Score("positive", 0.8, "positive", 0.9)
    assert rules.evaluate(["Will leave you a review on Yelp, loved it!"], positive) == []
    assert [f.rule for f in rules.evaluate(["Enjoy the review I'm leaving on Yelp."], NEGATIVE)] == ["review_threat"]


@pytest.mark.parametrize(
    "text, rule",
    [
        ("I stopped by the office twice and phoned four times, still nothing.", "contacted_repeatedly"),
        ("Sent 3 requests about the broken lock since May.", "contacted_repeatedly"),
        ("no one answers my emails. please reply", "contacted_repeatedly"),
        ("I'm taking my business to Halvorsen Tire from now on.", "switching"),
        ("Moved all our accounts to Bayview Savings last week.", "switching"),
        ("we're not gonna renew in June.", "leaving_stated"),
        ("Cold fries, rude cashier. Not coming back.", "leaving_stated"),
        ("fix it or this goes all over google", "review_threat"),
        ("Fine, see you in small claims.", "legal"),
    ],
)
def test_more_ways_to_say_an_escalation(rules, text, rule):
    assert rule in [f.rule for f in rules.evaluate([text], NEGATIVE)]


@pytest.mark.parametrize(
    "text",
    [
        "The breaker tripped 3 times during the job, a bit annoying.",  # "3 times" with no contact is no repeat contact
        "the garden looks amazing, people keep asking who did it",
        "I was served papers for a small claims case, do you take new clients?",  # the client's own legal matter
        "can I exchange them or do I have to do a refund and reorder?",  # a refund as a process (guideline)
        "Do you handle commercial roofs or is that someone else?",
        "Two stars off for parking, otherwise fine. One star for the coffee.",  # a review's own stars
        "I'm done asking nicely, please send the plumber today.",
    ],
)
def test_what_the_guideline_excludes_does_not_escalate(rules, text):
    kinds = {f.rule for f in rules.evaluate([text], NEGATIVE)} - {"strong_negative", "anger"}
    assert kinds == set(), kinds
