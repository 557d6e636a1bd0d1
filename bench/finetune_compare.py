"""Compare trained encoders (e.g. LoRA against full fine-tuning over seeds) on dev: one table per run and the mean
per method.

Usage: python bench/finetune_compare.py MODEL_DIR [MODEL_DIR ...] [--data-dir ../shared/data]

From each artifact's config.json (what `undertone train` measured when it chose its decision bias): macro-F1 on the
SemEval dev union with the classifier's argmax and with the chosen bias (and the lowest negative recall of the
three files), on the held-out reviews and on SST-5 dev in three classes, with the bias. Scored here: business
messages dev, argmax and with that bias (the encoder alone), and with the artifact's product head when it has one
(`undertone train-head --model-dir DIR`): macro-F1, negative precision / recall. Nothing is chosen here.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BUSINESS_DEV = "business_messages/business_messages_dev.tsv"
UNION, CUSTREV, SST = "semeval dev (3 files)", "custrev held-out 20%", "sst5 dev, 3 classes"
COLUMNS = ["union argmax", "union bias", "union neg-R (lowest file)", "custrev bias", "sst3 bias",
           "business argmax", "business bias", "business bias neg-P / neg-R", "business head",
           "business head neg-P / neg-R"]


def business_figures(model_dir: str, texts: list[str], gold: list[str]) -> dict:
    """Business dev figures of one artifact: argmax, decision bias, product head (if any)."""
    from scoring.base import LABELS
    from scoring.flair_scorer import FlairScorer, decide
    from scoring.training.product_metrics import sentiment_summary

    scorer = FlairScorer(model_dir, quantize=False)
    vectors, probs = scorer.features(texts)
    rows = {"argmax": probs, "bias": decide(probs, scorer.config["bias"])}
    if scorer.head is not None:
        rows["head"] = scorer.head.probabilities(vectors, probs)
    return {name: sentiment_summary(gold, [LABELS[i] for i in adjusted.argmax(1)]) for name, adjusted in rows.items()}


def run_row(model_dir: str, business: tuple[list[str], list[str]]) -> tuple[str, int, dict]:
    """(method, seed, figures by column) of one artifact."""
    from scoring.flair_scorer import read_config
    from scoring.training.data import DEV_FILES

    config = read_config(model_dir)
    dev, found = config["dev"], business_figures(model_dir, *business)
    figures = {"union argmax": dev[UNION]["flair argmax"][0], "union bias": dev[UNION]["flair"][0],
               "union neg-R (lowest file)": min(dev[f"semeval {name}"]["flair"][2] for name in DEV_FILES),
               "custrev bias": dev[CUSTREV]["flair"][0], "sst3 bias": dev[SST]["flair"][0],
               "business argmax": found["argmax"]["macro_f1"], "business bias": found["bias"]["macro_f1"],
               "business bias neg-P / neg-R": (found["bias"]["neg_precision"], found["bias"]["neg_recall"])}
    if "head" in found:
        figures["business head"] = found["head"]["macro_f1"]
        figures["business head neg-P / neg-R"] = (found["head"]["neg_precision"], found["head"]["neg_recall"])
    return config.get("finetune", "lora"), config["training"]["seed"], figures


def cell(value) -> str:
    """A figure, a precision / recall pair, or '-'."""
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return " / ".join(f"{v:.2f}" for v in value)
    return f"{value:.3f}"


def mean(values: list):
    """Mean of figures (or of pairs, element-wise); None if any is missing."""
    if not values or any(v is None for v in values):
        return None
    if isinstance(values[0], tuple):
        return tuple(sum(v[i] for v in values) / len(values) for i in range(len(values[0])))
    return sum(values) / len(values)


def main(argv: Sequence[str] | None = None) -> int:
    """Score business dev with each artifact, read the rest from its config, print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dirs", nargs="+")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args(argv)

    from scoring.training.evaluation import read_labelled

    business = read_labelled(args.data_dir / BUSINESS_DEV)
    rows, by_method = [], defaultdict(list)
    for model_dir in args.model_dirs:
        method, seed, figures = run_row(model_dir, business)
        rows.append((f"{method} seed {seed} ({model_dir})", figures))
        by_method[method].append(figures)
    for method, runs in by_method.items():
        rows.append((f"**{method}, mean of {len(runs)}**", {c: mean([r.get(c) for r in runs]) for c in COLUMNS}))
    print("| run | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for name, figures in rows:
        print(f"| {name} | " + " | ".join(cell(figures.get(c)) for c in COLUMNS) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
