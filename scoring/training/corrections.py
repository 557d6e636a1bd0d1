"""Adapt the product head to one business's label corrections (`undertone train --corrections FILE`).

Only the product head (`scoring.product_head`, a logistic regression over the fine-tuned encoder's pooled
vector and the log of its three probabilities) is refitted; the encoder is untouched, so this takes seconds
to minutes on 2 cores. The head is refitted on its own training data (rebuilt with the settings recorded in
the base head: `sample_training` with its seed, tweet and review counts, tweet weight and C; the fit starts
from the base head's weights) plus the corrections, each weighing `weight` times a written message. The base
head's bias and temperature (chosen on dev by `undertone train-head`) are kept. The correction weight, unless
given, is chosen by cross-validation on the corrections alone: for each weight on `WEIGHTS`, fit on the base
data plus 4/5 of the corrections and predict the other 1/5; the smallest weight whose pooled macro-F1 is within
`TIE` of the best wins (a larger weight forgets more of the base data).

The encoder features of the base training data are cached on disk (`cache_dir`, keyed by the encoder's weights
and the texts), so a second run only encodes the corrections.

The result is a copy of the base artifact with the new `product_head.json` (its `about` records the
corrections), written whole or not at all; the packaged model is never overwritten. Corrections files: what
`undertone corrections export` writes (TSV with a header naming `text` and `label`, or JSON Lines), or a plain
`label<TAB>text` TSV.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from scoring.base import LABELS

WEIGHTS = (1.0, 3.0, 10.0, 30.0)
FOLDS = 5
MIN_FOR_CV = 10  # fewer corrections than this: no cross-validation, DEFAULT_WEIGHT
DEFAULT_WEIGHT = 10.0
# Cross-validated macro-F1 within this of the best counts as a tie, and ties go to the smaller weight: on 150
# corrections the figure moves by more than this between folds, and a larger weight forgets more of the rest
# (bench/corrections_sim.py).
TIE = 0.01


class CorrectionsError(ValueError):
    """A corrections file or an output directory that cannot be used; the message says why."""


def read_corrections(path: str | Path) -> tuple[list[str], list[str]]:
    """(texts, labels) from a corrections file: the export's TSV or JSON Lines, or `label<TAB>text` lines."""
    from scoring.training.evaluation import _is_header, read_labelled

    try:
        lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise CorrectionsError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise CorrectionsError(f"{path}: cannot read it ({error.strerror})") from None
    if not lines:
        raise CorrectionsError(f"{path}: no corrections in it")
    if lines[0].lstrip().startswith("{") or _is_header(lines[0]):
        try:
            texts, labels = read_labelled(path)
        except ValueError as error:
            raise CorrectionsError(f"{path}: {error}") from None
    else:
        texts, labels = [], []
        for number, line in enumerate(lines, 1):
            label, tab, text = line.partition("\t")
            label = label.strip().lower()
            if not tab or label not in LABELS:
                raise CorrectionsError(
                    f"{path}: line {number} is not label<TAB>text with a label among {', '.join(LABELS)} "
                    "(or give the file `undertone corrections export` writes)")
            if text.strip():
                texts.append(" ".join(text.split()))
                labels.append(label)
    if not texts:
        raise CorrectionsError(f"{path}: no corrections with text in it")
    return texts, labels


def encode(flair, texts) -> "object":
    """The head's input features of `texts` (`scoring.product_head.head_features`)."""
    from scoring.product_head import head_features

    return head_features(*flair.features(list(texts)))


def head_settings(model_dir: str | Path) -> dict:
    """How the base head was trained (seed, C, tweet weight, sampled tweets and reviews), from its `about`."""
    from scoring.flair_scorer import ArtifactMissing, read_config

    try:
        name = read_config(model_dir).get("product_head")
    except ArtifactMissing as error:
        raise CorrectionsError(f"{model_dir}: no model to adapt there ({error})") from None
    if not name:
        raise CorrectionsError(f"{model_dir}: the model has no product head to adapt")
    document = json.loads(Path(model_dir, name).read_text(encoding="utf-8"))
    about = document.get("about", {})
    training = about.get("training", {})
    return {"seed": about.get("seed", 13), "c": about.get("C", 1.0), "tweet_weight": about.get("tweet_weight", 0.1),
            "tweets": training.get("semeval", 1500), "reviews": training.get("custrev", 600),
            "bias": document["bias"], "temperature": document["temperature"],
            "temperature_model": document.get("temperature_model"), "file": name,
            "weights": document["weights"], "intercept": document["intercept"]}


