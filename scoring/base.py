"""The scorer interface and the shape of a score, shared by every scorer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

LABELS = ("negative", "neutral", "positive")
INTENSITIES = ("very_negative", "negative", "neutral", "positive", "very_positive")

# Score thresholds for the five intensity bands; a scorer may calibrate its own, these are the default.
NEUTRAL_BAND = 0.05
STRONG_BAND = 0.6


@dataclass(frozen=True)
class Score:
    """Sentiment of one text: label, score in [-1, 1], intensity band, confidence in [0, 1].

    `signals` names what drove the score beyond the base model (e.g. a customer-service rule hit),
    so a person can see why; it never changes the meaning of the other fields.
    """

    label: str
    score: float
    intensity: str
    confidence: float
    signals: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"label {self.label!r} not in {LABELS}")
        if self.intensity not in INTENSITIES:
            raise ValueError(f"intensity {self.intensity!r} not in {INTENSITIES}")
        if not -1.0 <= self.score <= 1.0:
            raise ValueError(f"score {self.score} outside [-1, 1]")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} outside [0, 1]")


class Scorer(Protocol):
    """Anything that scores texts in batches. `name` is stored beside every score it makes."""

    name: str

    def score(self, texts: Sequence[str]) -> list[Score]: ...


def label_for(score: float, neutral_band: float = NEUTRAL_BAND) -> str:
    """Three-class label for a score in [-1, 1]."""
    if score <= -neutral_band:
        return "negative"
    if score >= neutral_band:
        return "positive"
    return "neutral"


def intensity_for(score: float, neutral_band: float = NEUTRAL_BAND, strong_band: float = STRONG_BAND) -> str:
    """Five-level intensity for a score in [-1, 1]."""
    if score <= -strong_band:
        return "very_negative"
    if score <= -neutral_band:
        return "negative"
    if score < neutral_band:
        return "neutral"
    if score < strong_band:
        return "positive"
    return "very_positive"
