"""Train the product head (`scoring.product_head`) and choose its operating point on dev.

Training data: the written messages (`scoring/training/written/`: messages.tsv and sentiment.tsv, to the
business-messages guideline) and a
seeded sample of the SemEval train tweets and of the customer-review train split (the encoder's own training
data, so the head does not forget tweets and reviews), weighted by `tweet_weight`. Features: the fine-tuned
encoder's pooled vector and the log of its three probabilities. One multinomial logistic regression (L2, `c`);
given several `c` and `tweet_weight` values, the pair with the best cross-validated business dev macro-F1.

Chosen on dev (never trained on): the per-class bias, the best business_messages dev macro-F1 among biases whose
negative recall reaches `min_recall` there and whose SemEval dev-union macro-F1 stays at least `semeval_floor`
(the cost model in MODEL_CARD.md explains the recall floor); then the temperature: one number minimising the
negative log-likelihood on business dev (kept as the fallback), and the per-text temperature model the head uses,
T = exp(a + b * s) with s the text's tweet-likeness (`fit_tweet_likeness`, learned on the training texts) and
(a, b) minimising the negative log-likelihood of the dev mix (business dev weighing `business_share`).
Because 300 business messages are few, `cross_validate` repeats the bias choice on 4/5 of them and reports the
other 1/5, and `cross_validate_temperature` does the same for (a, b) on both dev sets.
"""
from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Callable, Sequence

from scoring.base import LABELS
from scoring.product_head import head_features

SENTIMENT = Path(__file__).with_name("written") / "sentiment.tsv"
NEUTRAL = Path(__file__).with_name("written") / "neutral.tsv"
BIAS_GRID_NEG = [round(-1.0 + 0.1 * i, 2) for i in range(31)]  # -1.0 .. 2.0
BIAS_GRID_POS = [round(-1.0 + 0.1 * i, 2) for i in range(21)]  # -1.0 .. 1.0


def _index(labels) -> "object":
    import numpy as np

    return np.array([LABELS.index(label) for label in labels])


def _figures(gold, predicted) -> tuple[float, float, float]:
    """(macro-F1 over the gold classes, negative recall, negative precision) from index arrays."""
    f1s = []
    for k in sorted(set(gold.tolist())):
        tp = int(((predicted == k) & (gold == k)).sum())
        f1s.append(2 * tp / (int((predicted == k).sum()) + int((gold == k).sum())))
    tp = int(((predicted == 0) & (gold == 0)).sum())
    return (sum(f1s) / len(f1s), tp / max(1, int((gold == 0).sum())), tp / max(1, int((predicted == 0).sum())))


def choose_bias(business_logits, business_gold, semeval_logits, semeval_gold, min_recall: float,
                semeval_floor: float) -> tuple[list[float], dict]:
    """The bias with the best business macro-F1 whose business negative recall >= min_recall and SemEval
    union macro-F1 >= semeval_floor (if none qualifies: the highest recall, then F1)."""
    import numpy as np

    bg, sg, best = _index(business_gold), _index(semeval_gold), None
    for b_neg in BIAS_GRID_NEG:
        for b_pos in BIAS_GRID_POS:
            bias = np.array([b_neg, 0.0, b_pos])
            f1, recall, precision = _figures(bg, (business_logits + bias).argmax(1))
            s_f1 = _figures(sg, (semeval_logits + bias).argmax(1))[0] if len(sg) else 1.0
            ok = recall >= min_recall and s_f1 >= semeval_floor
            key = (ok, f1 if ok else recall, f1)
            if best is None or key > best[0]:
                best = (key, [b_neg, 0.0, b_pos], {"business_f1": f1, "business_neg_recall": recall,
                                                   "business_neg_precision": precision, "semeval_f1": s_f1})
    return best[1], best[2]


def choose_temperature(logits, gold, weights=None) -> float:
    """The temperature minimising the (weighted) mean negative log-likelihood of gold (grid 0.3 .. 5)."""
    import numpy as np

    g = _index(gold)
    weights = np.ones(len(g)) if weights is None else np.asarray(weights, dtype=np.float64)
    best = None
    for t in np.arange(0.3, 5.001, 0.05):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        nll = float(-((z[np.arange(len(g)), g] - np.log(np.exp(z).sum(axis=1))) * weights).sum() / weights.sum())
        if best is None or nll < best[0]:
            best = (nll, round(float(t), 2))
    return best[1]


