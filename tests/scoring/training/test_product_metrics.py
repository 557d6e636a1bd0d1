"""The product's figures: neutral-as-negative, reliability/ECE, escalation recall and precision per kind; headed TSV."""
from __future__ import annotations

import pytest

from scoring.escalation import kind_of
from scoring.training.evaluation import read_labelled, read_table
from scoring.training.product_metrics import escalation_table, reliability, sentiment_summary


def test_sentiment_summary_counts_neutral_called_negative():
    gold = ["neutral", "neutral", "neutral", "negative", "positive"]
    predicted = ["negative", "neutral", "negative", "negative", "positive"]
    s = sentiment_summary(gold, predicted)
    assert (s["neutral_as_negative"], s["neutral"]) == (2, 3)
    assert s["neg_recall"] == 1.0 and s["neg_precision"] == pytest.approx(1 / 3)


def test_reliability_bins_and_ece():
    correct = [True, False, True, True]
    confidence = [0.95, 0.95, 0.55, 1.0]
    rows, ece = reliability(correct, confidence, bins=10)
    assert [(r["bin"], r["n"]) for r in rows] == [("0.5-0.6", 1), ("0.9-1.0", 3)]
    # bin 0.5: |1 - 0.55| = 0.45 (1 row); bin 0.9: |2/3 - 0.9667| = 0.3 (3 rows)
    assert ece == pytest.approx((0.45 + 3 * abs(2 / 3 - (0.95 + 0.95 + 1.0) / 3)) / 4)
    perfect = reliability([True] * 5, [1.0] * 5)[1]
    assert perfect == 0.0
    with pytest.raises(ValueError):
        reliability([True], [0.5, 0.6])


def test_escalation_table_strict_and_by_precedence():
    gold = ["legal", "refund", "", "cancel", ""]
    predicted = [{"legal", "refund"}, {"refund"}, {"cancel"}, set(), set()]
    table = escalation_table(gold, predicted)
    assert table["overall"]["recall"] == pytest.approx(2 / 3) and table["overall"]["precision"] == pytest.approx(2 / 3)
    refund = table["refund"]
    assert refund["recall"] == 1.0 and refund["precision"] == 0.5 and refund["precision_by_precedence"] == 1.0
    assert table["cancel"]["recall"] == 0.0 and table["cancel"]["precision"] == 0.0


def test_kind_of_names_rules_and_learned_flags():
    assert kind_of("leaving") == "cancel" and kind_of("review_threat") == "bad_review"
    assert kind_of("learned_competitor") == "competitor"
    assert kind_of("strong_negative") is None and kind_of("anger") is None


def test_headed_tsv_is_read_by_column(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_text("label\tchannel\tescalation\ttext\nnegative\tsms\trefund\tgive me my money back\n"
                    "neutral\tcall\t\tare you open sunday\n")
    assert read_labelled(path) == (["give me my money back", "are you open sunday"], ["negative", "neutral"])
    assert read_table(path)[0]["escalation"] == "refund"
    bad = tmp_path / "bad.tsv"
    bad.write_text("label\ttext\nnegative\n")
    with pytest.raises(ValueError, match="row 2"):
        read_table(bad)
