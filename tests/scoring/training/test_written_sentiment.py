"""The written sentiment messages (`scoring/training/written/sentiment.tsv`) and how the product head trains on them."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from scoring.base import LABELS
from scoring.training.evaluation import read_table
from scoring.training.product_head import NEUTRAL, SENTIMENT, _fit, load_sentiment, sample_training
from scoring.training.written import load_written

REPO = Path(__file__).resolve().parents[3]
DATA_DIR = REPO.parent / "shared" / "data"
BUSINESS_DEV = DATA_DIR / "business_messages" / "business_messages_dev.tsv"
CHANNELS = {"sms", "call", "email", "chat", "review", "ticket"}


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def test_sentiment_rows_follow_the_dev_format_and_mix():
    rows = load_sentiment()  # raises on an unknown escalation kind or slot
    assert len(rows) >= 400
    assert {r["label"] for r in rows} == set(LABELS) and {r["channel"] for r in rows} <= CHANNELS
    assert len({r["business"] for r in rows}) >= 15
    shares = Counter(r["label"] for r in rows)
    assert shares["neutral"] > shares["negative"] > shares["positive"] >= 0.15 * len(rows)  # dev's plan: 40/35/25
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == len(texts)
    assert not set(texts) & {r["text"] for r in load_written()}  # new messages, not copies of messages.tsv


def test_neutral_rows_are_new_neutral_messages():
    rows = load_sentiment(NEUTRAL)
    assert len(rows) >= 80 and {r["label"] for r in rows} == {"neutral"} and {r["channel"] for r in rows} <= CHANNELS
    others = {r["text"] for r in load_written() + load_sentiment()}
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == len(texts) and not set(texts) & others


@pytest.mark.parametrize("path", [SENTIMENT, NEUTRAL], ids=["sentiment", "neutral"])
def test_sentiment_rows_are_not_near_copies_of_business_dev(path):
    if not BUSINESS_DEV.is_file():
        pytest.skip(f"business dev not at {BUSINESS_DEV}")
    dev = [words(r["text"]) for r in read_table(BUSINESS_DEV)]
    close = []
    for row in read_table(path):
        mine = words(row["text"])
        for other in dev:
            if len(mine | other) >= 4 and len(mine & other) / len(mine | other) >= 0.7:
                close.append(row["text"])
    assert close == []


def test_training_sample_holds_both_written_files():
    if not (DATA_DIR / "semeval2017_task4A").is_dir():
        pytest.skip(f"labelled data not at {DATA_DIR}")
    rows = sample_training(DATA_DIR, 13, tweets=20, reviews=10)
    sources = Counter(source for _, _, source in rows)
    written = len(load_written()) + len(load_sentiment()) + len(load_sentiment(NEUTRAL))
    assert sources == {"written": written, "semeval": 20, "custrev": 10}


def test_fit_weighs_the_sampled_rows_by_tweet_weight():
    rng = np.random.default_rng(0)
    features = rng.normal(0, 1, (300, 4))
    truth = np.array(LABELS)[features[:, :3].argmax(1)]
    sampled = np.array(LABELS)[features[:, :3].argmin(1)]  # sampled rows teach the opposite
    x = np.vstack([features, features])
    y = truth.tolist() + sampled.tolist()
    sources = ["written"] * 300 + ["semeval"] * 300
    for weight, expected in ((0.05, truth), (20.0, sampled)):
        w, b = _fit(x, y, sources, 1.0, weight)
        predicted = np.array(LABELS)[(features @ w.T + b).argmax(1)]
        assert (predicted == expected).mean() > 0.9


def test_train_head_keeps_the_best_cross_validated_pair(tmp_path):
    """`undertone train-head` with two C values on a copy of the shipped artifact (small samples: ~1 minute)."""
    import json
    import shutil

    from click.testing import CliRunner

    from scoring.flair_scorer import MODEL_DIR
    from scoring.training.commands import train_head

    if not (DATA_DIR / "semeval2017_task4A").is_dir() or not BUSINESS_DEV.is_file():
        pytest.skip(f"labelled data not at {DATA_DIR}")
    model = shutil.copytree(MODEL_DIR, tmp_path / "model")
    result = CliRunner().invoke(train_head, ["--data-dir", str(DATA_DIR), "--model-dir", str(model), "--tweets", "20",
                                             "--reviews", "10", "--semeval-dev-per-file", "30", "--c", "0.1,3",
                                             "--tweet-weight", "0.2"])
    assert result.exit_code == 0, result.output
    head = json.loads((model / "product_head.json").read_text())
    grid = head["about"]["grid"]
    assert [(g["C"], g["tweet_weight"]) for g in grid] == [(0.1, 0.2), (3.0, 0.2)]
    assert head["about"]["C"] == max(grid, key=lambda g: g["cv_macro_f1"])["C"]
    written = len(load_written()) + len(load_sentiment()) + len(load_sentiment(NEUTRAL))
    assert head["about"]["training"] == {"written": written, "semeval": 20, "custrev": 10}
    assert 0.3 <= head["temperature"] <= 5 and head["about"]["chosen_on_dev"]["business_neg_recall"] >= 0.85
    a, b = head["temperature_model"]["log_temperature"]
    assert len(head["temperature_model"]["direction"]) == len(head["weights"][0]) and b > 0  # tweets warmer
    assert len(head["about"]["temperature_cross_validation"]["runs"]) == 3
