"""The shared labelled data the flair scorer learns from and is chosen on: which files, loading them,
and the training settings recorded with the artifact.

Train splits only for training; dev splits (and the earlier official SemEval tests, as extra dev)
only for choosing and reporting. A fixed seeded 20% of the customer reviews is held out as dev.
"""
from __future__ import annotations

import random
from pathlib import Path

from scoring.training.evaluation import read_labelled

SEMEVAL = "semeval2017_task4A"
TRAIN_FILES = [f"{SEMEVAL}/twitter-{name}-A.txt" for name in ("2013train", "2015train", "2016train")]
DEV_FILES = {name: f"{SEMEVAL}/twitter-{name}-A.txt" for name in ("2013dev", "2016dev", "2016devtest")}
EXTRA_DEV_FILES = {name: f"{SEMEVAL}/twitter-{name}-A.txt" for name in ("2013test", "2014test", "2015test")}
SST5_TRAIN, SST5_DEV = "sst5/stsa.fine.train", "sst5/stsa.fine.dev"
CUSTREV = "customer_reviews/custrev.all"
CUSTREV_DEV_SHARE = 0.2
SOURCES = ("semeval", "sst5", "custrev")
# Training settings: the shipped model (FULL) and the seconds-long run the tests use (QUICK).
# `normalise`: train and score on scoring.model_text.normalise(text) (links, handles, entities).
FULL = {"epochs": 2, "lr": 1e-3, "batch_size": 32, "r": 16, "alpha": 32, "max_tokens": 128, "normalise": True}
QUICK = {"epochs": 1, "lr": 2e-3, "batch_size": 16, "r": 4, "alpha": 8, "max_tokens": 64, "normalise": True,
         "n_train": 48, "n_dev": 24}
# Default encoder learning rates of `undertone train --full-finetune` (full run, --quick run): the usual range
# for BERT-sized encoders (2e-5 to 1e-4); not chosen on dev. The new linear head keeps the LoRA recipe's lr.
FULL_FINETUNE_LR = {"full": 5e-5, "quick": 1e-4}


def _semeval_rows(path: Path) -> list[tuple[str, str, str]]:
    """(id, label, text) rows of a SemEval file, as `read_labelled` cleans them (ids kept for de-duplication)."""
    texts, labels = read_labelled(path)
    ids = [line.split("\t", 1)[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return list(zip(dict.fromkeys(ids), labels, texts))


def load_data(data_dir: str | Path, seed: int, sources: tuple[str, ...] = SOURCES) -> tuple[list, dict, dict]:
    """(train pairs, dev sets by name, counts): the train splits of `sources`; the dev sets are always all loaded."""
    data = Path(data_dir)
    dev = {f"semeval {name}": read_labelled(data / path) for name, path in DEV_FILES.items()}
    dev.update({f"semeval {name}": read_labelled(data / path) for name, path in EXTRA_DEV_FILES.items()})
    dev_ids = {row[0] for path in DEV_FILES.values() for row in _semeval_rows(data / path)}
    dev_texts = {text for name in DEV_FILES for text in dev[f"semeval {name}"][0]}
    seen: set[str] = set()
    tweets = []
    for path in TRAIN_FILES:
        for row_id, label, text in _semeval_rows(data / path):
            if row_id not in seen and row_id not in dev_ids and text not in dev_texts:
                seen.add(row_id)
                tweets.append((text, label))
    sst = list(zip(*read_labelled(data / SST5_TRAIN)))
    reviews = list(zip(*read_labelled(data / CUSTREV)))
    random.Random(seed).shuffle(reviews)
    cut = int(len(reviews) * CUSTREV_DEV_SHARE)
    dev["custrev held-out 20%"] = ([t for t, _ in reviews[:cut]], [label for _, label in reviews[:cut]])
    dev["sst5 dev, 3 classes"] = read_labelled(data / SST5_DEV)
    dev["sst5 dev, 5 levels"] = read_labelled(data / SST5_DEV, levels=5)
    parts = {"semeval": tweets, "sst5": sst, "custrev": reviews[cut:]}
    unknown = set(sources) - set(parts)
    if unknown or "semeval" not in sources:
        raise ValueError(f"sources must include semeval and be among {sorted(parts)}, not {sorted(unknown)}")
    return [pair for name in sources for pair in parts[name]], dev, {f"{n} train": len(parts[n]) for n in sources}


def with_unions(dev: dict) -> dict:
    """The dev sets plus the union of the SemEval dev files and of the extra dev files."""
    out = dict(dev)
    for union, files in (("semeval dev (3 files)", DEV_FILES), ("semeval extra dev (3 files)", EXTRA_DEV_FILES)):
        parts = [dev[f"semeval {name}"] for name in files]
        out[union] = ([t for p in parts for t in p[0]], [label for p in parts for label in p[1]])
    return out


def _subsample(dev: dict, n: int, seed: int) -> dict:
    """At most n seeded examples of every dev set (for quick runs)."""
    out = {}
    for name, (texts, labels) in dev.items():
        rows = list(zip(texts, labels))
        random.Random(seed).shuffle(rows)
        out[name] = ([t for t, _ in rows[:n]], [label for _, label in rows[:n]])
    return out
