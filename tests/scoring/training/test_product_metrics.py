"""The product's figures: neutral-as-negative, reliability/ECE, escalation recall and precision per kind; headed TSV."""
from __future__ import annotations

import pytest

from scoring.escalation import kind_of
from scoring.training.evaluation import read_labelled, read_table
from scoring.training.product_metrics import escalation_table, escalation_text, primary_kind, reliability, sentiment_summary


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


def test_escalation_table_one_kind_per_message_reduces_flags_as_the_guideline_reduces_labels():
    # row 0: legal + refund flagged on a legal message -> one kind: legal (its refund flag no longer counts against
    # refund); row 2: cancel + refund on a refund message -> one kind: cancel, a miss for refund and wrong for cancel
    gold = ["legal", "refund", "refund", ""]
    predicted = [{"refund", "legal"}, {"refund"}, {"refund", "cancel"}, {"manager"}]
    table = escalation_table(gold, predicted)
    assert table["refund"]["precision"] == pytest.approx(2 / 3) and table["refund"]["recall"] == 1.0
    one = table["refund"]["one_kind"]
    assert one["flagged"] == 1 and one["precision"] == 1.0 and one["recall"] == 0.5
    assert table["cancel"]["one_kind"]["precision"] == 0.0 and table["legal"]["one_kind"]["recall"] == 1.0
    assert table["manager"]["one_kind"] == {"support": 0, "flagged": 1, "recall": 0.0, "precision": 0.0,
                                            "precision_by_precedence": 0.0}
    assert table["overall"]["one_kind"]["precision"] == table["overall"]["precision"] == 0.75
    assert primary_kind({"repeat_contact", "manager", "zzz"}) == "manager" and primary_kind(set()) == ""
    assert primary_kind({"zzz", "aaa"}) == "aaa"
    assert "| refund | 2 | 3 | 1.00 | 0.67 | 1.00 | 1, 0.50, 1.00 |" in escalation_text("t", table)


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
