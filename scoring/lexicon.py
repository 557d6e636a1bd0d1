"""Word-based scorer: VADER's compound score plus customer-service phrase rules.

VADER reads general social text well but misses what matters in support conversations
("still waiting", "charged twice", "third time I'm calling") and over-scores polite filler
("no problem", "thank you for calling", "can you help me"). `scoring.lexicon_rules` supplies the
phrase rules as data; this module hides the masked filler from VADER, adds the weights of the
rules that fired, and reports their names in `Score.signals`.

Texts longer than `chunk_chars` are scored in sentence-aligned chunks and averaged by length,
since VADER's compound saturates towards +/-1 as a text accumulates sentiment words.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from scoring.base import NEUTRAL_BAND, STRONG_BAND, Score, intensity_for, label_for
from scoring.lexicon_rules import Hit, RuleSet, masked, normalise

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")
_EMPTY = Score(label="neutral", score=0.0, intensity="neutral", confidence=0.0)


class LexiconScorer:
    """VADER plus customer-service rules, scoring texts in batches (the `Scorer` protocol)."""

    name = "lexicon"

    def __init__(
        self,
        rules: RuleSet | str | Path | None = None,
        *,
        use_rules: bool = True,
        neutral_band: float = NEUTRAL_BAND,
        strong_band: float = STRONG_BAND,
        chunk_chars: int = 500,
    ) -> None:
        """`rules`: a RuleSet, a rule-file path, or None for the packaged rules; `use_rules=False` is plain VADER."""
        if not 0 < neutral_band < strong_band <= 1:
            raise ValueError("need 0 < neutral_band < strong_band <= 1")
        if chunk_chars < 50:
            raise ValueError("chunk_chars must be at least 50")
        self._rule_source = rules
        self._rules: RuleSet | None = rules if isinstance(rules, RuleSet) else None
        self._analyzer = None
        self.use_rules = use_rules
        self.neutral_band = neutral_band
        self.strong_band = strong_band
        self.chunk_chars = chunk_chars

    @property
    def analyzer(self):
        """VADER's analyzer, built on first use and kept for this instance."""
        if self._analyzer is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._analyzer = SentimentIntensityAnalyzer()
        return self._analyzer

    @property
    def rules(self) -> RuleSet:
        """The customer-service rules, loaded on first use."""
        if self._rules is None:
            self._rules = RuleSet.load(self._rule_source)
        return self._rules

    def load(self) -> "LexiconScorer":
        """Load the rules and VADER now (e.g. before forking workers); returns self."""
        _ = self.rules, self.analyzer
        return self

    def score(self, texts: Sequence[str]) -> list[Score]:
        """One Score per text, in order."""
        return [self.score_one(text) for text in texts]

    def score_one(self, text: str) -> Score:
        """Score a single text; empty or whitespace-only text is neutral with zero confidence."""
        if not text or text.isspace():
            return _EMPTY
        if len(text) > self.chunk_chars:
            return self._score_long(text)
        clean = normalise(text)
        compound, hits = self._parts(clean)
        return self._build(_clamp(compound + _weight(hits)), compound, hits, len(clean))

    def _parts(self, clean: str) -> tuple[float, list[Hit]]:
        """VADER's compound for the text with filler masked, and the rules that fired."""
        lower = clean.lower()
        hits = self.rules.find(lower) if self.use_rules else []
        # Rules match lower-cased text; masks are applied to the original case (VADER uses caps)
        # unless lower-casing changed the length, which only happens for rare Unicode.
        visible = clean if len(lower) == len(clean) else lower
        if hits:
            visible = masked(visible, hits)
        compound = self.analyzer.polarity_scores(visible)["compound"] if visible else 0.0
        return compound, hits

    def _score_long(self, text: str) -> Score:
        """Length-weighted mean of chunk scores; signals from every chunk, in first-seen order."""
        total = weighted = weighted_vader = 0.0
        all_hits: list[Hit] = []
        for chunk in chunks(text, self.chunk_chars):
            clean = normalise(chunk)
            if not clean:
                continue
            compound, hits = self._parts(clean)
            weighted += len(clean) * _clamp(compound + _weight(hits))
            weighted_vader += len(clean) * compound
            total += len(clean)
            all_hits.extend(hits)
        if not total:
            return _EMPTY
        return self._build(weighted / total, weighted_vader / total, all_hits, int(total))

    def _build(self, value: float, compound: float, hits: list[Hit], length: int) -> Score:
        """Assemble the Score: label and band from the final value, an honest confidence."""
        value = _clamp(round(value, 4))
        signals = tuple(dict.fromkeys(hit.rule.signal for hit in hits))
        return Score(
            label=label_for(value, self.neutral_band),
            score=value,
            intensity=intensity_for(value, self.neutral_band, self.strong_band),
            confidence=round(confidence(value, compound, hits, length, self.neutral_band), 4),
            signals=signals,
        )


def confidence(value: float, compound: float, hits: Sequence[Hit], length: int, band: float = NEUTRAL_BAND) -> float:
    """Rough chance the label is right: grows with |score|, moves with rule agreement, lower for tiny text.

    Read off label accuracy per |score| bin on the SemEval and SST-2 train splits: polar labels
    are right ~40-55% of the time just past the neutral band and ~85-90% near |score| 1; a
    neutral label is right a bit over half the time. Rules that agree with VADER's direction add
    a little, rules that contradict it take off more; texts under 12 characters are discounted.
    """
    strength = abs(value)
    base = 0.55 if strength < band else 0.4 + 0.5 * (strength - band) / (1.0 - band)
    weights = [hit.rule.weight for hit in hits if hit.rule.weight]
    if weights and abs(compound) >= band:
        agreeing = sum(1 for weight in weights if (weight > 0) == (compound > 0))
        base += 0.05 if agreeing == len(weights) else -0.1 if agreeing == 0 else -0.05
    elif weights:
        base += 0.05
    if length < 12:
        base *= 0.7
    return min(0.95, max(0.05, base))


def chunks(text: str, limit: int) -> list[str]:
    """Split text at sentence ends (or newlines) into pieces of at most about `limit` characters."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for sentence in _SENTENCE_END.split(text):
        for part in _hard_split(sentence.strip(), limit):
            if current and size + len(part) + 1 > limit:
                pieces.append(" ".join(current))
                current, size = [], 0
            current.append(part)
            size += len(part) + 1
    if current:
        pieces.append(" ".join(current))
    return pieces


def _hard_split(sentence: str, limit: int) -> list[str]:
    """Cut an over-long sentence at spaces (or hard, if it has none) into parts <= limit."""
    parts = []
    while len(sentence) > limit:
        cut = sentence.rfind(" ", 0, limit)
        cut = cut if cut > 0 else limit
        parts.append(sentence[:cut])
        sentence = sentence[cut:].lstrip()
    if sentence:
        parts.append(sentence)
    return parts


def _weight(hits: Sequence[Hit]) -> float:
    """Sum of the weights of the rules that fired."""
    return sum(hit.rule.weight for hit in hits)


def _clamp(value: float) -> float:
    """Clamp to [-1, 1]."""
    return max(-1.0, min(1.0, value))
