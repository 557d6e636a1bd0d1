"""Noun phrases of customer messages (TextBlob's packaged tagger and chunker, offline)."""
from scoring.noun_phrases import noun_phrases


def test_pronouns_and_stop_words_are_not_phrases():
    phrases = noun_phrases("Nobody called me back about the late fees on my account!")
    assert phrases == ["late fee", "account"]


def test_phrases_keep_their_modifiers_lower_cased_in_order():
    phrases = noun_phrases("hey can u send the Invoice for the new water heater? my card company flagged it")
    assert phrases == ["invoice", "new water heater", "card company"]


def test_plural_heads_become_singular_and_repeats_count_once():
    assert noun_phrases("Two late fees on my statement, and more late fees after that") == ["late fee", "statement"]
    assert noun_phrases("The gutters on both houses are full of branches") == ["gutter", "house", "branch"]


def test_messages_without_a_topic_give_nothing():
    for text in ["okay", "see u at 6", "running 10 min late sorry!", "thanks so much!!", "", "I told you that yesterday"]:
        assert noun_phrases(text) == [], text
