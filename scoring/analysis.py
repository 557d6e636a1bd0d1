"""Everything the workers judge about one interaction: score, trajectory, escalation flags, themes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from scoring.base import Scorer
from scoring.escalation import EscalationRules, Flag, History
from scoring.interaction import ScoredInteraction, score_interaction
from scoring.themes import ThemeHit, ThemeMatcher


@dataclass(frozen=True)
class Analysis:
    scored: ScoredInteraction
    flags: list[Flag]
    themes: list[ThemeHit]


@dataclass
class Analyzer:
    """The configured scorer, escalation rules and theme matcher, built once per worker process."""

    scorer: Scorer
    rules: EscalationRules
    themes: ThemeMatcher
    detector: Any = None  # scoring.escalation_detector.EscalationDetector, when sentence embeddings are in use

    @classmethod
    def default(cls, scorer: Scorer) -> "Analyzer":
        """Packaged rules and taxonomy, keyword themes only (tests and tools that need no settings)."""
        return cls(scorer, EscalationRules.load(), ThemeMatcher.load())

    def analyse(self, turns: Sequence[dict] | None, summary: str | None, history: History) -> Analysis | None:
        """None when the interaction holds no customer words to judge."""
        scored = score_interaction(turns, summary, self.scorer)
        if scored is None:
            return None
        flags = self.rules.evaluate(scored.texts, scored.overall, history)
        if self.detector is not None:
            flags += learned_flags(self.detector, scored.texts, scored.overall, flags)
        about = list(scored.texts) + ([summary] if summary and scored.basis != "summary" else [])
        return Analysis(scored, flags, self.themes.match(about))


def learned_flags(detector, texts: Sequence[str], overall, flags: Sequence[Flag]) -> list[Flag]:
    """The detector's flags for kinds no rule flagged already (a rule's flag names its exact words)."""
    from scoring.escalation import kind_of

    seen = {kind_of(f.rule) for f in flags}
    return [f for f in detector.detect(texts, overall) if kind_of(f.rule) not in seen]
