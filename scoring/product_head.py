"""The product head: the flair scorer's decision for messages customers send to businesses.

A multinomial logistic regression over what the fine-tuned encoder already computes for every text (its
mean-pooled vector and the log of the classifier's three probabilities), trained by `undertone train-head`
on the messages written to the labelling guideline plus a sample of the tweets and reviews the encoder was
trained on. Then a per-class bias (the operating point: see the cost model in MODEL_CARD.md) and a
temperature (so that `confidence` means what it says) are applied:

    p = softmax((W [v, log q] + b + bias) / T)

It costs one small matrix product per batch; numpy only. Stored as JSON beside the adapters
(`scoring/model/product_head.json`, named by the artifact's config key `product_head`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


def head_features(vectors, probs):
    """The head's input, one row per text: the pooled vector beside the log of the three probabilities."""
    import numpy as np

    return np.hstack([np.asarray(vectors, dtype=np.float64), np.log(np.clip(probs, 1e-9, 1.0))])


@dataclass(frozen=True)
class ProductHead:
    weights: object  # (3, d + 3) numpy array, rows in LABELS order
    intercept: object  # (3,)
    bias: tuple[float, float, float]
    temperature: float

    @classmethod
    def load(cls, path: str | Path) -> "ProductHead":
        import numpy as np

        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(np.asarray(document["weights"], dtype=np.float64), np.asarray(document["intercept"], dtype=np.float64),
                   tuple(document["bias"]), float(document["temperature"]))

    def logits(self, vectors, probs):
        """The head's raw logits (before bias and temperature)."""
        return head_features(vectors, probs) @ self.weights.T + self.intercept

    def probabilities(self, vectors, probs, bias=None, temperature: float | None = None):
        """Adjusted class probabilities (rows in LABELS order)."""
        import numpy as np

        z = (self.logits(vectors, probs) + np.asarray(self.bias if bias is None else bias)) / (temperature or self.temperature)
        z -= z.max(axis=1, keepdims=True)
        out = np.exp(z)
        return out / out.sum(axis=1, keepdims=True)


def save(path: str | Path, weights, intercept, bias, temperature: float, about: dict) -> None:
    """Write a head as JSON (weights rounded to 6 decimals)."""
    document = {"format": 1, "weights": [[round(float(w), 6) for w in row] for row in weights],
                "intercept": [round(float(v), 6) for v in intercept], "bias": [round(float(v), 3) for v in bias],
                "temperature": round(float(temperature), 3), "about": about}
    Path(path).write_text(json.dumps(document) + "\n", encoding="utf-8")
