"""Do discovered topics follow what customers ask about? Measured on banking77 (77 support intents).

Each method assigns every test question to one topic (or to none); the figure is the adjusted mutual
information (AMI) of that assignment with the 77 intents (0 = chance, 1 = the intents exactly).
Questions a method leaves without a topic count as one group of their own.

- new: noun phrases merged by MiniLM embedding (`scoring.theme_discovery.discover`, topics seen in at
  least two questions); a question goes to the topic whose centroid (mean embedding of the questions
  that use its phrases) is nearest (`assign`). The merge distance is chosen on train questions (as many
  as the test split, seeded), never on test. "refined once" moves each centroid to the questions it
  was given and assigns again (one k-means step from the discovered topics).
- today: the key-phrase counting `undertone themes` used so far (`top_phrases`); a question goes to the
  most shared kept phrase it contains.
- sentence clusters: k-means on the questions' own MiniLM embeddings with as many clusters as the new
  method found: a reference that sees whole sentences but names nothing.

Then the ten largest topics found in the business_messages dev texts (dev only: nothing is fitted on them).

    nice -n 10 python bench/topics_eval.py [--data-dir ../shared/data]   (needs torch and the MiniLM package)
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DISTANCES = [0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6]
TOLERANCE = 0.01


def read(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="") as handle:
        rows = [(row["text"], row["category"]) for row in csv.DictReader(handle)]
    return [t for t, _ in rows], [c for _, c in rows]


def cached_embedder():
    """`encode`, remembering each phrase's vector (the sweep embeds the same phrases again)."""
    import numpy as np

    from scoring.embeddings import encode

    memo: dict[str, object] = {}

    def embed(texts):
        missing = [t for t in dict.fromkeys(texts) if t not in memo]
        for text, vector in zip(missing, encode(missing)):
            memo[text] = vector
        return np.stack([memo[t] for t in texts])

    return embed


@lru_cache(maxsize=None)
def phrases_of(text: str) -> tuple[str, ...]:
    from scoring.noun_phrases import noun_phrases

    return tuple(noun_phrases(text))


def new_assignment(texts, embed, distance, rounds=1):
    from scoring.theme_discovery import assign, discover

    found = discover(texts, embed, distance=distance, phrases_of=phrases_of)
    return [-1 if a is None else a for a in assign(texts, found, embed, rounds)], len(found.themes)


def today_assignment(texts):
    from scoring.theme_discovery import key_phrases, top_phrases

    rank = {t.label: i for i, t in enumerate(top_phrases(texts, top=len(texts), min_count=2))}
    out = []
    for text in texts:
        ranks = [rank[p] for p in key_phrases(text) if p in rank]
        out.append(min(ranks) if ranks else -1)
    return out, len(rank)


def sentence_assignment(texts, k: int, seed: int):
    from sklearn.cluster import KMeans

    from scoring.embeddings import encode

    return list(KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(encode(texts)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    from sklearn.metrics import adjusted_mutual_info_score as ami

    data = Path(args.data_dir)
    train_texts, train_intents = read(data / "banking77" / "train.csv")
    test_texts, test_intents = read(data / "banking77" / "test.csv")
    order = list(range(len(train_texts)))
    random.Random(args.seed).shuffle(order)
    choose = order[:len(test_texts)]
    choose_texts, choose_intents = [train_texts[i] for i in choose], [train_intents[i] for i in choose]
    embed = cached_embedder()

    print(f"banking77: merge distance chosen on {len(choose_texts)} train questions (AMI with the intents)")
    print(f"{'distance':>10}{'AMI':>8}{'topics':>8}{'covered':>9}")
    scores = {}
    for distance in DISTANCES:
        assigned, topics = new_assignment(choose_texts, embed, distance)
        scores[distance] = ami(choose_intents, assigned)
        covered = sum(a >= 0 for a in assigned) / len(assigned)
        print(f"{distance:>10.2f}{scores[distance]:>8.3f}{topics:>8}{covered:>9.3f}")
    # Merging more than needed blurs the labels: the smallest distance within TOLERANCE of the best AMI.
    best = min(d for d in DISTANCES if scores[d] >= max(scores.values()) - TOLERANCE)
    print(f"chosen: {best:.2f} (the smallest distance within {TOLERANCE} of the best)\n")

    new, topics = new_assignment(test_texts, embed, best)
    refined, _ = new_assignment(test_texts, embed, best, rounds=2)
    today, today_topics = today_assignment(test_texts)
    k = topics
    sentences = sentence_assignment(test_texts, k, args.seed)
    rows = [("new: merged noun phrases", ami(test_intents, new), topics, new),
            ("new, refined once", ami(test_intents, refined), topics, refined),
            ("today: key-phrase counts", ami(test_intents, today), today_topics, today),
            (f"sentence clusters (k-means, k={k})", ami(test_intents, sentences), k, sentences)]
    print(f"banking77 test ({len(test_texts)} questions, {len(set(test_intents))} intents) at distance {best:.2f}:")
    print(f"{'method':<36}{'AMI':>8}{'topics':>8}{'covered':>9}")
    for name, score, count, assigned in rows:
        covered = sum(a >= 0 for a in assigned) / len(assigned)
        print(f"{name:<36}{score:>8.3f}{count:>8}{covered:>9.3f}")
    print(f"ratios: new / today {rows[0][1] / rows[2][1]:.2f}, new / sentence clusters {rows[0][1] / rows[3][1]:.2f}, "
          f"refined / sentence clusters {rows[1][1] / rows[3][1]:.2f}")

    from scoring.theme_discovery import discover

    with (data / "business_messages" / "business_messages_dev.tsv").open(newline="") as handle:
        dev = [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    found = discover(dev, embed, distance=best, phrases_of=phrases_of)
    print(f"\nten largest topics in business_messages dev ({len(dev)} messages):")
    for theme in found.themes[:10]:
        print(f"  {theme.label:<28}{theme.interactions:>4}  {', '.join(theme.phrases[:5])}")


if __name__ == "__main__":
    main()
