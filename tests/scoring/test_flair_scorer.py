"""The flair scorer: a small model trained here in seconds, the shipped model, the offline MiniLM loader."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("flair")
pytest.importorskip("peft")

from scoring.base import INTENSITIES, LABELS, Score  # noqa: E402
from scoring.flair_scorer import (  # noqa: E402
    MODEL_DIR,
    ArtifactMissing,
    EnsembleScorer,
    FlairScorer,
    decide,
    read_config,
    to_score,
)

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO.parent / "shared" / "data"


@pytest.fixture(scope="module")
def quick_model(tmp_path_factory) -> Path:
    """A tiny artifact trained on 48 tweets (`--quick`): real training, saving and calibration."""
    if not (DATA_DIR / "semeval2017_task4A").is_dir():
        pytest.skip(f"labelled data not at {DATA_DIR}")
    from scoring.training.train import run

    out = tmp_path_factory.mktemp("model")
    run(DATA_DIR, out, seed=13, quick=True, lora_r=8, log=lambda line: None)
    return out


def test_quick_artifact_is_small_and_records_its_making(quick_model):
    assert (quick_model / "adapter.safetensors").stat().st_size < 1_000_000
    config = read_config(quick_model)
    assert config["training"]["seed"] == 13 and config["training"]["quick"] is True
    assert len(config["bias"]) == 3 and set(config["strong"]) == {"negative", "positive"}
    assert "semeval dev (3 files)" in config["dev"]
    assert config["lora"]["r"] == 8 and config["lora"]["alpha"] == 16
    card = (quick_model / "MODEL_CARD.md").read_text()
    assert "undertone train --data-dir ../shared/data --out scoring/model --seed 13 --quick --lora-r 8\n" in card


def test_scores_are_valid_in_order_and_batch_independent(quick_model):
    texts = ["I hate waiting", "", "great job, thank you!", "   ", "where is my parcel", "meh"] * 3
    small = FlairScorer(quick_model, batch_size=4, quantize=False)
    scores = small.score(texts)
    assert len(scores) == len(texts) and all(isinstance(s, Score) for s in scores)
    one_by_one = [FlairScorer(quick_model, batch_size=64, quantize=False).score([t])[0] for t in texts]
    for batched, single in zip(scores, one_by_one):
        assert batched.label == single.label
        assert batched.score == pytest.approx(single.score, abs=1e-3)
    for empty in (scores[1], scores[3]):
        assert (empty.label, empty.score, empty.confidence) == ("neutral", 0.0, 0.0)


def test_the_scorer_reads_text_normalised_as_in_training(quick_model):
    assert read_config(quick_model)["normalise_text"] is True
    scorer = FlairScorer(quick_model, quantize=False)
    raw, normalised = scorer.probabilities(["thanks @BobSmith, see https://t.co/xyz &amp; more",
                                             "thanks @user, see http & more"])
    assert abs(raw - normalised).max() < 1e-6


def test_probabilities_rows_sum_to_one_and_empty_input(quick_model):
    scorer = FlairScorer(quick_model, quantize=False)
    probs = scorer.probabilities(["fine", "awful", ""])
    assert probs.shape == (3, 3)
    assert probs[:2].sum(axis=1) == pytest.approx([1.0, 1.0])
    assert scorer.score([]) == []


def test_int8_encoder_agrees_closely_with_fp32(quick_model):
    texts = ["the bill is wrong again", "thanks, all sorted", "what time do you open"]
    fp32 = FlairScorer(quick_model, quantize=False).probabilities(texts)
    int8 = FlairScorer(quick_model, quantize=True).probabilities(texts)
    assert abs(fp32 - int8).max() < 0.1


def test_ensemble_passes_lexicon_signals_through(quick_model):
    scores = EnsembleScorer(FlairScorer(quick_model)).score(["I was charged twice, I want a refund", ""])
    assert "refund_request" in scores[0].signals
    assert scores[1].confidence == 0.0


def test_missing_or_mismatched_artifact_is_a_clear_error(tmp_path, quick_model):
    with pytest.raises(ArtifactMissing, match="undertone train"):
        FlairScorer(tmp_path).score(["hello"])
    config = read_config(quick_model)
    config["lora"]["r"] = 4  # adapters of rank 8 do not fit rank-4 slots
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps(config))
    (bad / "adapter.safetensors").write_bytes((quick_model / "adapter.safetensors").read_bytes())
    with pytest.raises((ArtifactMissing, RuntimeError), match="size mismatch|does not fit|lacks"):
        FlairScorer(bad).load()


def test_decision_bias_moves_labels_towards_negative():
    import numpy as np

    probs = np.array([[0.3, 0.4, 0.3]])
    assert LABELS[decide(probs, [0.0, 0.0, 0.0]).argmax()] == "neutral"
    assert LABELS[decide(probs, [0.5, 0.0, 0.0]).argmax()] == "negative"


def test_intensity_follows_label_and_thresholds():
    import numpy as np

    strong = {"negative": 0.5, "positive": 0.7}
    assert to_score(np.array([0.9, 0.05, 0.05]), strong).intensity == "very_negative"
    assert to_score(np.array([0.5, 0.2, 0.3]), strong).intensity == "negative"
    assert to_score(np.array([0.1, 0.2, 0.7]), strong).intensity == "positive"
    assert to_score(np.array([0.02, 0.08, 0.9]), strong).intensity == "very_positive"
    neutral = to_score(np.array([0.1, 0.8, 0.1]), strong)
    assert (neutral.label, neutral.intensity, neutral.confidence) == ("neutral", "neutral", 0.8)
    assert neutral.intensity in INTENSITIES


@pytest.mark.skipif(not (MODEL_DIR / "adapter.safetensors").is_file(), reason="no shipped model")
def test_shipped_model_reads_obvious_customers_right():
    assert (MODEL_DIR / "adapter.safetensors").stat().st_size < 10 * 1024 * 1024
    negatives = ["This is the worst service I have ever had, I am furious.",
                 "Still no refund after three weeks. Absolutely useless.",
                 "The technician never showed up and nobody called. Terrible."]
    positives = ["Thank you so much, the team was fantastic and fixed it in minutes!",
                 "Great service, really happy with the result.",
                 "Love it, best purchase this year."]
    texts = negatives + ["", *positives]
    for scorer in (FlairScorer(), EnsembleScorer()):
        scores = scorer.score(texts)
        assert [s.label for s in scores[:3]] == ["negative"] * 3, scorer.name
        assert [s.label for s in scores[4:]] == ["positive"] * 3, scorer.name
        assert scores[3].confidence == 0.0
        assert all(s.score < -0.3 for s in scores[:3]) and all(s.score > 0.3 for s in scores[4:])
    reversed_scores = FlairScorer().score(texts[::-1])
    assert [s.label for s in reversed_scores] == [s.label for s in FlairScorer().score(texts)][::-1]


def test_embeddings_are_offline_normalised_and_meaningful():
    from scoring.embeddings import encode, model_path

    assert (model_path() / "model.safetensors").is_file()
    vectors = encode(["my bill is wrong", "I was overcharged on my invoice", "the weather is nice today", ""])
    assert vectors.shape == (4, 384)
    assert (vectors[:3] ** 2).sum(axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_importing_the_scoring_modules_does_not_import_torch():
    code = ("import sys, scoring.flair_scorer, scoring.embeddings, scoring.training.commands, scoring.training.train; "
            "assert 'torch' not in sys.modules and 'flair' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_batches_keep_every_text_once_in_order_and_shrink_for_long_texts():
    from scoring.batching import token_bounded as _batches

    texts = ["ok"] * 100 + ["x" * 400] * 30  # 2 tokens each, then 102 tokens each
    order = list(range(len(texts)))
    batches = _batches(order, texts, size=64, max_tokens=128)
    assert [i for batch in batches for i in batch] == order
    assert [len(b) for b in batches[:2]] == [64, 36]  # short texts: the size cap
    assert all(len(b) * 102 <= 64 * 40 for b in batches[2:]) and len(batches[2]) == 25  # long: the token budget
    assert _batches([], texts, size=64, max_tokens=128) == []


def test_a_product_head_in_the_artifact_decides(quick_model, tmp_path):
    import shutil

    import numpy as np

    from scoring.product_head import save

    copy = tmp_path / "model"
    shutil.copytree(quick_model, copy)
    config = read_config(copy)
    width = FlairScorer(copy).features(["hello"])[0].shape[1]
    weights = np.zeros((3, width + 3))
    save(copy / "product_head.json", weights, [0.0, 2.0, 0.0], [0.0, 0.0, 0.0], 1.0, {"test": True})
    (copy / "config.json").write_text(json.dumps({**config, "product_head": "product_head.json"}))
    texts = ["I hate this, worst ever", "", "love it, thank you"]
    scores = FlairScorer(copy).score(texts)
    assert [s.label for s in scores] == ["neutral"] * 3  # the head's intercept favours neutral
    assert scores[0].confidence == round(float(np.exp(2.0) / (np.exp(2.0) + 2)), 4) and scores[1].confidence == 0.0
    # the ensemble starts from the head's probabilities (then adds its lexicon logit, non-zero in this quick model)
    assert [s.label for s in EnsembleScorer(FlairScorer(copy)).score(texts)][1] == "neutral"


def test_shipped_product_head_keeps_calm_short_messages_neutral():
    config = read_config(MODEL_DIR)
    assert config.get("product_head") == "product_head.json"
    texts = ["running 10 min late, sorry", "what time do you open on saturday?", "ok see you then"]
    assert [s.label for s in FlairScorer().score(texts)] == ["neutral"] * 3
