"""Throughput of the lexicon, flair and ensemble scorers in one run, and the process's memory with the model loaded.

Usage: python bench/scorer_speed.py [DATA_DIR] [--n 2000] [--batch-size 64] [--repeats 3]
       [--model-dir DIR] [--threads N] [--no-quantize]

"flair-bias-only" is the same encoder deciding by the decision bias alone (no product head, issue 14): the
baseline measured in the same run, so the head's cost reads as a ratio whatever else the machine is doing.

Texts: short customer messages (SMS/chat length, a fixed list cycled to n) and SemEval dev tweets
(unlabelled use only). Each rate is the best of `--repeats` timed `score()` calls on all n texts
(the flair scorer sorts by length and scores in mini-batches). Memory: VmRSS and VmHWM (peak) from
/proc/self/status after loading and after scoring, i.e. what a worker holding the model needs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scoring.lexicon import LexiconScorer  # noqa: E402
from scoring.training.evaluation import read_labelled  # noqa: E402

SHORT_MESSAGES = [
    "I was charged twice, I want a refund",
    "still waiting for someone to call me back",
    "thanks so much, the technician was great!",
    "the app keeps crashing when I log in",
    "can I change my appointment to Friday?",
    "third time calling about this, unacceptable",
    "perfect, that fixed it. appreciate the help",
    "where is my order? it's been two weeks",
    "ok thanks",
    "cancel my subscription please",
    "your support team is amazing",
    "the internet has been down since yesterday",
    "I'd like to check my balance",
    "nobody has gotten back to me",
    "love the new update!",
    "is the store open on Sunday?",
]
TWEET_FILES = [f"semeval2017_task4A/twitter-{name}-A.txt" for name in ("2013dev", "2016dev", "2016devtest")]


def memory() -> dict[str, float]:
    """Current and peak resident memory of this process in MB (Linux /proc)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def rate(scorer, texts: Sequence[str], repeats: int) -> float:
    """Best-of-`repeats` texts per second for one batched `score()` call on all texts."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        scorer.score(texts)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def main(argv: Sequence[str] | None = None) -> int:
    """Load the scorers, time them on both kinds of text, print rates and memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=2000, help="texts per timed run")
    parser.add_argument("--batch-size", type=int, default=64, help="flair mini-batch size")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model-dir", default=None, help="flair artifact [default: the shipped model]")
    parser.add_argument("--threads", type=int, default=None, help="torch threads [default: the CPUs available]")
    parser.add_argument("--no-quantize", action="store_true", help="run the encoder in fp32 even if the artifact says int8")
    args = parser.parse_args(argv)

    from scoring.flair_scorer import EnsembleScorer, FlairScorer

    print(f"before loading: {memory()}")
    start = time.perf_counter()
    flair = FlairScorer(args.model_dir, batch_size=args.batch_size, threads=args.threads,
                        quantize=False if args.no_quantize else None).load()
    ensemble = EnsembleScorer(flair, LexiconScorer()).load()
    lexicon = LexiconScorer().load()
    # The baseline in the same run: the same encoder deciding by the bias alone, without the product head.
    bias_only = FlairScorer(args.model_dir, batch_size=args.batch_size, threads=args.threads,
                            quantize=False if args.no_quantize else None)
    bias_only._config = {key: value for key, value in flair.config.items() if key != "product_head"}
    bias_only.name = "flair-bias-only"
    bias_only.load()
    import torch

    print(f"flair model loaded in {time.perf_counter() - start:.1f}s (int8 encoder: {flair.quantize}, "
          f"torch threads: {torch.get_num_threads()}, batch {args.batch_size}): {memory()}")
    tweets = [t for f in TWEET_FILES for t in read_labelled(args.data_dir / f)[0]][:args.n]
    short = (SHORT_MESSAGES * (args.n // len(SHORT_MESSAGES) + 1))[:args.n]
    for label, texts in (("short messages", short), ("dev tweets", tweets)):
        mean = sum(map(len, texts)) / len(texts)
        rates = {scorer.name: rate(scorer, texts, args.repeats) for scorer in (lexicon, bias_only, flair, ensemble)}
        print(f"{len(texts)} {label} (mean {mean:.0f} chars): " + "  ".join(
            f"{name} {value:8.0f}/s" for name, value in rates.items()))
    print(f"after scoring: {memory()}  (VmRSS now, VmHWM peak, MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
