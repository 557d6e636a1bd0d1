"""A learned escalation detector beside the rules: one logistic regression per escalation kind over the
packaged all-MiniLM-L6-v2 sentence embeddings (`scoring.embeddings.encode`, the vectors theme matching uses).

Trained by `undertone train-escalations` on the messages in `scoring/training/written/` (written to the
labelling guideline; never on dev). The artifact `scoring/model/escalation_detector.json` holds, per kind, the
weights, the bias, the decision threshold (chosen per kind on business dev by `train-escalations --dev`; 1.0
switches a kind off where the rules alone do better), and the reason
a person reads. A message is judged whole; the evidence is its sentence that scores highest for the kind.
A cancellation whose message is not confidently negative ("we're moving, please cancel") is still a churn
flag, with priority "low" (`scoring.escalation.is_calm`). numpy only at run time: the embedding function is
injected, as for themes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from scoring.base import Score
from scoring.escalation import EVIDENCE_CHARS, LEARNED_PREFIX, Flag, is_calm

DEFAULT_PATH = Path(__file__).with_name("model") / "escalation_detector.json"
REASONS = {
    "cancel": "intent to cancel or leave", "competitor": "mentioned a competitor or switching",
    "refund": "asked for a refund", "chargeback": "threat of a chargeback",
    "legal": "threat of legal action", "bad_review": "threat of a bad review",
    "manager": "asked for a manager", "repeat_contact": "has contacted us several times",
}
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
Embed = Callable[[Sequence[str]], "object"]


@dataclass
class EscalationDetector:
    """Per-kind linear models over sentence embeddings; `detect` returns the flags of one interaction."""

    kinds: dict[str, dict]  # kind -> {"weights": [...], "bias": b, "threshold": t, "reason": "..."}
    embed: Embed

    @classmethod
    def load(cls, embed: Embed, path: str | Path | None = None) -> "EscalationDetector":
        """The trained artifact; FileNotFoundError if there is none."""
        document = json.loads(Path(path or DEFAULT_PATH).read_text(encoding="utf-8"))
        return cls(document["kinds"], embed)

    def probabilities(self, texts: Sequence[str]):
        """(texts x kinds) probabilities, columns in the order of `self.kinds`."""
        import numpy as np

        vectors = np.asarray(self.embed(list(texts)), dtype=np.float64)
        weights = np.array([k["weights"] for k in self.kinds.values()], dtype=np.float64)
        biases = np.array([k["bias"] for k in self.kinds.values()], dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-(vectors @ weights.T + biases)))

    def pieces(self, customer_texts: Sequence[str]) -> list[str]:
        """What `detect` embeds for these texts (a batch embeds them ahead, in one call)."""
        return _split(customer_texts)[2]

    def using(self, embed: Embed) -> "EscalationDetector":
        """The same detector with another embedding function (e.g. one that looks up vectors computed ahead)."""
        return replace(self, embed=embed)

    def detect(self, customer_texts: Sequence[str], overall: Score | None = None) -> list[Flag]:
        """One flag per kind whose probability on any customer text reaches its threshold."""
        texts, sentences, pieces = _split(customer_texts)
        if not texts:
            return []
        probs = self.probabilities(pieces)
        flags = []
        for column, (kind, model) in enumerate(self.kinds.items()):
            row = int(probs[:len(texts), column].argmax())
            if model["threshold"] >= 1.0 or probs[row, column] < model["threshold"]:  # 1.0: off for this kind
                continue
            evidence = self._evidence(texts[row], sentences[row], pieces, probs[:, column])
            calm = kind == "cancel" and overall is not None and is_calm(overall)
            flags.append(Flag(LEARNED_PREFIX + kind, model.get("reason", REASONS.get(kind, kind)),
                              evidence[:EVIDENCE_CHARS], "low" if calm else "high"))
        return flags

    @staticmethod
    def _evidence(text: str, sentences: list[str], pieces: list[str], column) -> str:
        """The sentence of `text` that scores highest for the kind (the text itself when it has one sentence)."""
        if len(sentences) < 2:
            return text.strip()
        scored = [(float(column[pieces.index(s)]), s) for s in sentences]
        return max(scored)[1]


def _split(customer_texts: Sequence[str]) -> tuple[list[str], list[list[str]], list[str]]:
    """(the non-blank texts, each text's sentences, the pieces embedded: the texts, then the sentences of each
    text that has more than one)."""
    texts = [t for t in customer_texts if t and t.strip()]
    sentences = [[s.strip() for s in _SENTENCE.findall(t) if s.strip()] or [t.strip()] for t in texts]
    return texts, sentences, texts + [s for group in sentences if len(group) > 1 for s in group]


def load_default(embed: Embed) -> EscalationDetector | None:
    """The shipped detector with `embed`, or None when the artifact is absent (rules alone then)."""
    return EscalationDetector.load(embed) if DEFAULT_PATH.is_file() else None
