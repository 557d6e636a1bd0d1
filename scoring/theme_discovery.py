"""Discover recurring themes the taxonomy does not name, across many interactions.

Key phrases (1-3 word n-grams without stop words) counted by how many interactions use them; with
an embedding function, sentences are also grouped by meaning (greedy centroid clustering on cosine
similarity) and each group is named by its most frequent key phrase. Answers "what do customers
keep bringing up?" beside the taxonomy's own counts.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

_WORD = re.compile(r"[a-z][a-z'-]+")
_SENTENCE = re.compile(r"[^.!?\n]+")
CLUSTER_SIMILARITY = 0.6


@dataclass
class DiscoveredTheme:
    label: str
    interactions: int  # how many distinct interactions mention it
    examples: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(Path(__file__).with_name("stopwords.txt").read_text().split())


def key_phrases(text: str, max_words: int = 3) -> set[str]:
    """The n-grams of a text that neither start nor end with a stop word (each counted once)."""
    phrases = set()
    for sentence in _SENTENCE.findall(text.lower()):
        words = _WORD.findall(sentence)
        for n in range(1, max_words + 1):
            for i in range(len(words) - n + 1):
                gram = words[i:i + n]
                if gram[0] not in stopwords() and gram[-1] not in stopwords() and len(gram[0]) > 2:
                    phrases.add(" ".join(gram))
    return phrases


def top_phrases(documents: Sequence[str], top: int = 5, exclude: Sequence[str] = (), min_count: int = 2) -> list[DiscoveredTheme]:
    """Phrases used by the most documents; a phrase inside a longer phrase as frequent is dropped."""
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    excluded = re.compile("|".join(rf"\b{re.escape(e)}\b" for e in exclude)) if exclude else None
    for document in documents:
        for phrase in key_phrases(document):
            if excluded is None or not excluded.search(phrase):
                counts[phrase] += 1
                examples.setdefault(phrase, []).append(document)
    frequent = [(p, c) for p, c in counts.most_common() if c >= min_count]
    kept = [(p, c) for p, c in frequent if not any(p != q and p in q and c <= d for q, d in frequent)]
    return [DiscoveredTheme(p, c, examples[p][:3]) for p, c in kept[:top]]


def clusters(documents: Sequence[str], embed: Callable[[Sequence[str]], "object"], top: int = 5,
             similarity: float = CLUSTER_SIMILARITY) -> list[DiscoveredTheme]:
    """Group the documents' sentences by meaning; each group named by its most shared key phrase."""
    import numpy as np

    sentences = [(i, s.strip()) for i, d in enumerate(documents) for s in _SENTENCE.findall(d) if len(s.split()) >= 3]
    if not sentences:
        return []
    vectors = embed([s for _, s in sentences])
    centroids, members = [], []
    for row, vector in enumerate(vectors):
        scores = np.array([c @ vector for c in centroids]) if centroids else np.array([])
        best = int(scores.argmax()) if scores.size else -1
        if best >= 0 and scores[best] >= similarity:
            members[best].append(row)
            total = centroids[best] * (len(members[best]) - 1) + vector
            centroids[best] = total / np.linalg.norm(total)
        else:
            centroids.append(vector / np.linalg.norm(vector))
            members.append([row])
    groups = sorted(members, key=lambda m: -len({sentences[r][0] for r in m}))
    return [t for t in (_name(group, sentences) for group in groups[:top * 2]) if t is not None][:top]


def _name(group: list[int], sentences: list[tuple[int, str]]) -> DiscoveredTheme | None:
    texts = [sentences[r][1] for r in group]
    named = top_phrases(texts, top=1, min_count=1)
    if not named:
        return None
    return DiscoveredTheme(named[0].label, len({sentences[r][0] for r in group}), texts[:3])
