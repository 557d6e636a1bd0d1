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
    vocabulary = ["garage", "door", "opener", "gutter", "invoice", "noise", "email"]

    def embed(texts):
        rows = np.array([[t.lower().count(w) + 1e-9 for w in vocabulary] for t in texts], dtype=float)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    [biggest, *rest] = clusters(DOCUMENTS, embed, top=3)
    assert biggest.label == "garage door opener" and biggest.interactions == 3
    assert rest == []  # every other phrase is in one message only: not a recurring topic


def test_near_duplicate_phrases_merge_under_the_most_used_label():
    from scoring.embeddings import encode
    from scoring.theme_discovery import discover

    documents = [
        "Why is there a late fee on my bill?",
        "You charged me late fees again.",
        "Another late fee this month, seriously?",
        "The gutter cleaning was great.",
        "Can I book a gutter cleaning for next week?",
        "My dog ate the remote.",
    ]
    found = discover(documents, encode)
    labels = {t.label: t for t in found.themes}
    assert set(labels) == {"late fee", "gutter cleaning"}
    assert labels["late fee"].interactions == 3 and labels["gutter cleaning"].interactions == 2
    assert found.themes[0].label == "late fee"  # most messages first
    assert labels["late fee"].examples[0] == documents[0]
    assert found.members == [[0, 1, 2], [3, 4]]


def test_the_label_is_the_phrase_nearest_the_centroid_and_order_does_not_matter():
    from scoring.theme_discovery import discover

    axes = {"refund": [1.0, 0.0, 0.0], "full refund": [0.95, 0.3, 0.0], "money back": [0.8, 0.0, 0.6], "invoice": [0, 0, 0]}

    def embed(texts):
        return np.array([axes[t] if any(axes[t]) else [0.0, -1.0, 0.0] for t in texts])

    documents = ["refund", "full refund", "money back", "refund|money back", "invoice"]
    phrases_of = lambda d: d.split("|")
    found = discover(documents, embed, distance=0.5, phrases_of=phrases_of)
    [topic] = found.themes  # "invoice" is in one message only
    assert topic.label == "refund" and topic.interactions == 4
    assert topic.phrases == ["money back", "refund", "full refund"]  # most used first, then alphabetical
    again = discover(documents[::-1], embed, distance=0.5, phrases_of=phrases_of)
    assert [(t.label, t.interactions) for t in again.themes] == [("refund", 4)]


def test_assign_gives_each_message_its_nearest_topic():
    from scoring.theme_discovery import DiscoveredTheme, Discovery, assign

    vectors = {"a1": [1.0, 0.0], "a2": [0.9, 0.1], "b1": [0.0, 1.0], "b2": [0.1, 0.9], "x": [0.6, 0.4]}
    embed = lambda texts: np.array([vectors[t] for t in texts])
    documents = ["a1", "a2", "b1", "b2", "x"]
    discovery = Discovery([DiscoveredTheme("a", 2), DiscoveredTheme("b", 2)], [[0, 1], [2, 3]])
    assert assign(documents, discovery, embed) == [0, 0, 1, 1, 0]
    assert assign(documents, Discovery([], []), embed) == [None] * 5