def fit_tweet_likeness(features, sources, c: float = 0.1) -> dict:
    """The temperature model's direction: a logistic regression telling the sampled SemEval tweets from the written
    messages among the head's own training texts (classes weighed equally; reviews left out)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    sources = np.asarray(sources)
    keep = np.isin(sources, ["written", "semeval"])
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    model.fit(np.asarray(features)[keep], sources[keep] == "semeval")
    return {"direction": model.coef_[0], "offset": float(model.intercept_[0])}


def _weighted_nll(log_t, logits, gold, weights):
    import numpy as np

    z = logits / np.exp(log_t)[:, None]
    z = z - z.max(axis=1, keepdims=True)
    return float(-((z[np.arange(len(gold)), gold] - np.log(np.exp(z).sum(axis=1))) * weights).sum() / weights.sum())


def choose_temperature_model(business_features, business_logits, business_gold, semeval_features, semeval_logits,
                             semeval_gold, likeness: dict, business_share: float = 0.5) -> dict:
    """(a, b) of T = exp(a + b * s) minimising the weighted negative log-likelihood of the dev mix: business dev
    weighs `business_share` in all, the SemEval dev union the rest (300 messages would vanish among 5,644 tweets
    otherwise). `logits` are the head's with the bias; returns `likeness` with "log_temperature" added."""
    import numpy as np
    from scipy.optimize import minimize

    from scoring.product_head import tweet_likeness

    s = np.concatenate([tweet_likeness(business_features, likeness), tweet_likeness(semeval_features, likeness)])
    logits = np.vstack([business_logits, semeval_logits])
    gold = np.concatenate([_index(business_gold), _index(semeval_gold)])
    weights = np.concatenate([np.full(len(business_gold), business_share / len(business_gold)),
                              np.full(len(semeval_gold), (1 - business_share) / max(1, len(semeval_gold)))])
    result = minimize(lambda ab: _weighted_nll(ab[0] + ab[1] * s, logits, gold, weights), np.zeros(2),
                      method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-7})
    return {**likeness, "log_temperature": [float(v) for v in result.x]}


def cross_validate_temperature(business_features, business_logits, business_gold, semeval_features, semeval_logits,
                               semeval_gold, likeness: dict, business_share: float = 0.5, folds: int = 5,
                               seeds=(1, 2, 3)) -> dict:
    """Choose (a, b) on (folds-1)/folds of each dev set, score the rest: out-of-fold ECE per seed on both."""
    import numpy as np

    from scoring.product_head import text_temperatures
    from scoring.training.product_metrics import reliability

    def ece(logits, gold, temperatures):
        z = logits / temperatures[:, None]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return round(reliability(list(p.argmax(1) == _index(gold)), list(p.max(1)))[1], 4)

    runs = []
    for seed in seeds:
        rng = np.random.RandomState(seed)
        fold_b, fold_s = rng.permutation(len(business_gold)) % folds, rng.permutation(len(semeval_gold)) % folds
        t_b, t_s = np.zeros(len(business_gold)), np.zeros(len(semeval_gold))
        for k in range(folds):
            mb, ms = fold_b != k, fold_s != k
            model = choose_temperature_model(
                business_features[mb], business_logits[mb], [g for g, m in zip(business_gold, mb) if m],
                semeval_features[ms], semeval_logits[ms], [g for g, m in zip(semeval_gold, ms) if m], likeness,
                business_share)
            t_b[~mb] = text_temperatures(business_features[~mb], model)
            t_s[~ms] = text_temperatures(semeval_features[~ms], model)
        runs.append({"seed": seed, "business_ece": ece(business_logits, business_gold, t_b),
                     "semeval_ece": ece(semeval_logits, semeval_gold, t_s)})
    return {"folds": folds, "business_share": business_share, "runs": runs}


def cross_validate(business_logits, business_gold, semeval_logits, semeval_gold, min_recall, semeval_floor,
                   folds: int = 5, seeds=(1, 2, 3)) -> dict:
    """Choose the bias on (folds-1)/folds of business dev, predict the rest; pooled out-of-fold figures per seed."""
    import numpy as np

    results = []
    gold = _index(business_gold)
    for seed in seeds:
        order = list(range(len(gold)))
        random.Random(seed).shuffle(order)
        predicted = np.zeros(len(gold), dtype=int)
        for k in range(folds):
            test = np.array(order[k::folds])
            train = np.array(sorted(set(order) - set(test.tolist())))
            bias, _ = choose_bias(business_logits[train], [business_gold[i] for i in train], semeval_logits,
                                  semeval_gold, min_recall, semeval_floor)
            predicted[test] = (business_logits[test] + np.array(bias)).argmax(1)
        f1, recall, precision = _figures(gold, predicted)
        results.append({"seed": seed, "macro_f1": round(f1, 3), "neg_recall": round(recall, 3),
                        "neg_precision": round(precision, 3)})
    return {"folds": folds, "runs": results}


