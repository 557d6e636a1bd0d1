"""`undertone train --corrections FILE`: the product head adapted to a business's corrections.

The shipped model is adapted once per session (`adapted`, through the real command); the other tests read it,
or fail before any model loads (bad files, refused outputs)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from integration.cli import main
from integration.cli.corrections import write
from scoring.flair_scorer import MODEL_DIR
from scoring.training.corrections import (
    DEFAULT_WEIGHT,
    TIE,
    WEIGHTS,
    CorrectionsError,
    check_output,
    choose_weight,
    read_corrections,
)

REPO = Path(__file__).resolve().parents[3]
DATA_DIR = REPO.parent / "shared" / "data"
# Texts the shipped model labels otherwise, each corrected to a label (found by scoring with the shipped model).
CORRECTED = {"How heavy is my stuff": "neutral", "the box is too heavy for me to lift": "neutral",
             "ok see u at 3, cheers": "positive"}  # texts the shipped head (v3) labels otherwise


def _needs_model_and_data() -> None:
    pytest.importorskip("flair")
    if not (DATA_DIR / "semeval2017_task4A").is_dir():
        pytest.skip(f"labelled data not at {DATA_DIR}")


@pytest.fixture(scope="session")
def adapted(tmp_path_factory) -> dict:
    """A copy of the shipped model adapted (by the command) to CORRECTED, written to VAR_DIR/model; run twice."""
    _needs_model_and_data()
    var = tmp_path_factory.mktemp("var")
    base = tmp_path_factory.mktemp("base") / "model"
    shutil.copytree(MODEL_DIR, base)  # the shipped model, its head marked as trained on fewer tweets and reviews,
    head = json.loads((base / "product_head.json").read_text())  # so the base data encodes in seconds
    head["about"]["training"].update(semeval=120, custrev=60)
    (base / "product_head.json").write_text(json.dumps(head))
    corrections = var / "corrections.tsv"
    corrections.write_text("".join(f"{label}\t{text}\n" for text, label in CORRECTED.items()), encoding="utf-8")
    env = {"VAR_DIR": str(var), "SCORER_MODEL_DIR": None}
    args = ["train", "--corrections", str(corrections), "--data-dir", str(DATA_DIR), "--base-model", str(base)]
    first = CliRunner().invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    head = json.loads((var / "model" / "product_head.json").read_text())
    second = CliRunner().invoke(main, args, env=env)  # replaces the first, reading the cached features
    assert second.exit_code == 0, second.output
    return {"var": var, "model": var / "model", "first": first.output, "second": second.output, "first_head": head,
            "base": base}


def head_about(model: Path) -> dict:
    return json.loads((model / "product_head.json").read_text())["about"]


def test_the_command_writes_a_copy_of_the_model_with_an_adapted_head(adapted):
    model = adapted["model"]
    assert (model / "adapter.safetensors").read_bytes() == (MODEL_DIR / "adapter.safetensors").read_bytes()
    assert head_about(model)["base_model"] == str(adapted["base"].resolve())
    assert head_about(model)["training"]["base_texts"] > 180  # the written messages and the sampled tweets, reviews
    head = json.loads((model / "product_head.json").read_text())
    shipped = json.loads((MODEL_DIR / "product_head.json").read_text())
    assert head["about"]["corrections"] == len(CORRECTED)
    assert head["about"]["correction_weight"] == DEFAULT_WEIGHT  # too few to cross-validate
    assert head["bias"] == shipped["bias"] and head["temperature"] == shipped["temperature"]
    assert head.get("temperature_model") == shipped.get("temperature_model")
    assert head["weights"] != shipped["weights"]
    assert [p.name for p in model.parent.iterdir() if p.name.startswith(".")] == []  # no staging left behind


def test_the_adapted_model_labels_the_corrected_texts_as_corrected(adapted):
    from scoring.flair_scorer import FlairScorer

    texts = list(CORRECTED)
    before = [s.label for s in FlairScorer().score(texts)]
    after = [s.label for s in FlairScorer(adapted["model"]).score(texts)]
    assert all(b != CORRECTED[t] for t, b in zip(texts, before))  # the shipped model disagreed with each
    assert after == [CORRECTED[t] for t in texts]
    kept = ["I was charged twice and nobody answers, I want a refund", "Brilliant service, thank you!"]
    assert [s.label for s in FlairScorer(adapted["model"]).score(kept)] == ["negative", "positive"]


def test_a_second_run_reads_the_cached_features_and_replaces_the_model(adapted):
    assert "encoded the base head's" in adapted["first"]
    assert "from the cache" in adapted["second"] and "encoded the base head's" not in adapted["second"]
    assert list(adapted["var"].joinpath("cache").glob("head-features-*.npy"))
    assert json.loads((adapted["model"] / "product_head.json").read_text())["weights"] == \
        adapted["first_head"]["weights"]  # same data, same fit


def test_an_unreadable_feature_cache_is_encoded_again(adapted, tmp_path):
    from scoring.flair_scorer import FlairScorer
    from scoring.training.corrections import base_features, head_settings

    cache = tmp_path / "cache"
    cache.mkdir()
    for cached in adapted["var"].joinpath("cache").glob("head-features-*.npy"):
        (cache / cached.name).write_bytes(b"not numpy")  # as a run killed mid-write by hand would leave it
    lines: list[str] = []
    flair = FlairScorer(adapted["base"]).load()
    features, labels, _ = base_features(flair, DATA_DIR, head_settings(adapted["base"]), cache, lines.append)
    assert features.shape[0] == len(labels) and any("encoded the base head's" in line for line in lines)
    assert [p.name for p in cache.iterdir()] == [p.name for p in adapted["var"].joinpath("cache").glob("*.npy")]


def test_the_worker_loads_the_adapted_model_from_var_dir(adapted, monkeypatch, tmp_path):
    from workers import context

    monkeypatch.setenv("VAR_DIR", str(adapted["var"]))
    monkeypatch.delenv("SCORER_MODEL_DIR", raising=False)
    monkeypatch.setenv("SCORER", "flair")
    context.reset()
    try:
        scorer = context.scorer()
        assert Path(scorer.model_dir) == adapted["model"].resolve()
        text = next(iter(CORRECTED))
        assert scorer.score([text])[0].label == CORRECTED[text]
        monkeypatch.setenv("SCORER_MODEL_DIR", str(MODEL_DIR))  # the setting wins over VAR_DIR/model
        context.reset()
        assert Path(context.scorer().model_dir) == MODEL_DIR.resolve()
        monkeypatch.delenv("SCORER_MODEL_DIR")
        monkeypatch.setenv("VAR_DIR", str(tmp_path))  # no model there: the shipped one
        context.reset()
        assert Path(context.scorer().model_dir) == MODEL_DIR.resolve()
    finally:
        context.reset()


def test_reads_what_corrections_export_writes_and_plain_tsv(tmp_path):
    found = [{"text": "was charged twice", "label": "negative", "source": "quo", "channel": "sms",
              "at": "2026-11-30T10:00:00Z", "corrected_by": "a@b.c", "corrected_at": "2026-11-30T11:00:00Z",
              "interaction_id": 7, "model_label": "neutral", "note": ""},
             {"text": "see you at 3", "label": "neutral", "source": "quo", "channel": "sms", "at": "",
              "corrected_by": "a@b.c", "corrected_at": "", "interaction_id": 8, "model_label": "", "note": "calm"}]
    expected = (["was charged twice", "see you at 3"], ["negative", "neutral"])
    for name, fmt in (("c.tsv", "tsv"), ("c.jsonl", "jsonl")):
        write(str(tmp_path / name), fmt, found)
        assert read_corrections(tmp_path / name) == expected
    (tmp_path / "plain.tsv").write_text("Negative\twas  charged\ttwice\n\nneutral\tsee you at 3\n", encoding="utf-8")
    assert read_corrections(tmp_path / "plain.tsv") == (["was charged twice", "see you at 3"], ["negative", "neutral"])


@pytest.mark.parametrize("content, message", [
    (b"", "no corrections in it"),
    (b"angry\tthis is bad\n", "line 1 is not label<TAB>text"),
    (b"negative\tfine\nno tab on this line\n", "line 2 is not label<TAB>text"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b'{"text": "x", "label": "negative"}\n{"text": \n', "row 2: not JSON"),
    (b"text\tlabel\nhello\tmaybe\n", "label 'maybe'"),
    (b"negative\t   \n", "no corrections with text"),
])
def test_a_bad_file_is_a_clear_error_and_writes_nothing(tmp_path, content, message):
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(content)
    result = CliRunner().invoke(main, ["train", "--corrections", str(bad), "--data-dir", str(DATA_DIR)],
                                env={"VAR_DIR": str(tmp_path / "var"), "SCORER_MODEL_DIR": None})
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "var").exists()


def test_a_base_model_folder_without_a_model_is_a_clear_error(tmp_path):
    good = tmp_path / "c.tsv"
    good.write_text("negative\twas charged twice\n", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["train", "--corrections", str(good), "--data-dir", str(DATA_DIR),
                                       "--base-model", str(empty), "--out", str(tmp_path / "out")],
                                env={"VAR_DIR": str(tmp_path / "var"), "SCORER_MODEL_DIR": None})
    assert result.exit_code == 1 and "no model to adapt there" in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_correction_options_without_corrections_are_refused_before_training(tmp_path):
    for extra in (["--base-model", str(MODEL_DIR)], ["--correction-weight", "3"]):
        result = CliRunner().invoke(main, ["train", "--data-dir", str(DATA_DIR), "--out", str(tmp_path / "m")] + extra)
        assert result.exit_code == 2 and "go with --corrections FILE" in result.output, result.output
    assert not (tmp_path / "m").exists()


def test_refuses_to_overwrite_the_packaged_model_or_other_folders(tmp_path):
    good = tmp_path / "c.tsv"
    good.write_text("negative\twas charged twice\n", encoding="utf-8")
    shipped = {p.name: p.stat().st_mtime_ns for p in MODEL_DIR.iterdir()}
    args = ["train", "--corrections", str(good), "--data-dir", str(DATA_DIR)]
    for env, extra in (({"SCORER_MODEL_DIR": str(MODEL_DIR)}, []), ({}, ["--out", str(MODEL_DIR)]),
                       ({}, ["--out", str(MODEL_DIR / "sub")])):
        result = CliRunner().invoke(main, args + extra, env={"VAR_DIR": str(tmp_path / "var"), **env})
        assert result.exit_code == 1 and "refusing to overwrite it" in result.output, result.output
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, args + ["--out", str(other)], env={"VAR_DIR": str(tmp_path / "var")})
    assert result.exit_code == 1 and "not a model adapted to corrections" in result.output
    assert [p.name for p in other.iterdir()] == ["keep.txt"]
    assert {p.name: p.stat().st_mtime_ns for p in MODEL_DIR.iterdir()} == shipped
    with pytest.raises(CorrectionsError):
        check_output(tmp_path / "m", tmp_path / "m")  # nor the base given


def test_the_weight_is_chosen_by_cross_validation_on_the_corrections():
    import numpy as np

    rng = np.random.default_rng(3)
    centres = {"negative": [-2.0, 0.0], "neutral": [0.0, 0.0], "positive": [2.0, 0.0]}
    base_y = [k for k in centres for _ in range(60)]
    base_x = np.array([centres[k] for k in base_y]) + rng.normal(0, 0.6, (180, 2))
    # this business's messages: the class is told by the second feature, which the base data never uses
    y = [k for k in centres for _ in range(15)]
    x = np.array([[0.0, {"negative": -2.0, "neutral": 0.0, "positive": 2.0}[k]] for k in y]) + rng.normal(0, 0.3, (45, 2))
    weight, scores = choose_weight(base_x, base_y, np.ones(180), x, y, 1.0, [0.0, 0.0, 0.0], log=lambda _: None)
    assert set(scores) == set(WEIGHTS)
    assert weight == min(w for w in WEIGHTS if scores[w] >= max(scores.values()) - TIE)  # ties: the smaller
    assert scores[weight] > scores[min(WEIGHTS)] and weight > min(WEIGHTS)
    few = choose_weight(base_x, base_y, np.ones(180), x[:5], y[:5], 1.0, [0.0, 0.0, 0.0], log=lambda _: None)
    assert few == (DEFAULT_WEIGHT, {})
