"""`undertone train --full-finetune`: every encoder weight trained, saved in fp16 and loaded back by the scorer
(a tiny `--quick` run trained here); the shipped LoRA artifact keeps loading as before."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("flair")
pytest.importorskip("peft")

from click.testing import CliRunner  # noqa: E402

from scoring.flair_scorer import (  # noqa: E402
    MODEL_DIR,
    WEIGHTS_FILE,
    ArtifactMissing,
    FlairScorer,
    build_classifier,
    load_classifier,
    read_config,
)
from scoring.training.commands import train  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO.parent / "shared" / "data"
TEXTS = ["I was charged twice and nobody answers", "thanks, all sorted!", "what time do you open", ""]


@pytest.fixture(scope="module")
def full_model(tmp_path_factory) -> Path:
    """`undertone train --quick --full-finetune` into a temporary directory."""
    if not (DATA_DIR / "semeval2017_task4A").is_dir():
        pytest.skip(f"labelled data not at {DATA_DIR}")
    out = tmp_path_factory.mktemp("full")
    result = CliRunner().invoke(train, ["--data-dir", str(DATA_DIR), "--out", str(out), "--quick", "--full-finetune"])
    assert result.exit_code == 0, result.output
    return out


def _encoder_state(classifier) -> dict:
    """The encoder's parameters by name, as fp32 tensors."""
    return {name: param.detach().float().clone() for name, param in classifier.embeddings.model.named_parameters()}


def test_config_and_card_record_full_finetuning(full_model):
    config = read_config(full_model)
    assert config["finetune"] == "full" and config["lora"] is None
    assert config["training"]["lr"] == 1e-4 and "r" not in config["training"]
    card = (full_model / "MODEL_CARD.md").read_text()
    assert "Full fine-tuning (every encoder weight)" in card
    assert "undertone train --data-dir ../shared/data --out scoring/model --seed 13 --quick --full-finetune\n" in card


def test_every_encoder_weight_is_saved_in_fp16(full_model):
    import torch
    from safetensors.torch import load_file

    saved = load_file(str(full_model / WEIGHTS_FILE))
    assert {tensor.dtype for tensor in saved.values()} == {torch.float16}
    base = build_classifier(read_config(full_model))
    expected = {f"embeddings.model.{name}" for name, _ in base.embeddings.model.named_parameters()}
    assert expected <= set(saved) and not any("lora" in name for name in saved)
    assert any(name.startswith("decoder.") for name in saved)
    assert 40_000_000 < (full_model / WEIGHTS_FILE).stat().st_size < 60_000_000  # 22.7M parameters x 2 bytes


def test_scorer_loads_the_trained_encoder_not_the_base_one(full_model):
    from safetensors.torch import load_file

    config = read_config(full_model)
    saved = load_file(str(full_model / WEIGHTS_FILE))
    base = _encoder_state(build_classifier(config))
    classifier, _ = load_classifier(str(full_model.resolve()), False)
    loaded = _encoder_state(classifier)
    assert set(loaded) == set(base)
    for name, tensor in loaded.items():
        assert tensor.equal(saved[f"embeddings.model.{name}"].float()), name
    changed = [name for name in loaded if not loaded[name].equal(base[name])]
    assert len(changed) > len(loaded) // 2  # training moved the encoder itself, and the loader kept that

    scorer = FlairScorer(full_model, quantize=False)
    probs = scorer.probabilities(TEXTS)
    assert probs[:3].sum(axis=1).round(6).tolist() == [1.0, 1.0, 1.0] and probs[3].sum() == 0.0
    assert [s.label for s in scorer.score(TEXTS)][3] == "neutral"
    again = FlairScorer(full_model, batch_size=1, quantize=False).probabilities(TEXTS)
    assert abs(probs - again).max() < 1e-3


def test_weights_of_the_other_kind_are_a_clear_error(full_model, tmp_path):
    lora_config = read_config(MODEL_DIR)
    mixed = tmp_path / "lora-config-full-weights"
    mixed.mkdir()
    (mixed / "config.json").write_text(json.dumps({**lora_config, "product_head": None}))
    shutil.copy(full_model / WEIGHTS_FILE, mixed / WEIGHTS_FILE)
    with pytest.raises(ArtifactMissing, match="does not fit|lacks"):
        FlairScorer(mixed).load()

    other = tmp_path / "full-config-lora-weights"
    other.mkdir()
    (other / "config.json").write_text(json.dumps(read_config(full_model)))
    shutil.copy(MODEL_DIR / WEIGHTS_FILE, other / WEIGHTS_FILE)
    with pytest.raises(ArtifactMissing, match="does not fit"):
        FlairScorer(other).load()


def test_shipped_lora_artifact_still_loads_with_merged_adapters():
    config = read_config(MODEL_DIR)
    assert config["lora"]["r"] == 16 and config.get("finetune", "lora") == "lora"
    classifier, _ = load_classifier(str(MODEL_DIR), False)
    names = [name for name, _ in classifier.embeddings.model.named_parameters()]
    assert names and not any("lora" in name for name in names)  # merged into the plain encoder


def test_lora_rank_does_not_go_with_full_finetuning(tmp_path):
    result = CliRunner().invoke(train, ["--data-dir", str(DATA_DIR), "--out", str(tmp_path), "--quick",
                                        "--full-finetune", "--lora-r", "8"])
    assert result.exit_code != 0 and "--lora-r does not go with --full-finetune" in result.output
