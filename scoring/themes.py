"""Themes: what an interaction is about, from a configurable taxonomy (`scoring/themes.json`).

Two matchers. Keywords are exact and explainable. Embedding similarity (sentence embeddings of the
customer's sentences against each theme's example sentences) catches paraphrases the keywords miss.
The embedding function is injected: workers pass `scoring.embeddings.encode` when the AI extra is
installed; without it only keywords run. Discovery of new themes lives in `scoring.theme_discovery`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

DEFAULT_PATH = Path(__file__).with_name("themes.json")
DEFAULT_SIMILARITY = 0.55  # cosine; chosen on banking77 train (bench/themes_eval.py: 0.76 top-1 on its test split)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
EVIDENCE_CHARS = 200

Embed = Callable[[Sequence[str]], "object"]  # texts -> array (n, d) of L2-normalised rows


@dataclass(frozen=True)
class ThemeHit:
    theme: str
    how: str  # keyword | similarity
    evidence: str
    similarity: float | None = None

    def as_dict(self) -> dict:
        entry = {"theme": self.theme, "how": self.how, "evidence": self.evidence}
        if self.similarity is not None:
            entry["similarity"] = round(self.similarity, 3)
        return entry


@dataclass
class ThemeMatcher:
    """Matches customer texts to taxonomy themes; `match` returns at most one hit per theme."""

    themes: list[dict]
    embed: Embed | None = None
    similarity_threshold: float = DEFAULT_SIMILARITY
    _keywords: dict[str, re.Pattern] = field(default_factory=dict, repr=False)
    _examples: object = field(default=None, repr=False)  # (matrix, theme per row), built on first use

    @classmethod
    def load(cls, path: str | Path | None = None, embed: Embed | None = None,
             similarity_threshold: float = DEFAULT_SIMILARITY) -> "ThemeMatcher":
        return cls.from_document(json.loads(Path(path or DEFAULT_PATH).read_text()), embed, similarity_threshold)

    @classmethod
    def from_document(cls, document: dict, embed: Embed | None = None,
                      similarity_threshold: float = DEFAULT_SIMILARITY) -> "ThemeMatcher":
        """A matcher from a parsed taxonomy (the file's shape, or the owner's copy edited in the console)."""
        matcher = cls(document["themes"], embed, similarity_threshold)
        for theme in matcher.themes:
            words = "|".join(theme.get("keywords", []))
            if words:
                try:
                    matcher._keywords[theme["theme"]] = re.compile(rf"\b(?:{words})\b", re.IGNORECASE)
                except re.error as exc:
                    raise ValueError(f"theme {theme['theme']!r}: bad keyword pattern: {exc}") from None
        return matcher

    @property
    def names(self) -> list[str]:
        return [t["theme"] for t in self.themes]

    def sentences(self, texts: Sequence[str]) -> list[str]:
        """The sentences `match` compares (and embeds, with an embedding function)."""
        return [s.strip() for text in texts for s in _SENTENCE.findall(text) if len(s.strip()) > 3]

    def using(self, embed: Embed) -> "ThemeMatcher":
        """The same matcher with another embedding function for customer sentences (e.g. one that looks up
        vectors computed ahead); the theme examples stay embedded by this matcher's own function, once."""
        if self.embed is not None:
            self._example_matrix()
        return replace(self, embed=embed)

    def match(self, texts: Sequence[str]) -> list[ThemeHit]:
        """Keyword hits first (exact), then similarity hits for themes the keywords missed."""
        sentences = self.sentences(texts)
        hits = {h.theme: h for h in self._keyword_hits(sentences)}
        if self.embed is not None and sentences:
            for hit in self._similarity_hits(sentences):
                hits.setdefault(hit.theme, hit)
        return [hits[name] for name in self.names if name in hits]

    def _keyword_hits(self, sentences: list[str]) -> list[ThemeHit]:
        hits = []
        for name, pattern in self._keywords.items():
            found = next((s for s in sentences if pattern.search(s)), None)
            if found is not None:
                hits.append(ThemeHit(name, "keyword", found[:EVIDENCE_CHARS]))
        return hits

    def _similarity_hits(self, sentences: list[str]) -> list[ThemeHit]:
        matrix, owners = self._example_matrix()
        similarities = self.embed(sentences) @ matrix.T  # (sentences, examples), cosine
        best: dict[str, ThemeHit] = {}
        for row, sentence in enumerate(sentences):
            for column, theme in enumerate(owners):
                value = float(similarities[row, column])
                if value >= self.similarity_threshold and value > (best[theme].similarity if theme in best else -1):
                    best[theme] = ThemeHit(theme, "similarity", sentence[:EVIDENCE_CHARS], value)
        return list(best.values())

    def _example_matrix(self):
        if self._examples is None:
            owners = [t["theme"] for t in self.themes for _ in t.get("examples", [])]
            examples = [e for t in self.themes for e in t.get("examples", [])]
            self._examples = (self.embed(examples), owners)
        return self._examples
