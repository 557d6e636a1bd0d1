"""analyse_many: the same analyses as analyse one by one, with one scorer call and one embedding call."""
from __future__ import annotations

import hashlib

import numpy as np

from scoring.analysis import Analyzer
from scoring.escalation import EscalationRules, History
from scoring.escalation_detector import load_default
from scoring.lexicon import LexiconScorer
from scoring.themes import ThemeMatcher


class Counting(LexiconScorer):
    def __init__(self):
        super().__init__()
        self.calls = []

    def score(self, texts):
        self.calls.append(list(texts))
        return super().score(texts)


def fake_embed(calls):
    """Unit vectors from a hash of each word (similar texts get similar vectors), calls recorded."""
    def embed(texts):
        calls.append(list(texts))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 384] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)
    return embed


def analyzer(scorer, embed):
    detector = load_default(embed)
    return Analyzer(scorer, EscalationRules.load(), ThemeMatcher.load(embed=embed), detector)


ITEMS = [
    ([{"speaker": "customer", "text": "I want a refund. The technician never showed up and nobody called."}], None,
     History()),
    ([{"speaker": "agent", "text": "How can I help?"}, {"speaker": "customer", "text": "Billing is wrong again!"}],
     "Customer disputes a charge", History(negative_within_hours=5.0)),
    ([{"speaker": "agent", "text": "Hello"}], None, History()),  # no customer words
    (None, "Caller asked to reschedule the install.", History()),
    ([{"speaker": "customer", "text": "Thanks, all good now."}], None, History()),
]


def test_analyse_many_matches_analyse_one_by_one():
    one_calls, many_calls = [], []
    one = analyzer(LexiconScorer(), fake_embed(one_calls))
    many_scorer = Counting()
    many = analyzer(many_scorer, fake_embed(many_calls))
    many.themes.using(many.themes.embed)  # the examples are embedded once, before counting
    many_calls.clear()
    expected = [one.analyse(*item) for item in ITEMS]
    got = many.analyse_many(ITEMS)
    assert got == expected
    assert got[2] is None and got[0] is not None
    assert len(many_scorer.calls) == 1  # every text of the batch in one scorer call
    assert len(many_calls) == 1  # and every sentence the themes and the detector compare in one embedding call


def test_analyse_many_with_nothing_to_score():
    many = analyzer(Counting(), fake_embed([]))
    assert many.analyse_many([([{"speaker": "agent", "text": "Hi"}], None, History())]) == [None]
    assert many.scorer.calls == []
