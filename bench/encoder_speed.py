"""Scoring speed of other encoders against the shipped one in the same run (e.g. a full fine-tune against LoRA).

Usage: python bench/encoder_speed.py MODEL_DIR [MODEL_DIR ...] [--n 1000] [--repeats 3] [--batch-size 64]
       [--threads N]

Each artifact is loaded as a `FlairScorer` deciding by its decision bias alone (no product head, so only the
encoder and its linear head are timed) and scores the short customer messages of bench/scorer_speed.py. The timed
calls take turns (shipped, then each other model, `--repeats` rounds) so that load from other processes falls on
all of them alike; each rate is the best of its rounds, and each model's ratio is to the shipped model's rate.
Also prints each artifact's weight file size.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.scorer_speed import SHORT_MESSAGES  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    """Load the shipped model and the given ones, time them in turns on short messages, print rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dirs", nargs="+", help="artifacts to compare with the shipped model")
    parser.add_argument("--n", type=int, default=1000, help="texts per timed call")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of timed calls")
    parser.add_argument("--batch-size", type=int, default=64, help="flair mini-batch size")
    parser.add_argument("--threads", type=int, default=None, help="torch threads [default: the CPUs available]")
    args = parser.parse_args(argv)

    from scoring.flair_scorer import MODEL_DIR, WEIGHTS_FILE, FlairScorer

    scorers = {}
    for name, path in [("shipped", MODEL_DIR), *((str(p), p) for p in args.model_dirs)]:
        scorer = FlairScorer(path, batch_size=args.batch_size, threads=args.threads, quantize=False)
        scorer._config = {key: value for key, value in scorer.config.items() if key != "product_head"}
        scorers[name] = scorer.load()
        size = Path(path, WEIGHTS_FILE).stat().st_size / 1e6
        print(f"{name}: {scorer.config.get('finetune', 'lora')}, {WEIGHTS_FILE} {size:.1f} MB")
    texts = (SHORT_MESSAGES * (args.n // len(SHORT_MESSAGES) + 1))[:args.n]
    for scorer in scorers.values():  # warm-up
        scorer.score(texts[:64])
    best = {name: float("inf") for name in scorers}
    for _ in range(args.repeats):
        for name, scorer in scorers.items():
            start = time.perf_counter()
            scorer.score(texts)
            best[name] = min(best[name], time.perf_counter() - start)
    shipped = args.n / best["shipped"]
    for name, seconds in best.items():
        print(f"{args.n} short messages, {name}: {args.n / seconds:.0f}/s, ratio to shipped {args.n / seconds / shipped:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
