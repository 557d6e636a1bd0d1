"""Score a whole interaction from its turns: the customer's words when speaker roles are known.

The overall score is a weighted mean of the customer's turn scores: longer turns weigh more (by the
square root of their word count), the last turn a little more (how a conversation ends is what the
customer remembers), and negative turns twice as much: one angry complaint among polite pleasantries
is a complaint, and missing an unhappy customer costs more than a false alarm. Agent turns are never
scored as the customer's sentiment.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Sequence

from scoring.base import Score, Scorer, intensity_for, label_for

LAST_TURN_WEIGHT = 1.5
NEGATIVE_TURN_WEIGHT = 2.0


@dataclass(frozen=True)
class ScoredInteraction:
    """The overall score, what it was computed from, one score per scored turn, and the trajectory."""

    overall: Score
    basis: str  # customer_turns | unattributed_turns | summary
    turn_scores: list[dict]  # [{"turn": index, ...score fields}]
    content_hash: str
    texts: tuple[str, ...] = ()  # the customer texts that were scored (escalation rules read them)
    start_score: float | None = None
    end_score: float | None = None
    trajectory: str = "single"  # recovered | soured | steady | single (one scored text)


def texts_to_score(turns: Sequence[dict] | None, summary: str | None) -> tuple[str, list[int], list[str]] | None:
    """(basis, turn indexes, texts) to score, or None when there are no customer words at all."""
    turns = turns or []
    customer = [(i, t["text"]) for i, t in enumerate(turns) if t.get("speaker") == "customer" and t.get("text", "").strip()]
    if customer:
        return "customer_turns", [i for i, _ in customer], [t for _, t in customer]
    unattributed = [(i, t["text"]) for i, t in enumerate(turns) if not t.get("speaker") and t.get("text", "").strip()]
    if unattributed:
        return "unattributed_turns", [i for i, _ in unattributed], [t for _, t in unattributed]
    if summary and summary.strip():
        return "summary", [], [summary]
    return None


def content_hash(scorer_name: str, texts: Sequence[str]) -> str:
    """Identifies exactly what was scored and by which scorer, so unchanged content is not re-scored."""
    digest = hashlib.sha256(scorer_name.encode())
    for text in texts:
        digest.update(b"\x00" + text.encode())
    return digest.hexdigest()


def score_interaction(turns: Sequence[dict] | None, summary: str | None, scorer: Scorer) -> ScoredInteraction | None:
    """Score the customer's side of an interaction; None when it holds no customer words."""
    selected = texts_to_score(turns, summary)
    if selected is None:
        return None
    basis, indexes, texts = selected
    scores = scorer.score(texts)
    overall = combine(scores, texts)
    if basis == "summary":  # a third-party summary says less about the customer's own words
        overall = Score(overall.label, overall.score, overall.intensity, round(overall.confidence * 0.7, 3), overall.signals)
    turn_scores = [_turn_entry(i, s) for i, s in zip(indexes, scores)]
    start, end = (scores[0].score, scores[-1].score) if len(scores) > 1 else (None, None)
    return ScoredInteraction(overall, basis, turn_scores, content_hash(scorer.name, texts), tuple(texts),
                             start, end, trajectory(scores))


def trajectory(scores: Sequence[Score]) -> str:
    """How the customer's mood moved: started negative and ended positive (recovered), started
    neutral or positive and ended negative (soured), otherwise steady; 'single' for one text."""
    if len(scores) < 2:
        return "single"
    first, last = scores[0].label, scores[-1].label
    if first == "negative" and last == "positive":
        return "recovered"
    if first != "negative" and last == "negative":
        return "soured"
    return "steady"


def combine(scores: Sequence[Score], texts: Sequence[str]) -> Score:
    """Weighted mean of turn scores (longer, last and negative turns weigh more); signals are the union."""
    weights = [math.sqrt(max(1, len(t.split()))) * (NEGATIVE_TURN_WEIGHT if s.label == "negative" else 1.0)
               for s, t in zip(scores, texts)]
    weights[-1] *= LAST_TURN_WEIGHT if len(weights) > 1 else 1
    total = sum(weights)
    value = sum(w * s.score for w, s in zip(weights, scores)) / total
    confidence = sum(w * s.confidence for w, s in zip(weights, scores)) / total
    value = max(-1.0, min(1.0, value))
    signals = tuple(dict.fromkeys(sig for s in scores for sig in s.signals))
    return Score(label_for(value), round(value, 4), intensity_for(value), round(confidence, 3), signals)


def _turn_entry(index: int, score: Score) -> dict:
    return {
        "turn": index,
        "label": score.label,
        "score": score.score,
        "intensity": score.intensity,
        "confidence": score.confidence,
        "signals": list(score.signals),
    }
