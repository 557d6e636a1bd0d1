"""Discovering recurring themes across interactions."""
import numpy as np

from scoring.theme_discovery import clusters, key_phrases, top_phrases

DOCUMENTS = [
    "The garage door opener stopped working again.",
    "My garage door opener makes a grinding noise.",
    "Can you fix the garage door opener this week?",
    "The gutter cleaning was great.",
    "Please send the invoice by email.",
]


def test_key_phrases_skip_stop_words_at_the_edges():
    phrases = key_phrases("The garage door opener stopped working.")
    assert "garage door opener" in phrases and "garage door" in phrases
    assert "the garage" not in phrases and "the" not in phrases


def test_the_most_shared_phrase_wins_and_its_parts_fold_into_it():
    [first, *_] = top_phrases(DOCUMENTS, top=3)
    assert first.label == "garage door opener" and first.interactions == 3
    assert len(first.examples) == 3
    labels = [t.label for t in top_phrases(DOCUMENTS, top=10)]
    assert "garage door" not in labels and "door opener" not in labels  # folded into the longer phrase


def test_taxonomy_words_can_be_excluded():
    labels = [t.label for t in top_phrases(DOCUMENTS, top=10, exclude=["garage"], min_count=1)]
    assert not any("garage" in label for label in labels)


def test_clusters_group_by_meaning_and_count_interactions():
    vocabulary = ["garage", "door", "opener", "gutter", "invoice"]

    def embed(texts):
        rows = np.array([[t.lower().count(w) + 1e-9 for w in vocabulary] for t in texts], dtype=float)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    [biggest, *rest] = clusters(DOCUMENTS, embed, top=3)
    assert biggest.label == "garage door opener" and biggest.interactions == 3
    assert all(t.interactions == 1 for t in rest)