def load_sentiment(path: str | Path | None = None, seed: int = 13) -> list[dict]:
    """Rows of the written sentiment messages (`written/sentiment.tsv`: same columns as messages.tsv)."""
    from scoring.training.written import load_written

    return load_written(path or SENTIMENT, seed=seed)


def sample_training(data_dir: str | Path, seed: int, tweets: int, reviews: int) -> list[tuple[str, str, str]]:
    """(text, label, source) rows: every written message (messages.tsv, sentiment.tsv, neutral.tsv) and seeded
    samples of the encoder's training data."""
    from scoring.training.data import load_data
    from scoring.training.written import load_written

    pairs, _, counts = load_data(data_dir, seed, ("semeval", "custrev"))
    rng = random.Random(seed)
    semeval, custrev = pairs[:counts["semeval train"]], pairs[counts["semeval train"]:]
    rows = [(r["text"], r["label"], "written") for r in load_written(seed=seed) + load_sentiment(seed=seed)
            + load_sentiment(NEUTRAL, seed=seed)]
    rows += [(t, label, "semeval") for t, label in rng.sample(semeval, min(tweets, len(semeval)))]
    rows += [(t, label, "custrev") for t, label in rng.sample(custrev, min(reviews, len(custrev)))]
    return rows


def _fit(features, labels, sources, c: float, tweet_weight: float):
    """(w, b) of the L2 logistic regression in LABELS order; written rows weigh 1, sampled rows tweet_weight."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    weights = np.array([1.0 if source == "written" else tweet_weight for source in sources])
    model = LogisticRegression(C=c, max_iter=5000).fit(features, labels, sample_weight=weights)
    order = [list(model.classes_).index(label) for label in LABELS]
    return model.coef_[order], model.intercept_[order]


def _mean_cv_f1(cv: dict) -> float:
    return sum(run["macro_f1"] for run in cv["runs"]) / len(cv["runs"])


def train_head(model_dir: str | Path, data_dir: str | Path, *, seed: int = 13, c: float | Sequence[float] = 1.0,
               tweet_weight: float | Sequence[float] = 0.3, tweets: int = 4000, reviews: int = 2400,
               min_recall: float = 0.85,
               semeval_floor: float = 0.584, semeval_dev_per_file: int | None = None, business_share: float = 0.75,
               log: Callable = print) -> dict:
    """Fit the head on written + sampled data, choose bias and temperature on dev, save it into the artifact.
    With several values of `c` and/or `tweet_weight`, each pair is fitted and the one with the best mean
    cross-validated business dev macro-F1 (`cross_validate`) is kept; the encoder's features are computed once."""
    import json

    from scoring.flair_scorer import CONFIG_FILE, FlairScorer, read_config
    from scoring.product_head import save
    from scoring.training.commands import BUSINESS_DEV
    from scoring.training.data import DEV_FILES, load_data
    from scoring.training.evaluation import read_labelled

    started = time.perf_counter()
    flair = FlairScorer(model_dir).load()
    rows = sample_training(data_dir, seed, tweets, reviews)
    vectors, probs = flair.features([t for t, _, _ in rows])
    features = head_features(vectors, probs)
    labels, sources = [label for _, label, _ in rows], [source for _, _, source in rows]
    log(f"features of {len(rows)} training texts in {time.perf_counter() - started:.0f}s")

    business_texts, business_gold = read_labelled(Path(data_dir, BUSINESS_DEV))
    _, dev, _ = load_data(data_dir, 13, ("semeval",))
    semeval_texts, semeval_gold = [], []
    for name in DEV_FILES:
        texts, gold = dev[f"semeval {name}"]
        if semeval_dev_per_file:
            picked = random.Random(seed).sample(range(len(texts)), min(semeval_dev_per_file, len(texts)))
            texts, gold = [texts[i] for i in picked], [gold[i] for i in picked]
        semeval_texts += texts
        semeval_gold += gold
    dev_features = {}
    for name, texts in (("business", business_texts), ("semeval", semeval_texts)):
        v, p = flair.features(texts)
        dev_features[name] = head_features(v, p)
    head = fit_and_choose(features, labels, sources, dev_features, business_gold, semeval_gold, c=c,
                          tweet_weight=tweet_weight, min_recall=min_recall, semeval_floor=semeval_floor,
                          business_share=business_share, log=log)
    about = {"seed": seed, **head["about"], "training": {
        "written": sum(1 for r in rows if r[2] == "written"), "semeval": sum(1 for r in rows if r[2] == "semeval"),
        "custrev": sum(1 for r in rows if r[2] == "custrev")}, "semeval_dev_per_file": semeval_dev_per_file,
        "seconds": round(time.perf_counter() - started)}
    save(Path(model_dir, "product_head.json"), head["weights"], head["intercept"], head["bias"], head["temperature"],
         about, head["temperature_model"])
    config = read_config(model_dir)
    config["product_head"] = "product_head.json"
    Path(model_dir, CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    log(f"saved {Path(model_dir, 'product_head.json')} in {about['seconds']}s")
    return about


def fit_and_choose(features, labels, sources, dev_features: dict, business_gold, semeval_gold, *,
                   c: float | Sequence[float], tweet_weight: float | Sequence[float], min_recall: float,
                   semeval_floor: float, business_share: float, log: Callable = print) -> dict:
    """Everything `train_head` does once the encoder's features are known: the (C, tweet weight) grid by
    cross-validated business macro-F1, the bias, the temperature and the per-text temperature model.
    `dev_features`: {"business": ..., "semeval": ...} head features of the two dev sets."""
    import itertools

    import numpy as np

    grid, tried = list(itertools.product(np.atleast_1d(c).tolist(), np.atleast_1d(tweet_weight).tolist())), []
    for c_value, weight in grid:
        w, b = _fit(features, labels, sources, c_value, weight)
        logit = {name: f @ w.T + b for name, f in dev_features.items()}
        cv = cross_validate(logit["business"], business_gold, logit["semeval"], semeval_gold, min_recall, semeval_floor)
        tried.append({"C": c_value, "tweet_weight": weight, "cv_macro_f1": round(_mean_cv_f1(cv), 4)})
        log(f"C {c_value} tweet weight {weight}: cross-validated business macro-F1 {tried[-1]['cv_macro_f1']} {cv}")
        if len(tried) == 1 or tried[-1]["cv_macro_f1"] > max(t["cv_macro_f1"] for t in tried[:-1]):
            best = (c_value, weight, w, b, logit, cv)
    c, tweet_weight, w, b, logit, cv = best
    log(f"kept C {c} tweet weight {tweet_weight}")
    bias, chosen = choose_bias(logit["business"], business_gold, logit["semeval"], semeval_gold, min_recall, semeval_floor)
    log(f"bias {bias}: {chosen}")
    # the one-number temperature, on business dev alone (head v2's rule), is kept as the fallback; the head uses
    # the per-text temperature model (docs/decisions.md "Head v3: a temperature per text")
    temperature = choose_temperature(logit["business"] + np.array(bias), business_gold)
    likeness = fit_tweet_likeness(features, sources)
    biased = {name: value + np.array(bias) for name, value in logit.items()}
    temperature_model = choose_temperature_model(dev_features["business"], biased["business"], business_gold,
                                                 dev_features["semeval"], biased["semeval"], semeval_gold, likeness,
                                                 business_share)
    cv_temperature = cross_validate_temperature(dev_features["business"], biased["business"], business_gold,
                                                dev_features["semeval"], biased["semeval"], semeval_gold, likeness,
                                                business_share)
    log(f"temperature {temperature}; per text exp({temperature_model['log_temperature']} . [1, s]); "
        f"cross-validated ECE {cv_temperature}")
    log(f"cross-validated bias choice on business dev: {cv}")
    about = {"C": c, "tweet_weight": tweet_weight, "grid": tried, "min_negative_recall": min_recall,
             "semeval_floor": semeval_floor, "chosen_on_dev": chosen, "cross_validation": cv,
             "temperature_business_share": business_share, "temperature_cross_validation": cv_temperature}
    return {"weights": w, "intercept": b, "bias": bias, "temperature": temperature,
            "temperature_model": temperature_model, "about": about}
