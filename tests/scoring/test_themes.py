"""Themes from the taxonomy: keywords, embedding similarity (with a real embedding function), data."""
import json

import numpy as np
import pytest

from scoring.analysis import Analyzer
from scoring.escalation import History
from scoring.lexicon import LexiconScorer
from scoring.themes import ThemeMatcher


@pytest.fixture(scope="module")
def matcher():
    return ThemeMatcher.load()


@pytest.mark.parametrize(
    "text, theme",
    [
        ("I was charged twice on my last invoice.", "billing"),
        ("Your quote was way too expensive.", "pricing"),
        ("The technician never showed up for the appointment.", "scheduling"),
        ("I've been on hold for forty minutes.", "wait_time"),
        ("The installer was rude to my wife.", "staff"),
        ("The pipe still leaks after the repair.", "quality"),
        ("Nobody called me back about it.", "communication"),
        ("I'm switching to another company.", "cancellation"),
    ],
)
def test_keywords_find_each_theme_with_evidence(matcher, text, theme):
    hits = {h.theme: h for h in matcher.match([text])}
    assert theme in hits
    assert hits[theme].how == "keyword" and hits[theme].evidence == text


def test_unrelated_text_has_no_theme(matcher):
    assert matcher.match(["Hello, good morning!"]) == []


def bag_of_words(vocabulary):
    """A real (if simple) embedding: normalised word counts over a fixed vocabulary."""

    def embed(texts):
        rows = np.array([[t.lower().count(w) for w in vocabulary] for t in texts], dtype=float)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1, norms)

    return embed


def test_similarity_catches_what_keywords_miss(tmp_path):
    path = tmp_path / "themes.json"
    path.write_text(json.dumps({"themes": [
        {"theme": "heating", "keywords": ["furnace"], "examples": ["the house is cold and the radiator is off"]},
    ]}))
    text = "It is so cold, the radiator stays off all night"
    embed = bag_of_words(["cold", "radiator", "off", "house", "night"])
    assert ThemeMatcher.load(path).match([text]) == []
    [hit] = ThemeMatcher.load(path, embed=embed, similarity_threshold=0.6).match([text])
    assert (hit.theme, hit.how) == ("heating", "similarity") and hit.similarity >= 0.6
    assert ThemeMatcher.load(path, embed=embed, similarity_threshold=0.99).match([text]) == []


def test_bad_keyword_pattern_is_refused(tmp_path):
    path = tmp_path / "themes.json"
    path.write_text(json.dumps({"themes": [{"theme": "x", "keywords": ["("]}]}))
    with pytest.raises(ValueError, match="bad keyword"):
        ThemeMatcher.load(path)


def test_analysis_brings_score_flags_and_themes_together():
    analyzer = Analyzer.default(LexiconScorer())
    turns = [
        {"speaker": "agent", "text": "How can I help?"},
        {"speaker": "customer", "text": "I was charged twice and I want a refund. This is ridiculous."},
    ]
    analysis = analyzer.analyse(turns, "Customer disputes an invoice.", History())
    assert analysis.scored.overall.label == "negative"
    assert {"refund", "anger"} <= {f.rule for f in analysis.flags}
    assert [t.theme for t in analysis.themes][0] == "billing"
    assert analyzer.analyse([{"speaker": "agent", "text": "Voicemail."}], None, History()) is None
