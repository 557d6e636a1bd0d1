"""Tests for the labelled-data reader and the metrics, on small hand-computed cases."""
from __future__ import annotations

import pytest

from scoring.base import Score
from scoring.training.evaluation import decode_escapes, evaluate, metrics, read_labelled


class FixedScorer:
    """Scores every text with a label looked up in a table."""

    name = "fixed"

    def __init__(self, table: dict[str, tuple[str, str]]) -> None:
        """`table` maps text -> (label, intensity)."""
        self.table = table

    def score(self, texts):
        """One Score per text from the table."""
        value = {"negative": -0.5, "neutral": 0.0, "positive": 0.5}
        return [Score(label, value[label], intensity, 0.5) for label, intensity in map(self.table.get, texts)]


def test_metrics_hand_computed_three_class():
    gold = ["positive", "positive", "negative", "neutral"]
    pred = ["positive", "negative", "negative", "neutral"]
    result = metrics(gold, pred)
    assert result["accuracy"] == pytest.approx(0.75)
    pos, neg, neu = (result["per_class"][k] for k in ("positive", "negative", "neutral"))
    assert (pos["precision"], pos["recall"], pos["f1"], pos["support"]) == pytest.approx((1.0, 0.5, 2 / 3, 2))
    assert (neg["precision"], neg["recall"], neg["f1"], neg["support"]) == pytest.approx((0.5, 1.0, 2 / 3, 1))
    assert (neu["precision"], neu["recall"], neu["f1"]) == pytest.approx((1.0, 1.0, 1.0))
    assert result["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert result["confusion"]["positive"] == {"negative": 1, "neutral": 0, "positive": 1}
    assert result["labels"] == ["negative", "neutral", "positive"]


def test_metrics_class_never_predicted_scores_zero_not_error():
    result = metrics(["negative", "positive", "neutral"], ["neutral", "neutral", "neutral"])
    assert result["per_class"]["negative"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert result["per_class"]["neutral"]["precision"] == pytest.approx(1 / 3)
    assert result["macro_f1"] == pytest.approx((0 + 0.5 + 0) / 3)


def test_binary_gold_averages_gold_classes_but_reports_neutral_predictions():
    gold = ["negative", "negative", "positive", "positive"]
    pred = ["negative", "neutral", "positive", "positive"]
    result = metrics(gold, pred)
    assert result["labels"] == ["negative", "positive"]
    # negative: P=1, R=0.5, F1=2/3; positive: P=1, R=1, F1=1
    assert result["macro_f1"] == pytest.approx((2 / 3 + 1) / 2)
    assert result["confusion"]["negative"]["neutral"] == 1
    assert result["per_class"]["neutral"]["support"] == 0


def test_explicit_labels_override_the_average():
    result = metrics(["positive", "negative"], ["positive", "neutral"], labels=["negative", "neutral", "positive"])
    assert result["macro_f1"] == pytest.approx((0 + 0 + 1) / 3)


def test_metrics_rejects_length_mismatch_and_handles_empty():
    with pytest.raises(ValueError):
        metrics(["positive"], [])
    assert metrics([], [])["accuracy"] == 0.0


def test_evaluate_runs_the_scorer_on_label_and_intensity():
    table = {"a": ("positive", "very_positive"), "b": ("negative", "negative"), "c": ("neutral", "neutral")}
    scorer = FixedScorer(table)
    by_label = evaluate(scorer, ["a", "b", "c"], ["positive", "neutral", "neutral"])
    assert by_label["accuracy"] == pytest.approx(2 / 3)
    by_band = evaluate(scorer, ["a", "b", "c"], ["positive", "negative", "neutral"], field="intensity")
    assert by_band["accuracy"] == pytest.approx(2 / 3)
    assert by_band["confusion"]["positive"]["very_positive"] == 1
    with pytest.raises(ValueError):
        evaluate(scorer, ["a"], ["positive", "negative"])


def test_read_semeval_decodes_escapes_and_drops_repeated_ids(tmp_path):
    path = tmp_path / "semeval.txt"
    path.write_text(
        "1\tpositive\tgreat\\u002c thanks\n"
        "2\tnegative\tawful \\u2019day\n"
        "1\tnegative\tduplicate of id 1\n"
        "3\tneutral\t  it is Monday  \n",
        encoding="utf-8",
    )
    texts, labels = read_labelled(path)
    assert texts == ["great, thanks", "awful \u2019day", "it is Monday"]
    assert labels == ["positive", "negative", "neutral"]


def test_read_semeval_rejects_unknown_label_and_five_levels(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1\tmixed\ttext\n", encoding="utf-8")
    with pytest.raises(ValueError):
        read_labelled(path)
    path.write_text("1\tpositive\ttext\n", encoding="utf-8")
    with pytest.raises(ValueError):
        read_labelled(path, levels=5)


def test_read_sst5_maps_to_three_classes_or_five_bands(tmp_path):
    path = tmp_path / "stsa.fine.dev"
    path.write_text("0 awful\n1 weak\n2 a film\n3 nice\n4 superb\n", encoding="utf-8")
    texts, labels = read_labelled(path)
    assert texts == ["awful", "weak", "a film", "nice", "superb"]
    assert labels == ["negative", "negative", "neutral", "positive", "positive"]
    assert read_labelled(path, levels=5)[1] == ["very_negative", "negative", "neutral", "positive", "very_positive"]


def test_read_binary_maps_and_skips_empty_rows(tmp_path):
    path = tmp_path / "custrev.all"
    path.write_text("1 works well\n0 \n0 broke after a week\n\n", encoding="utf-8")
    assert read_labelled(path) == (["works well", "broke after a week"], ["positive", "negative"])
    with pytest.raises(ValueError):
        read_labelled(path, levels=5)


def test_read_spaced_rejects_unknown_labels(tmp_path):
    path = tmp_path / "odd.txt"
    path.write_text("0 fine\n7 what\n", encoding="utf-8")
    with pytest.raises(ValueError):
        read_labelled(path)


def test_decode_escapes_joins_surrogate_pairs():
    assert decode_escapes("hi \\ud83d\\ude00 \\u002c") == "hi \U0001F600 ,"
    assert decode_escapes("plain") == "plain"
