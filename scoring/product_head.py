"""The product head: the flair scorer's decision for messages customers send to businesses.

A multinomial logistic regression over what the fine-tuned encoder already computes for every text (its
mean-pooled vector and the log of the classifier's three probabilities), trained by `undertone train-head`
on the messages written to the labelling guideline plus a sample of the tweets and reviews the encoder was
trained on. Then a per-class bias (the operating point: see the cost model in MODEL_CARD.md) and a
temperature (so that `confidence` means what it says) are applied:

    p = softmax((W [v, log q] + b + bias) / T)

T is one number, or (head v3, `temperature_model`) one per text: T = exp(a + b * s), where
s = sigmoid(u . [v, log q] + c) is how much the text looks like a tweet rather than a message to a business
(a logistic regression trained on the head's own training texts: the written messages against the sampled
SemEval tweets), and a, b are chosen by likelihood on the dev mix. The head was trained mostly for messages to
businesses and is overconfident on tweets; one temperature could not serve both. Dividing a row's logits by a
positive number never changes its argmax, so the label (and every F1, precision and recall) does not depend on T.

It costs two small matrix products per batch; numpy only. Stored as JSON beside the adapters
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
    temperature_model: dict | None = None  # {"direction": [d + 3], "offset": c, "log_temperature": [a, b]}

    @classmethod
    def load(cls, path: str | Path) -> "ProductHead":
        import numpy as np

        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(np.asarray(document["weights"], dtype=np.float64), np.asarray(document["intercept"], dtype=np.float64),
                   tuple(document["bias"]), float(document["temperature"]), document.get("temperature_model"))

    def logits(self, vectors, probs):
        """The head's raw logits (before bias and temperature)."""
        return head_features(vectors, probs) @ self.weights.T + self.intercept

    def temperatures(self, features):
        """One temperature per row of head features (a column), from `temperature_model`, else the one number."""
        import numpy as np

        if not self.temperature_model:
            return np.full((len(features), 1), self.temperature)
        return text_temperatures(features, self.temperature_model)[:, None]

    def probabilities(self, vectors, probs, bias=None, temperature: float | None = None):
        """Adjusted class probabilities (rows in LABELS order); `temperature` overrides the head's own."""
        import numpy as np

        features = head_features(vectors, probs)
        z = features @ self.weights.T + self.intercept + np.asarray(self.bias if bias is None else bias)
        z = z / (temperature or self.temperatures(features))
        z -= z.max(axis=1, keepdims=True)
        out = np.exp(z)
        return out / out.sum(axis=1, keepdims=True)


def tweet_likeness(features, model: dict):
    """s in (0, 1) per row: the temperature model's logistic score of a text looking like a tweet."""
    import numpy as np

    score = np.asarray(features, dtype=np.float64) @ np.asarray(model["direction"], dtype=np.float64) + model["offset"]
    return 1.0 / (1.0 + np.exp(-np.clip(score, -30.0, 30.0)))


def text_temperatures(features, model: dict):
    """T = exp(a + b * s) per row (`tweet_likeness`), with (a, b) = model["log_temperature"]."""
    import numpy as np

    a, b = model["log_temperature"]
    return np.exp(a + b * tweet_likeness(features, model))


def save(path: str | Path, weights, intercept, bias, temperature: float, about: dict,
         temperature_model: dict | None = None) -> None:
    """Write a head as JSON (weights rounded to 6 decimals)."""
    document = {"format": 1, "weights": [[round(float(w), 6) for w in row] for row in weights],
                "intercept": [round(float(v), 6) for v in intercept], "bias": [round(float(v), 3) for v in bias],
                "temperature": round(float(temperature), 3), "about": about}
    if temperature_model:
        document["temperature_model"] = {
            "direction": [round(float(w), 6) for w in temperature_model["direction"]],
            "offset": round(float(temperature_model["offset"]), 6),
            "log_temperature": [round(float(v), 4) for v in temperature_model["log_temperature"]]}
    Path(path).write_text(json.dumps(document) + "\n", encoding="utf-8")
