"""Figures the product cares about, beside macro-F1: how often a calm message is called negative, how well
`confidence` means what it says (a reliability table and the expected calibration error), and how well
escalations are found, overall and per kind.

Escalation scoring follows the labelling guideline (`../shared/data/business_messages/GUIDELINES.md`): a dev row
carries at most one escalation kind, the first of PRECEDENCE that applies. A message is flagged when any
escalation flag (not the sentiment-only ones) fires on it. Per kind, recall is the share of rows of that kind
with a flag of that kind; precision is "strict" (the row's kind is that kind) and "by precedence" (the row's kind
is that kind or one that precedes it, since the guideline keeps only the first: a message that threatens a
lawyer and asks for a refund is labelled `legal`, yet its refund flag is not wrong). A third reading compares like
with like: each message's flags are reduced to one kind by the guideline's own precedence, exactly as its label
was, and recall and precision are counted on that one kind ("one kind per message").
"""
from __future__ import annotations

from typing import Iterable, Sequence

PRECEDENCE = ("legal", "chargeback", "competitor", "cancel", "bad_review", "refund", "manager", "repeat_contact")


def sentiment_summary(gold: Sequence[str], predicted: Sequence[str]) -> dict:
    """Macro-F1 (over the gold classes), negative precision and recall, and neutral messages labelled negative."""
    from scoring.training.evaluation import metrics

    m = metrics(list(gold), list(predicted))
    negative = m["per_class"].get("negative", {"precision": 0.0, "recall": 0.0})
    neutral = [p for g, p in zip(gold, predicted) if g == "neutral"]
    as_negative = sum(1 for p in neutral if p == "negative")
    return {"n": m["n"], "macro_f1": m["macro_f1"], "accuracy": m["accuracy"], "neg_precision": negative["precision"],
            "neg_recall": negative["recall"], "neutral_as_negative": as_negative, "neutral": len(neutral)}


def summary_line(name: str, s: dict) -> str:
    """One Markdown table row of `sentiment_summary` figures."""
    count, of = s["neutral_as_negative"], s["neutral"]
    rate = f"{count / of:.0%} ({count} of {of})" if of else "-"
    return (f"| {name} | {s['n']} | {s['macro_f1']:.3f} | {s['neg_precision']:.2f} | {s['neg_recall']:.2f} | {rate} |")


SUMMARY_HEADER = ("| dev set | n | macro-F1 | negative precision | negative recall | neutral labelled negative |\n"
                  "|---|---:|---|---|---|---|")


def reliability(correct: Sequence[bool], confidence: Sequence[float], bins: int = 10) -> tuple[list[dict], float]:
    """(rows, ECE): per equal-width confidence bin, count, mean confidence and accuracy; ECE is the
    count-weighted mean |accuracy - confidence| over the bins (Guo et al. 2017)."""
    if len(correct) != len(confidence):
        raise ValueError(f"{len(correct)} outcomes but {len(confidence)} confidences")
    rows, total, gap = [], len(correct), 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [i for i, c in enumerate(confidence) if low <= c < high or (b == bins - 1 and c == 1.0)]
        if not members:
            continue
        mean_conf = sum(confidence[i] for i in members) / len(members)
        accuracy = sum(1 for i in members if correct[i]) / len(members)
        gap += len(members) * abs(accuracy - mean_conf)
        rows.append({"bin": f"{low:.1f}-{high:.1f}", "n": len(members), "confidence": mean_conf, "accuracy": accuracy})
    return rows, (gap / total if total else 0.0)


def reliability_text(name: str, rows: list[dict], ece: float) -> str:
    """The reliability table as Markdown, with the ECE."""
    lines = [f"reliability of `confidence` on {name}: ECE {ece:.3f}",
             "| confidence bin | n | mean confidence | accuracy |", "|---|---:|---|---|"]
    lines += [f"| {r['bin']} | {r['n']} | {r['confidence']:.3f} | {r['accuracy']:.3f} |" for r in rows]
    return "\n".join(lines)


def escalation_table(gold: Sequence[str], predicted: Sequence[Iterable[str]]) -> dict:
    """Recall and precision of escalation flags against one gold kind per row ('' for none).

    `predicted`: per row, the kinds flagged. Returns {"overall": {...}, kind: {...}} with counts,
    recall, strict precision and precision by precedence, and under "one_kind" the same counts with each row's
    flags reduced to its `primary_kind` (see the module docstring).
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold rows but {len(predicted)} predictions")
    flagged = [set(kinds) for kinds in predicted]
    primaries = [primary_kind(kinds) for kinds in flagged]
    out = {"overall": _ratios(sum(1 for g in gold if g), sum(1 for k in flagged if k),
                              sum(1 for g, k in zip(gold, flagged) if g and k),
                              sum(1 for g, k in zip(gold, flagged) if g and k))}
    out["overall"]["one_kind"] = dict(out["overall"])  # any flag at all: one kind or several, the same message
    kinds = [k for k in PRECEDENCE if k in set(gold) | set().union(*flagged)]
    kinds += sorted((set(gold) | set().union(*flagged)) - set(kinds) - {""})
    for kind in kinds:
        rank = PRECEDENCE.index(kind) if kind in PRECEDENCE else len(PRECEDENCE)
        hits = [i for i, k in enumerate(flagged) if kind in k]
        strict = sum(1 for i in hits if gold[i] == kind)
        lenient = sum(1 for i in hits if gold[i] == kind or (gold[i] in PRECEDENCE and PRECEDENCE.index(gold[i]) < rank))
        found = sum(1 for g, k in zip(gold, flagged) if g == kind and kind in k)
        out[kind] = _ratios(sum(1 for g in gold if g == kind), len(hits), found, strict, lenient)
        as_primary = [i for i, p in enumerate(primaries) if p == kind]
        right = sum(1 for i in as_primary if gold[i] == kind)
        out[kind]["one_kind"] = _ratios(out[kind]["support"], len(as_primary), right, right)
    return out


def primary_kind(kinds: Iterable[str]) -> str:
    """The one kind the labelling guideline would keep of several: the first by PRECEDENCE (threats before
    requests); kinds it does not rank come after, alphabetically. '' for none."""
    ranked = sorted(kinds, key=lambda k: (PRECEDENCE.index(k) if k in PRECEDENCE else len(PRECEDENCE), k))
    return ranked[0] if ranked else ""


def _ratios(support: int, flagged: int, found: int, correct: int, lenient: int | None = None) -> dict:
    lenient = correct if lenient is None else lenient
    return {"support": support, "flagged": flagged, "recall": found / support if support else 0.0,
            "precision": correct / flagged if flagged else 0.0,
            "precision_by_precedence": lenient / flagged if flagged else 0.0}


def escalation_text(name: str, table: dict) -> str:
    """The escalation table as Markdown."""
    lines = [f"escalations on {name}",
             "| kind | labelled | flagged | recall | precision | precision by precedence | one kind per message: "
             "flagged, recall, precision |", "|---|---:|---:|---|---|---|---|"]
    for kind, r in table.items():
        one = r.get("one_kind")
        one_text = f"{one['flagged']}, {one['recall']:.2f}, {one['precision']:.2f}" if one else "-"
        lines.append(f"| {kind} | {r['support']} | {r['flagged']} | {r['recall']:.2f} | {r['precision']:.2f} | "
                     f"{r['precision_by_precedence']:.2f} | {one_text} |")
    return "\n".join(lines)