def base_features(flair, data_dir: str | Path, settings: dict, cache_dir: str | Path | None,
                  log: Callable = print) -> tuple:
    """(features, labels, sample weights) of the base head's training data, from the cache when it is there."""
    import numpy as np

    from scoring.training.product_head import sample_training

    rows = sample_training(data_dir, settings["seed"], settings["tweets"], settings["reviews"])
    labels = [label for _, label, _ in rows]
    weights = np.array([1.0 if source == "written" else settings["tweet_weight"] for _, _, source in rows])
    key = hashlib.sha256()
    for name in ("adapter.safetensors", "config.json"):
        path = Path(flair.model_dir, name)
        if path.is_file():
            key.update(hashlib.sha256(path.read_bytes()).digest())
    for text, _, _ in rows:
        key.update(text.encode("utf-8") + b"\0")
    cache = Path(cache_dir, f"head-features-{key.hexdigest()[:20]}.npy") if cache_dir else None
    if cache is not None and cache.is_file():
        try:
            features = np.load(cache)
        except (OSError, ValueError):  # a truncated or foreign file: encode again and replace it
            features = None
        if features is not None and features.shape[0] == len(rows):
            log(f"base training features from the cache ({cache})")
            return features, labels, weights
    started = time.perf_counter()
    features = encode(flair, [text for text, _, _ in rows])
    log(f"encoded the base head's {len(rows)} training texts in {time.perf_counter() - started:.0f}s")
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=cache.parent, suffix=".npy")
        try:
            with open(handle, "wb") as out:
                np.save(out, features)
            Path(temporary).replace(cache)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return features, labels, weights


