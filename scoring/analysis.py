"""Everything the workers judge about one interaction: score, trajectory, escalation flags, themes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from scoring.base import Scorer
from scoring.escalation import EscalationRules, Flag, History
from scoring.interaction import ScoredInteraction, score_interaction, texts_to_score
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


    def analyse_many(self, items: Sequence[tuple[Sequence[dict] | None, str | None, History]]) -> list[Analysis | None]:
        """`analyse` for each (turns, summary, history), with one batched scorer call for all their texts and one
        embedding call for all the sentences the theme matcher and the escalation detector compare: a model
        call per interaction costs far more than its share of one batch. Same results as `analyse` one by one
        (up to float rounding between batch sizes)."""
        selected = [texts_to_score(turns, summary) for turns, summary, _ in items]
        texts = list(dict.fromkeys(t for chosen in selected if chosen for t in chosen[2]))
        if not texts:
            return [None] * len(items)
        batch = Analyzer(_Scored(self.scorer, texts), self.rules, self.themes, self.detector)
        about = [(list(chosen[2]), list(chosen[2]) + ([summary] if summary and chosen[0] != "summary" else []))
                 for chosen, (_, summary, _) in zip(selected, items) if chosen]
        ahead: dict[int, list[str]] = {}  # embedding function -> the texts it will be asked for
        if self.themes.embed is not None:
            ahead.setdefault(id(self.themes.embed), []).extend(s for _, a in about for s in self.themes.sentences(a))
        if self.detector is not None:
            ahead.setdefault(id(self.detector.embed), []).extend(p for c, _ in about for p in self.detector.pieces(c))
        looked_up = {}
        for embed in (self.themes.embed, self.detector.embed if self.detector is not None else None):
            if embed is not None and id(embed) not in looked_up:
                looked_up[id(embed)] = _embedded_ahead(embed, ahead[id(embed)])
        if self.themes.embed is not None:
            batch.themes = self.themes.using(looked_up[id(self.themes.embed)])
        if self.detector is not None:
            batch.detector = self.detector.using(looked_up[id(self.detector.embed)])
        return [batch.analyse(turns, summary, history) for turns, summary, history in items]


class _Scored:
    """A scorer answering from one batched call of the real one, made ahead for every text of a batch."""

    def __init__(self, scorer: Scorer, texts: list[str]) -> None:
        self.name = scorer.name
        self._scorer = scorer
        self._scores = dict(zip(texts, scorer.score(texts)))

    def score(self, texts: Sequence[str]) -> list:
        missing = [t for t in texts if t not in self._scores]
        if missing:  # not asked ahead (cannot happen through analyse_many): scored now
            self._scores.update(zip(missing, self._scorer.score(missing)))
        return [self._scores[t] for t in texts]


def _embedded_ahead(embed, texts: list[str]):
    """An embedding function that answers from one call of `embed` over `texts` (each text once), and calls
    `embed` itself for texts it was not given."""
    import numpy as np

    unique = list(dict.fromkeys(texts))
    vectors = np.asarray(embed(unique)) if unique else None
    rows = {text: index for index, text in enumerate(unique)}

    def lookup(asked: Sequence[str]):
        asked = list(asked)
        if vectors is None or any(text not in rows for text in asked):
            return embed(asked)
        return vectors[[rows[text] for text in asked]]

    return lookup


def learned_flags(detector, texts: Sequence[str], overall, flags: Sequence[Flag]) -> list[Flag]:
    """The detector's flags for kinds no rule flagged already (a rule's flag names its exact words)."""
    from scoring.escalation import kind_of

    seen = {kind_of(f.rule) for f in flags}
    return [f for f in detector.detect(texts, overall) if kind_of(f.rule) not in seen]
