"""Train the learned escalation detector (`scoring.escalation_detector`) on the written messages.

Per kind, a logistic regression (scikit-learn, L2, balanced class weights) over the packaged MiniLM sentence
embeddings of whole messages: a message is a positive for every kind it names. Trained on the written files
(`written/messages.tsv`, `written/escalations.tsv` and `written/escalations_more.tsv`; never on dev, never on
`written/escalations_check.tsv`, the held-out check set). The decision threshold of each kind is chosen one of
three ways:

- `dev` given (rows of business_messages dev with the flags the rules raise on each): per kind, the threshold
  that gives rules + detector the best recall of that kind on dev while its strict precision (`choose_on_dev`)
  stays at or above `precision`, the detector judging each message whole and sentence by sentence as it does at
  run time; ties go to the highest threshold, and 1.0 (the detector off for that kind) is a candidate.
- `threshold` given: that one threshold for every kind.
- neither: 5-fold cross-validation on the training messages, grouped by the hand-written row (the slot-filled
  copies of one row stay in one fold): the lowest threshold whose out-of-fold precision reaches `precision`.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Sequence

from scoring.escalation_detector import DEFAULT_PATH, REASONS, split_sentences
from scoring.training.product_metrics import PRECEDENCE
from scoring.training.written import WRITTEN, load_written

WRITTEN_FILES = (WRITTEN, WRITTEN.with_name("escalations.tsv"), WRITTEN.with_name("escalations_more.tsv"))
THRESHOLDS = tuple(round(0.05 + 0.01 * i, 2) for i in range(91))  # 0.05 .. 0.95, exactly the thresholds stored
OFF = 1.0  # a kind's detector switched off: on dev the rules alone do better (a probability never reaches 1.0)


def choose_threshold(probs, truth, precision: float) -> float:
    """The lowest threshold with precision >= `precision` on (probs, truth) and at least one hit, else best F1."""

    best_f1, best = -1.0, 0.5
    for t in THRESHOLDS:
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


def choose_on_dev(kind: str, probs, gold: Sequence[str], by_rules: Sequence[set], precision: float) -> dict:
    """The threshold for `kind` on dev, judging rules + detector together as the workers run them.

    A row is flagged for `kind` when a rule raised it or the detector's probability reaches the threshold.
    Recall and precision are the issue's: of the rows labelled `kind`, the share flagged `kind`; of the rows
    flagged `kind`, the share labelled `kind` (strict: a refund flag on a row labelled legal counts against refund,
    though the guideline's precedence kept only legal). Among thresholds whose precision reaches `precision`, the
    best recall (ties: the highest threshold). When none does, the best F1 among thresholds no less precise than
    the rules alone (1.0, the detector off, is one), so the detector never makes a kind less precise than its rules.
    """
    support = sum(1 for g in gold if g == kind)
    candidates = []
    for t in (*THRESHOLDS, OFF):
        flagged = [kind in rules or bool(p >= t) for rules, p in zip(by_rules, probs)]
        n = sum(flagged)
        found = sum(1 for f, g in zip(flagged, gold) if f and g == kind)
        p_ = found / n if n else 1.0
        r_ = found / support if support else 0.0
        f1 = 2 * p_ * r_ / (p_ + r_) if p_ + r_ else 0.0
        candidates.append({"threshold": t, "recall": round(r_, 3), "precision": round(p_, 3), "flagged": n,
                           "support": support, "f1": f1})
    feasible = [c for c in candidates if c["precision"] >= precision]
    if feasible:
        best = max(feasible, key=lambda c: (c["recall"], c["threshold"]))
        chosen = {**best, "rule": f"best recall at precision >= {precision}"}
    else:
        rules_alone = candidates[-1]["precision"]
        best = max((c for c in candidates if c["precision"] >= rules_alone), key=lambda c: (c["f1"], c["threshold"]))
        chosen = {**best, "rule": f"no threshold reaches precision {precision}: best F1 no less precise than the rules"}
    chosen["f1"] = round(chosen["f1"], 3)
    return chosen


def sentence_max(model, texts: Sequence[str], embed):
    """Per text, the model's highest probability over the text and its sentences (as the detector judges)."""
    import numpy as np

    pieces, owners = list(texts), list(range(len(texts)))
    for row, text in enumerate(texts):
        group = split_sentences(text)
        if len(group) > 1:
            pieces += group
            owners += [row] * len(group)
    probs = model.predict_proba(np.asarray(embed(pieces), dtype=np.float64))[:, 1]
    best = np.zeros(len(texts))
    np.maximum.at(best, np.array(owners), probs)
    return best


def train_detector(out: str | Path | None = None, written: str | Path | Sequence[str | Path] | None = None, *,
                   seed: int = 13, c: float = 4.0, precision: float = 0.9, copies: int = 3,
                   threshold: float | None = None, dev: dict | None = None, embed=None,
                   log: Callable = print) -> dict:
    """Fit one model per kind, choose its threshold (on dev, one for all, or by cross-validation), write the JSON.

    `dev`: {"texts": [...], "gold": [kind or ''], "by_rules": [set of kinds the rules raised]} for business dev.
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    if embed is None:
        from scoring.embeddings import encode as embed
    started = time.perf_counter()
    files = [Path(written)] if isinstance(written, (str, Path)) else [Path(f) for f in (written or WRITTEN_FILES)]
    rows = []
    for number, path in enumerate(files):
        rows += [{**r, "source": (number, r["source"])} for r in load_written(path, copies=copies, seed=seed)]
    vectors = np.asarray(embed([r["text"] for r in rows]), dtype=np.float64)
    groups = np.array([f"{a}:{b}" for a, b in (r["source"] for r in rows)])
    if dev is not None:  # embed dev's texts and sentences once, for every kind
        cache: dict[str, np.ndarray] = {}
        pieces = list(dict.fromkeys([*dev["texts"], *(p for t in dev["texts"] for p in split_sentences(t))]))
        cache.update(zip(pieces, np.asarray(embed(pieces), dtype=np.float64)))
        dev_embed = lambda texts: np.array([cache[t] for t in texts])  # noqa: E731
    kinds, report = {}, {}
    for kind in PRECEDENCE:
        truth = np.array([kind in r["kinds"] for r in rows])
        if truth.sum() < 3:
            log(f"{kind}: only {int(truth.sum())} training messages, skipped")
            continue
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(vectors, truth)
        report[kind] = {"positives": int(truth.sum())}
        if dev is not None:
            probs = sentence_max(model, dev["texts"], dev_embed)
            figures = choose_on_dev(kind, probs, dev["gold"], dev["by_rules"], precision)
            chosen = figures["threshold"]
            report[kind].update({f"dev_{k}": v for k, v in figures.items() if k != "threshold"}, threshold=chosen)
        elif threshold is not None:
            chosen = threshold
            report[kind]["threshold"] = chosen
        else:
            oof = np.zeros(len(rows))
            for train_idx, test_idx in GroupKFold(n_splits=5).split(vectors, truth, groups):
                fold = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
                oof[test_idx] = fold.fit(vectors[train_idx], truth[train_idx]).predict_proba(vectors[test_idx])[:, 1]
            chosen = choose_threshold(oof, truth, precision)
            hits = oof >= chosen
            tp = int((hits & truth).sum())
            report[kind].update(threshold=chosen, cv_recall=round(tp / int(truth.sum()), 3),
                                cv_precision=round(tp / int(hits.sum()), 3) if hits.any() else 0.0)
        log(f"{kind}: {report[kind]}")
        kinds[kind] = {"weights": [round(float(w), 6) for w in model.coef_[0]], "bias": round(float(model.intercept_[0]), 6),
                       "threshold": chosen, "reason": REASONS[kind]}
    how = "dev" if dev is not None else ("one threshold" if threshold is not None else "cross-validation")
    document = {"format": 1, "features": "all-MiniLM-L6-v2 mean-pooled, L2-normalised (scoring.embeddings.encode)",
                "training": {"files": [f.name for f in files], "messages": len(rows), "seed": seed, "C": c,
                             "thresholds": how, "precision_floor": precision, "copies": copies, "threshold": threshold,
                             "seconds": round(time.perf_counter() - started), "per_kind": report},
                "kinds": kinds}
    path = Path(out or DEFAULT_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document) + "\n", encoding="utf-8")
    log(f"saved {path} ({len(kinds)} kinds, {len(rows)} messages, thresholds by {how}, "
        f"{document['training']['seconds']} s)")
    return document


def dev_rows(path: str | Path, scorer, competitors: Sequence[str] = ()) -> dict:
    """business_messages dev as `train_detector` wants it: texts, gold kinds, and the kinds the packaged rules
    raise on each message (with the scorer's score and the `competitors` named, as the workers run them with the
    COMPETITORS setting; empty by default, as a worker's is)."""
    from scoring.escalation import EscalationRules, kind_of
    from scoring.training.evaluation import read_table

    rows = read_table(path)
    texts = [r["text"] for r in rows]
    rules = EscalationRules.load(competitors=competitors)
    by_rules = [{kind_of(f.rule) for f in rules.evaluate([t], s)} - {None} for t, s in zip(texts, scorer.score(texts))]
    return {"texts": texts, "gold": [r.get("escalation", "") for r in rows], "by_rules": by_rules}