def fit(base_x, base_y, base_w, x, y, weight: float, c: float, init=None):
    """(weights, intercept) in LABELS order of the head refitted on the base data plus corrections at `weight`,
    starting from `init` (weights, intercept: the base head's) when given. One BLAS thread: on 2 busy cores a
    fit of this size takes a tenth of the CPU time it takes with several threads contending."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    features = np.vstack([base_x, x]) if len(y) else base_x
    sample_weight = np.concatenate([base_w, np.full(len(y), float(weight))])
    model = LogisticRegression(C=c, max_iter=5000, warm_start=init is not None)
    if init is not None:  # classes_ sort as LABELS do: negative, neutral, positive
        model.coef_, model.intercept_ = np.array(init[0], dtype=np.float64), np.array(init[1], dtype=np.float64)
    with threadpool_limits(1):
        model.fit(features, list(base_y) + list(y), sample_weight=sample_weight)
    order = [list(model.classes_).index(label) for label in LABELS]
    return model.coef_[order], model.intercept_[order]


def predict(w, b, bias, x) -> list[str]:
    """Labels from head weights with the decision bias (temperature does not change the argmax)."""
    import numpy as np

    return [LABELS[i] for i in (x @ w.T + b + np.asarray(bias)).argmax(1)]


def macro_f1(gold, predicted) -> float:
    """Macro-F1 over the classes in gold."""
    from scoring.training.evaluation import metrics

    return metrics(list(gold), list(predicted))["macro_f1"]


def choose_weight(base_x, base_y, base_w, x, y, c: float, bias, seed: int = 13, init=None,
                  log: Callable = print) -> tuple:
    """(weight, {weight: pooled out-of-fold macro-F1}) by FOLDS-fold cross-validation on the corrections only."""
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold

    if len(y) < MIN_FOR_CV:
        log(f"{len(y)} corrections: too few to cross-validate, weight {DEFAULT_WEIGHT}")
        return DEFAULT_WEIGHT, {}
    y = np.asarray(y)
    smallest = min(int((y == label).sum()) for label in set(y.tolist()))
    splitter = StratifiedKFold(FOLDS, shuffle=True, random_state=seed) if smallest >= FOLDS else \
        KFold(FOLDS, shuffle=True, random_state=seed)
    folds = list(splitter.split(x, y))
    scores = {}
    for weight in WEIGHTS:
        predicted = np.empty(len(y), dtype=object)
        for train, test in folds:
            w, b = fit(base_x, base_y, base_w, x[train], y[train].tolist(), weight, c, init)
            predicted[test] = predict(w, b, bias, x[test])
        scores[weight] = round(macro_f1(y.tolist(), predicted.tolist()), 4)
    best = min(weight for weight in WEIGHTS if scores[weight] >= max(scores.values()) - TIE)
    log(f"correction weight by {FOLDS}-fold cross-validation on the corrections (macro-F1): {scores}; chose {best}")
    return best, scores


def check_output(out: str | Path, base: str | Path) -> Path:
    """The output directory, resolved; CorrectionsError if it is the packaged or base model, or a directory that
    holds something other than an adapted model (it would be replaced)."""
    from scoring.flair_scorer import MODEL_DIR

    target = Path(out).resolve()
    for protected in {Path(MODEL_DIR).resolve(), Path(base).resolve()}:
        if target == protected or protected in target.parents:
            raise CorrectionsError(f"{out}: that is the base model; refusing to overwrite it "
                                   "(set SCORER_MODEL_DIR or --out to another directory)")
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not _is_adapted(target))):
        raise CorrectionsError(f"{out}: exists and is not a model adapted to corrections; refusing to replace it")
    return target


def _is_adapted(path: Path) -> bool:
    """Whether a directory holds a model written by `adapt` (its head records corrections)."""
    try:
        config = json.loads(Path(path, "config.json").read_text(encoding="utf-8"))
        head = json.loads(Path(path, config["product_head"]).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return "corrections" in head.get("about", {})


def adapt(corrections: str | Path, out: str | Path, *, base: str | Path | None = None,
          data_dir: str | Path = "../shared/data", weight: float | None = None, cache_dir: str | Path | None = None,
          log: Callable = print) -> dict:
    """Refit the base model's product head with the corrections; write the adapted model to `out`; its `about`."""
    import numpy as np

    from scoring.flair_scorer import MODEL_DIR, FlairScorer
    from scoring.product_head import save

    started, cpu = time.perf_counter(), time.process_time()
    base = Path(base or MODEL_DIR)
    target = check_output(out, base)
    texts, labels = read_corrections(corrections)
    settings = head_settings(base)
    log(f"{len(texts)} corrections ({', '.join(f'{labels.count(k)} {k}' for k in LABELS)}) from {corrections}")
    flair = FlairScorer(base).load()
    base_x, base_y, base_w = base_features(flair, data_dir, settings, cache_dir, log)
    x = encode(flair, texts)
    init = (settings["weights"], settings["intercept"])
    if weight is None:
        weight, cv = choose_weight(base_x, base_y, base_w, x, labels, settings["c"], settings["bias"], init=init,
                                   log=log)
    else:
        cv = {}
    w, b = fit(base_x, base_y, base_w, x, labels, weight, settings["c"], init)
    agreement = float(np.mean([p == g for p, g in zip(predict(w, b, settings["bias"], x), labels)]))
    about = {"base_model": str(base.resolve()), "corrections": len(texts), "corrections_file": str(corrections),
             "correction_weight": weight, "weight_cross_validation": {str(k): v for k, v in cv.items()},
             "agreement_with_corrections": round(agreement, 4), "C": settings["c"], "seed": settings["seed"],
             "tweet_weight": settings["tweet_weight"], "training": {"base_texts": len(base_y)},
             "bias_and_temperature": "kept from the base head", "seconds": round(time.perf_counter() - started),
             "cpu_seconds": round(time.process_time() - cpu)}
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        shutil.copytree(base, staging, dirs_exist_ok=True)
        save(staging / settings["file"], w, b, settings["bias"], settings["temperature"], about,
             settings.get("temperature_model"))
        _replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"adapted model written to {target}: weight {weight}, agreement with the corrections {agreement:.1%}, "
        f"{about['seconds']}s")
    return about


def _replace(staging: Path, target: Path) -> None:
    """Move `staging` to `target`, replacing a previous adapted model there."""
    if not target.exists():
        staging.rename(target)
        return
    old = target.with_name(f".{target.name}.old-{int(time.time() * 1000)}")
    target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
