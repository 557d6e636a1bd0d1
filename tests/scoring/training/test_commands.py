"""`undertone train`, `score` and `evaluate` through click's CliRunner."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scoring.training.commands import calibrate, evaluate, score, train

REPO = Path(__file__).resolve().parents[3]
DATA_DIR = REPO.parent / "shared" / "data"
LINES = [
    {"id": 1, "text": "I was charged twice and nobody answers, I want a refund"},
    {"id": "b", "text": ""},
    {"id": 3, "text": "Brilliant service, thank you!"},
    {"id": None, "text": "Can I move my appointment to Friday?"},
]


def jsonl(rows) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    """`undertone train --quick` into a temporary directory."""
    pytest.importorskip("flair")
    if not (DATA_DIR / "semeval2017_task4A").is_dir():
        pytest.skip(f"labelled data not at {DATA_DIR}")
    out = tmp_path_factory.mktemp("model")
    result = CliRunner().invoke(train, ["--data-dir", str(DATA_DIR), "--out", str(out), "--quick", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "semeval dev (3 files)" in result.output  # the dev figures are printed
    return str(out)


def test_train_quick_writes_a_small_artifact(model_dir):
    files = {p.name: p.stat().st_size for p in Path(model_dir).iterdir()}
    assert {"adapter.safetensors", "config.json", "MODEL_CARD.md"} <= set(files)
    assert json.loads(Path(model_dir, "config.json").read_text())["training"]["seed"] == 7


def test_train_without_normalising_records_it(model_dir, tmp_path):
    assert json.loads(Path(model_dir, "config.json").read_text())["normalise_text"] is True
    result = CliRunner().invoke(train, ["--data-dir", str(DATA_DIR), "--out", str(tmp_path), "--quick", "--no-normalise"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "config.json").read_text())["normalise_text"] is False
    assert "--seed 13 --quick --no-normalise\n" in (tmp_path / "MODEL_CARD.md").read_text()


def test_calibrate_chooses_again_and_keeps_the_weights(model_dir, tmp_path):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    weights = (copy / "adapter.safetensors").read_bytes()
    result = CliRunner().invoke(calibrate, ["--data-dir", str(DATA_DIR), "--model-dir", str(copy),
                                            "--min-negative-recall", "1.0"])
    assert result.exit_code == 0, result.output
    config = json.loads((copy / "config.json").read_text())
    assert config["min_negative_recall"] == 1.0 and config["training"]["seed"] == 7
    assert (copy / "adapter.safetensors").read_bytes() == weights
    assert "--min-negative-recall 1.0" in (copy / "MODEL_CARD.md").read_text()
    # The floor of 1.0 pushes the bias towards negative at least as far as the default 0.85 did.
    original = json.loads(Path(model_dir, "config.json").read_text())
    assert config["bias"][0] - config["bias"][2] >= original["bias"][0] - original["bias"][2]


@pytest.mark.parametrize("scorer", ["lexicon", "flair", "ensemble"])
def test_score_round_trip_keeps_ids_order_and_fields(model_dir, scorer):
    rows = LINES * 40  # 160 lines in batches of 16
    result = CliRunner().invoke(score, ["--scorer", scorer, "--model-dir", model_dir, "--batch-size", "16"],
                                input=jsonl(rows))
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [r["id"] for r in rows]
    for o in out:
        assert set(o) == {"id", "label", "score", "intensity", "confidence"}
        assert o["label"] in ("negative", "neutral", "positive") and -1 <= o["score"] <= 1
    assert out[1]["confidence"] == 0.0  # empty text


def test_score_reads_a_file_and_skips_blank_lines(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(jsonl(LINES[:2]) + "\n\n" + jsonl(LINES[2:]))
    result = CliRunner().invoke(score, ["--scorer", "lexicon", str(path)])
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 4


@pytest.mark.parametrize("bad, reason", [
    ("not json", "not JSON"), ("[1, 2]", "not a JSON object"),
    ('{"text": "no id"}', "no 'id'"), ('{"id": 9, "text": 5}', "'text'"),
])
def test_bad_line_stops_with_its_number_after_scoring_the_lines_before(bad, reason):
    result = CliRunner().invoke(score, ["--scorer", "lexicon", "--batch-size", "2"],
                                input=jsonl(LINES[:3]) + bad + "\n" + jsonl(LINES[3:]))
    assert result.exit_code == 1
    assert "line 4" in result.stderr and reason in result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [1, "b", 3]


def test_skip_bad_scores_the_rest_and_still_fails():
    result = CliRunner().invoke(score, ["--scorer", "lexicon", "--skip-bad"],
                                input=jsonl(LINES[:1]) + "{oops\n" + jsonl(LINES[1:]))
    assert result.exit_code == 1
    assert "line 2" in result.stderr and "skipped 1 bad line" in result.stderr
    assert len(result.stdout.splitlines()) == 4


def test_evaluate_jsonl_and_tsv_prints_metrics_and_confusion(model_dir, tmp_path):
    rows = [("negative", "I hate this, worst ever"), ("positive", "love it, great work"),
            ("neutral", "the office opens at nine"), ("negative", "still broken, so annoyed")]
    (tmp_path / "a.jsonl").write_text(jsonl({"id": i, "text": t, "label": label} for i, (label, t) in enumerate(rows)))
    (tmp_path / "b.tsv").write_text("".join(f"{label}\t{t}\n" for label, t in rows))
    files = [str(tmp_path / "a.jsonl"), str(tmp_path / "b.tsv")]
    result = CliRunner().invoke(evaluate, ["--scorer", "lexicon", "--scorer", "flair", "--model-dir", model_dir, *files])
    assert result.exit_code == 0, result.output
    for needle in ("accuracy=", "macro-F1=", "precision", "recall", "confusion", "all 2 files", "| a.jsonl | 4 |"):
        assert needle in result.output
    as_json = CliRunner().invoke(evaluate, ["--scorer", "lexicon", "--json", files[0]])
    result = json.loads(as_json.stdout)["a.jsonl"]["lexicon"]
    assert result["n"] == 4 and result["confusion"]["negative"]["negative"] >= 1


def test_evaluate_five_levels_and_bad_file(tmp_path):
    path = tmp_path / "sst.txt"
    path.write_text("0 awful , awful film\n4 a triumph\n2 it is a film\n")
    result = CliRunner().invoke(evaluate, ["--scorer", "lexicon", "--levels", "5", str(path)])
    assert result.exit_code == 0 and "very_negative" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": "angry"}\n')
    result = CliRunner().invoke(evaluate, ["--scorer", "lexicon", str(bad)])
    assert result.exit_code != 0 and "row 1" in result.output


def test_evaluate_prints_product_reliability_and_escalation_tables(tmp_path):
    path = tmp_path / "business.tsv"
    path.write_text("label\tchannel\tescalation\ttext\n"
                    "negative\tsms\trefund\tThis is awful, I want a refund\n"
                    "neutral\tsms\t\tare you open on sunday?\n"
                    "negative\temail\tcompetitor\tBooked with Acme Plumbing instead, you never called back.\n"
                    "positive\treview\t\tGreat work, thank you so much!\n")
    result = CliRunner().invoke(evaluate, ["--scorer", "lexicon", "--reliability", "--escalations", str(path)])
    assert result.exit_code == 0, result.output
    assert "| business.tsv / lexicon | 4 |" in result.output  # the product table
    assert "reliability of `confidence` on business.tsv | lexicon: ECE" in result.output
    assert "| refund | 1 | 1 | 1.00 | 1.00 | 1.00 |" in result.output  # the refund rule fires on its row
    assert "| overall | 2 |" in result.output
    missing = CliRunner().invoke(evaluate, ["--scorer", "lexicon"])
    assert missing.exit_code != 0 and "--dev" in missing.output


def test_score_with_flags_adds_flags_and_themes():
    rows = [{"id": 1, "text": "This is the third time I'm calling. I want a refund for the visit."},
            {"id": 2, "text": "Booked at Luxe Studio instead, thanks anyway."},
            {"id": 3, "text": "can I move my appointment to friday?"}]
    result = CliRunner().invoke(score, ["--scorer", "lexicon", "--with-flags"], input=jsonl(rows))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    first = {f["rule"]: f for f in lines[0]["flags"]}
    assert first["refund"]["evidence"] == "I want a refund for the visit."
    assert "contacted_repeatedly" in first and "reason" in first["refund"]
    assert [f["rule"] for f in lines[1]["flags"]] == ["switching"]  # a competitor nobody configured
    assert lines[2]["flags"] == [] and isinstance(lines[2]["themes"], list)
    plain = CliRunner().invoke(score, ["--scorer", "lexicon"], input=jsonl(rows))
    assert "flags" not in json.loads(plain.stdout.splitlines()[0])
