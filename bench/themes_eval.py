"""How well embedding similarity finds a theme, measured on banking77 (77 customer-support intents).

Each intent becomes a theme whose examples are 5 training questions (seeded); the threshold is chosen
on 2,000 other training questions (the highest that still covers 95% of them), and the figures at
that threshold are then reported on the test split (not used for choosing). Keyword matching is not measured here
(it is exact by construction).

    python bench/themes_eval.py [--data-dir ../shared/data]   (needs the AI extra: torch, the MiniLM package)
"""
from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

THRESHOLDS = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]
MIN_COVERAGE = 0.95


def read(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def evaluate(matcher, rows) -> dict[float, tuple[float, float]]:
    """Per threshold: (coverage = share with any theme above it, accuracy of the best theme among those)."""
    from scoring.embeddings import encode

    vectors = encode([t for t, _ in rows])
    examples, owners = matcher._example_matrix()
    sims = vectors @ examples.T
    best = sims.argmax(axis=1)
    results = {}
    for threshold in THRESHOLDS:
        covered = [(owners[b], gold) for b, row_sims, (_, gold) in zip(best, sims, rows) if row_sims[b] >= threshold]
        coverage = len(covered) / len(rows)
        accuracy = sum(p == g for p, g in covered) / len(covered) if covered else 0.0
        results[threshold] = (coverage, accuracy)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    from scoring.embeddings import encode
    from scoring.themes import ThemeMatcher

    rng = random.Random(args.seed)
    train = read(Path(args.data_dir) / "banking77" / "train.csv")
    test = read(Path(args.data_dir) / "banking77" / "test.csv")
    rng.shuffle(train)
    by_intent = defaultdict(list)
    for text, intent in train:
        by_intent[intent].append(text)
    themes = [{"theme": intent, "examples": texts[:5]} for intent, texts in sorted(by_intent.items())]
    used = {t for theme in themes for t in theme["examples"]}
    choose = [row for row in train if row[0] not in used][:2000]
    matcher = ThemeMatcher(themes, embed=encode)
    chosen = evaluate(matcher, choose)
    # Every banking77 question has an intent, but most sentences in a call have no theme: prefer precision.
    # Rule: the highest threshold that still finds a theme for 95% of questions that have one.
    best = max(t for t in THRESHOLDS if chosen[t][0] >= MIN_COVERAGE)
    final = evaluate(matcher, test)
    print(f"banking77: {len(themes)} themes x 5 examples; threshold chosen on {len(choose)} train questions\n")
    print(f"{'threshold':>10}{'coverage':>10}{'accuracy':>10}   (choice split)")
    for t in THRESHOLDS:
        print(f"{t:>10.2f}{chosen[t][0]:>10.3f}{chosen[t][1]:>10.3f}{'   <- chosen' if t == best else ''}")
    coverage, accuracy = final[best]
    print(f"\ntest split at {best:.2f}: coverage {coverage:.3f}, accuracy {accuracy:.3f} "
          f"({len(test)} questions; chance would be {1 / len(themes):.3f})")


if __name__ == "__main__":
    main()
