"""Discover recurring topics the taxonomy does not name, in the customers' own words.

`discover` (with an embedding function, normally the packaged MiniLM's `scoring.embeddings.encode`):
the noun phrases of every message (`scoring.noun_phrases`) are embedded and near-duplicates merged by
agglomerative clustering on cosine distance (average linkage, cut at `PHRASE_DISTANCE`), so "late fee"
and "late fees" or "refund" and "my money back" become one topic. Each topic is labelled with its most
typical phrase (the closest to the topic's centroid, weighted by how many messages use each phrase;
ties go to the more frequent, then the alphabetically first), counted by distinct messages, and kept
when at least two messages bring it up. Deterministic: the same messages give the same topics.

`top_phrases` (no embeddings: the MiniLM package is absent) counts 1-3 word n-grams without stop words
at their edges, as before.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

from scoring.noun_phrases import noun_phrases

_WORD = re.compile(r"[a-z][a-z'-]+")
_SENTENCE = re.compile(r"[^.!?\n]+")
PHRASE_DISTANCE = 0.45  # cosine distance at which phrase clusters stop merging (chosen on banking77 train)
MIN_MESSAGES = 2
MAX_PHRASES = 5000  # the most used distinct phrases clustered (pairwise distances: about 100 MB at 5,000)


@dataclass
class DiscoveredTheme:
    label: str
    interactions: int  # how many distinct interactions mention it
    examples: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)  # the merged phrases, most used first


@dataclass
class Discovery:
    themes: list[DiscoveredTheme]  # most messages first
    members: list[list[int]]  # per theme: the indexes of the documents that use one of its phrases


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
             distance: float = PHRASE_DISTANCE) -> list[DiscoveredTheme]:
    """The `top` topics of `discover`: merged noun phrases, labelled by their most typical phrase."""
    return discover(documents, embed, distance=distance).themes[:top]


def discover(documents: Sequence[str], embed: Callable[[Sequence[str]], "object"], distance: float = PHRASE_DISTANCE,
             min_messages: int = MIN_MESSAGES, phrases_of: Callable[[str], Sequence[str]] = noun_phrases) -> Discovery:
    """Topics across `documents`: their noun phrases merged by meaning (see the module's docstring)."""
    import numpy as np

    per_document = [set(phrases_of(d)) for d in documents]
    used: Counter[str] = Counter(p for phrases in per_document for p in phrases)
    vocabulary = sorted(used, key=lambda p: (-used[p], p))[:MAX_PHRASES]
    if not vocabulary:
        return Discovery([], [])
    vectors = np.asarray(embed(vocabulary), dtype=np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    using: dict[str, list[int]] = {}  # phrase -> the documents that use it (one pass, not one per topic)
    for i, phrases in enumerate(per_document):
        for phrase in phrases:
            using.setdefault(phrase, []).append(i)
    found = []
    for group in _merge(vectors, distance):
        messages = sorted({i for m in group for i in using[vocabulary[m]]})
        if len(messages) < min_messages:
            continue
        label = _typical(group, vectors, vocabulary, used)
        phrases = sorted((vocabulary[m] for m in group), key=lambda p: (-used[p], p))
        first = [i for i in messages if label in per_document[i]] + [i for i in messages if label not in per_document[i]]
        found.append((DiscoveredTheme(label, len(messages), [documents[i] for i in first[:3]], phrases), messages))
    found.sort(key=lambda pair: (-pair[0].interactions, pair[0].label))
    return Discovery([theme for theme, _ in found], [messages for _, messages in found])


def assign(documents: Sequence[str], discovery: Discovery, embed: Callable[[Sequence[str]], "object"],
           rounds: int = 1) -> list[int | None]:
    """One theme per document: the theme whose centroid (the mean embedding of its documents) is nearest.

    With `rounds` > 1 each centroid is then recomputed from the documents it was given, and again
    (k-means steps started from the discovered themes). None for every document when there is no theme.
    """
    import numpy as np

    if not discovery.themes:
        return [None] * len(documents)
    sentences = np.asarray(embed(list(documents)), dtype=np.float64)
    centroids = np.stack([sentences[m].mean(axis=0) for m in discovery.members])
    for step in range(rounds):
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        nearest = (sentences @ centroids.T).argmax(axis=1)
        if step + 1 < rounds:
            centroids = np.stack([sentences[nearest == k].mean(axis=0) if (nearest == k).any() else centroids[k]
                                  for k in range(len(centroids))])
    return [int(k) for k in nearest]


def _merge(vectors, distance: float) -> list[list[int]]:
    """Row indexes grouped by average-linkage agglomerative clustering on cosine distance, cut at `distance`."""
    if len(vectors) == 1:
        return [[0]]
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(vectors, method="average", metric="cosine")
    ids = fcluster(tree, t=distance, criterion="distance")
    groups: dict[int, list[int]] = {}
    for row, cluster_id in enumerate(ids):
        groups.setdefault(int(cluster_id), []).append(row)
    return list(groups.values())


def _typical(members: list[int], vectors, vocabulary: list[str], used: Counter[str]) -> str:
    """The member phrase closest to the usage-weighted centroid (ties: more used, then alphabetical)."""
    import numpy as np

    weights = np.array([used[vocabulary[m]] for m in members], dtype=np.float64)
    centroid = (vectors[members] * weights[:, None]).sum(axis=0)
    centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
    similarity = vectors[members] @ centroid
    best = min(range(len(members)), key=lambda k: (-round(float(similarity[k]), 4), -weights[k], vocabulary[members[k]]))
    return vocabulary[members[best]]
