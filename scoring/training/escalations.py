"""Train the learned escalation detector (`scoring.escalation_detector`) on the written messages.

Per kind, a logistic regression (scikit-learn, L2, balanced class weights) over the packaged MiniLM sentence
embeddings of whole messages: a message is a positive for every kind it names. The decision threshold of each
kind is chosen by 5-fold cross-validation on the training messages themselves, grouped by the hand-written row
(the slot-filled copies of one row stay in one fold): the lowest threshold whose out-of-fold precision reaches
`precision`, else the best out-of-fold F1 -- or one `threshold` for every kind, given (the shipped detector uses
0.7, chosen on business_messages dev as the best overall F1 of rules + detector among 0.5..0.9; see MODEL_CARD.md).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from scoring.escalation_detector import DEFAULT_PATH, REASONS
from scoring.training.product_metrics import PRECEDENCE
from scoring.training.written import WRITTEN, load_written


def choose_threshold(probs, truth, precision: float) -> float:
    """The lowest threshold with precision >= `precision` on (probs, truth) and at least one hit, else best F1."""

    best_f1, best = -1.0, 0.5
    for t in (round(0.05 + 0.01 * i, 2) for i in range(91)):  # 0.05 .. 0.95, exactly the thresholds stored
        hits = probs >= t
        tp = int((hits & truth).sum())
        if not hits.any() or not truth.any():
            continue
        p, r = tp / int(hits.sum()), tp / int(truth.sum())
        if p >= precision and tp:
            return t
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best_f1:
            best_f1, best = f1, t
    return best


def train_detector(out: str | Path | None = None, written: str | Path | None = None, *, seed: int = 13,
                   c: float = 4.0, precision: float = 0.9, copies: int = 3, threshold: float | None = None,
                   embed=None, log: Callable = print) -> dict:
    """Fit one model per kind, choose thresholds by grouped cross-validation, write the JSON artifact."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    if embed is None:
        from scoring.embeddings import encode as embed
    started = time.perf_counter()
    rows = load_written(written or WRITTEN, copies=copies, seed=seed)
    vectors = np.asarray(embed([r["text"] for r in rows]), dtype=np.float64)
    groups = np.array([r["source"] for r in rows])
    kinds, report = {}, {}
    for kind in PRECEDENCE:
        truth = np.array([kind in r["kinds"] for r in rows])
        if truth.sum() < 3:
            log(f"{kind}: only {int(truth.sum())} training messages, skipped")
            continue
        oof = np.zeros(len(rows))
        for train_idx, test_idx in GroupKFold(n_splits=5).split(vectors, truth, groups):
            model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
            model.fit(vectors[train_idx], truth[train_idx])
            oof[test_idx] = model.predict_proba(vectors[test_idx])[:, 1]
        chosen = choose_threshold(oof, truth, precision) if threshold is None else threshold
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(vectors, truth)
        hits = oof >= chosen
        tp = int((hits & truth).sum())
        report[kind] = {"positives": int(truth.sum()), "threshold": chosen,
                        "cv_recall": round(tp / int(truth.sum()), 3),
                        "cv_precision": round(tp / int(hits.sum()), 3) if hits.any() else 0.0}
        log(f"{kind}: {report[kind]}")
        kinds[kind] = {"weights": [round(float(w), 6) for w in model.coef_[0]], "bias": round(float(model.intercept_[0]), 6),
                       "threshold": chosen, "reason": REASONS[kind]}
    document = {"format": 1, "features": "all-MiniLM-L6-v2 mean-pooled, L2-normalised (scoring.embeddings.encode)",
                "training": {"file": str(Path(written or WRITTEN).name), "messages": len(rows), "seed": seed, "C": c,
                             "target_cv_precision": precision, "copies": copies, "threshold": threshold,
                             "seconds": round(time.perf_counter() - started), "cross_validation": report},
                "kinds": kinds}
    path = Path(out or DEFAULT_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document) + "\n", encoding="utf-8")
    log(f"saved {path} ({len(kinds)} kinds, {len(rows)} messages, {document['training']['seconds']} s)")
    return document
