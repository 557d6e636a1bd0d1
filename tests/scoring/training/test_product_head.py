"""The product head: its arithmetic, the operating point chosen under the recall and SemEval floors, the
temperature, and the cross-validated report of the choice."""
from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.product_head import ProductHead, save
from scoring.training.product_head import choose_bias, choose_temperature, cross_validate


def test_head_probabilities_apply_bias_then_temperature(tmp_path):
    weights = np.zeros((3, 5))
    weights[0, 0] = weights[2, 1] = 1.0  # vector dim 0 -> negative, dim 1 -> positive
    save(tmp_path / "head.json", weights, [0.0, 0.0, 0.0], [0.5, 0.0, 0.0], 2.0, {"test": True})
    head = ProductHead.load(tmp_path / "head.json")
    vectors, probs = np.array([[2.0, 0.0]]), np.array([[1 / 3, 1 / 3, 1 / 3]])
    expected = np.exp(np.array([2.0 + 0.5, 0.0, 0.0]) / 2.0)
    np.testing.assert_allclose(head.probabilities(vectors, probs)[0], expected / expected.sum(), rtol=1e-6)
    assert json.loads((tmp_path / "head.json").read_text())["temperature"] == 2.0


def logits_for(gold, rng, noise=1.0):
    index = {"negative": 0, "neutral": 1, "positive": 2}
    out = rng.normal(0, noise, (len(gold), 3))
    out[np.arange(len(gold)), [index[g] for g in gold]] += 1.5
    return out


def test_choose_bias_meets_the_recall_floor_when_it_can():
    rng = np.random.default_rng(0)
    gold = ["negative"] * 40 + ["neutral"] * 40 + ["positive"] * 20
    business = logits_for(gold, rng)
    semeval = logits_for(gold, rng)
    bias, chosen = choose_bias(business, gold, semeval, gold, min_recall=0.9, semeval_floor=0.0)
    assert chosen["business_neg_recall"] >= 0.9 and bias[0] > 0  # pushed towards negative to get there
    free, unconstrained = choose_bias(business, gold, semeval, gold, min_recall=0.0, semeval_floor=0.0)
    assert unconstrained["business_f1"] >= chosen["business_f1"]
    impossible = choose_bias(business, gold, semeval, gold, min_recall=0.9, semeval_floor=1.01)[1]
    assert impossible["business_neg_recall"] >= 0.9  # no bias qualifies: the highest recall wins


def test_temperature_undoes_overconfidence():
    rng = np.random.default_rng(1)
    gold = ["negative", "neutral", "positive"] * 200
    calibrated = logits_for(gold, rng)
    assert choose_temperature(calibrated * 3, gold) == pytest.approx(3 * choose_temperature(calibrated, gold), rel=0.1)


def test_cross_validation_reports_each_seed():
    rng = np.random.default_rng(2)
    gold = ["negative"] * 30 + ["neutral"] * 30 + ["positive"] * 15
    report = cross_validate(logits_for(gold, rng), gold, logits_for(gold, rng), gold, 0.8, 0.0, seeds=(1, 2))
    assert [r["seed"] for r in report["runs"]] == [1, 2]
    assert all(0.0 < r["macro_f1"] <= 1.0 for r in report["runs"])
