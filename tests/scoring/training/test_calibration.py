"""Choosing the decision bias on dev: the negative-recall floor holds on the whole and, with parts, on each part."""
import numpy as np

from scoring.flair_scorer import decide
from scoring.training.calibration import _fast_scores, _gold_index, choose_bias


def _rows(neg: float, n: int) -> list[list[float]]:
    return [[neg, 1 - neg - 0.05, 0.05]] * n


def test_the_recall_floor_holds_on_each_part_when_asked():
    # Part A: 10 negatives the model sees clearly. Part B: 10 negatives it rates p(neg)=0.3, like 20 of
    # its neutrals: catching them costs macro-F1 on the whole, so only the per-part floor asks for it.
    probs = np.array(_rows(0.9, 10) + _rows(0.1, 30) + _rows(0.3, 10) + _rows(0.3, 20) + _rows(0.1, 10))
    labels = (["negative"] * 10 + ["neutral"] * 30) * 2
    gold = _gold_index(labels)

    whole_bias, _, whole_recall = choose_bias(probs, labels, min_recall=0.5)
    each_bias, _, each_recall = choose_bias(probs, labels, min_recall=0.5, parts=[40, 40])

    assert whole_recall >= 0.5 and each_recall >= 0.5
    part_b = slice(40, 80)
    assert _fast_scores(gold[part_b], decide(probs, whole_bias).argmax(1)[part_b])[1] == 0.0
    assert _fast_scores(gold[part_b], decide(probs, each_bias).argmax(1)[part_b])[1] == 1.0
    assert each_bias[0] > whole_bias[0]
