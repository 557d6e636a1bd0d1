"""The product head: its arithmetic, the operating point chosen under the recall and SemEval floors, the
temperature, and the cross-validated report of the choice."""
from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.product_head import ProductHead, head_features, save, text_temperatures, tweet_likeness
from scoring.training.product_head import (
    choose_bias,
    choose_temperature,
    choose_temperature_model,
    cross_validate,
    cross_validate_temperature,
    fit_tweet_likeness,
)


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


def test_a_temperature_per_text_follows_tweet_likeness_and_keeps_the_label(tmp_path):
    weights = np.zeros((3, 5))
    weights[0, 0] = weights[2, 1] = 1.0
    model = {"direction": [0.0, 0.0, 0.0, 0.0, 0.0], "offset": 0.0, "log_temperature": [0.0, 0.0]}
    model["direction"][1] = 10.0  # dimension 1 (also "positive") marks a tweet here
    model["log_temperature"] = [0.0, np.log(3.0)]  # T = 1 for a message, 3 for a tweet
    save(tmp_path / "head.json", weights, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 1.5, {"test": True}, model)
    head = ProductHead.load(tmp_path / "head.json")
    vectors, probs = np.array([[2.0, -1.0], [0.0, 2.0]]), np.full((2, 3), 1 / 3)
    np.testing.assert_allclose(head.temperatures(head_features(vectors, probs))[:, 0], [1.0, 3.0], rtol=1e-3)
    adjusted = head.probabilities(vectors, probs)
    expected = np.exp(np.array([2.0, 0.0, -1.0]))
    np.testing.assert_allclose(adjusted[0], expected / expected.sum(), rtol=1e-3)
    expected = np.exp(np.array([0.0, 0.0, 2.0]) / 3.0)
    np.testing.assert_allclose(adjusted[1], expected / expected.sum(), rtol=1e-3)
    assert adjusted.argmax(1).tolist() == head.logits(vectors, probs).argmax(1).tolist()
    without = json.loads((tmp_path / "head.json").read_text())
    del without["temperature_model"]
    (tmp_path / "plain.json").write_text(json.dumps(without))
    plain = ProductHead.load(tmp_path / "plain.json")  # a head v2 file: the one number
    assert plain.temperatures(head_features(vectors, probs))[:, 0].tolist() == [1.5, 1.5]


def test_the_temperature_model_cools_messages_and_warms_overconfident_tweets():
    rng = np.random.default_rng(3)
    gold = ["negative", "neutral", "positive"] * 200
    messages, tweets = logits_for(gold, rng), logits_for(gold, rng, noise=2.0) * 3  # tweets: noisier, overconfident
    features_m, features_t = np.zeros((len(gold), 2)), np.ones((len(gold), 2))
    likeness = {"direction": np.array([4.0, 4.0]), "offset": -4.0}  # s = 0.02 for messages, 0.98 for tweets
    model = choose_temperature_model(features_m, messages, gold, features_t, tweets, gold, likeness)
    t_messages, t_tweets = text_temperatures(features_m[:1], model)[0], text_temperatures(features_t[:1], model)[0]
    assert t_tweets > 2.5 * t_messages
    assert t_messages == pytest.approx(choose_temperature(messages, gold), rel=0.25)
    report = cross_validate_temperature(features_m, messages, gold, features_t, tweets, gold, likeness, seeds=(1,))
    assert report["runs"][0]["semeval_ece"] < 0.05 and report["runs"][0]["business_ece"] < 0.05


def test_tweet_likeness_is_learned_from_the_training_sources():
    rng = np.random.default_rng(4)
    features = np.vstack([rng.normal(0, 1, (100, 4)), rng.normal(0, 1, (100, 4)) + [3, 0, 0, 0],
                          rng.normal(0, 1, (50, 4)) - [0, 9, 0, 0]])
    sources = ["written"] * 100 + ["semeval"] * 100 + ["custrev"] * 50
    likeness = fit_tweet_likeness(features, sources, c=1.0)
    s = tweet_likeness(features, likeness)
    assert s[100:200].mean() > 0.8 > 0.2 > s[:100].mean()
