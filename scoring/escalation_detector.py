"""A learned escalation detector beside the rules: one logistic regression per escalation kind over the
packaged all-MiniLM-L6-v2 sentence embeddings (`scoring.embeddings.encode`, the vectors theme matching uses).

Trained by `undertone train-escalations` on the messages in `scoring/training/written/` (written to the
labelling guideline; never on dev). The artifact `scoring/model/escalation_detector.json` holds, per kind, the
weights, the bias, the decision threshold (chosen per kind on business dev by `train-escalations --dev`; 1.0
switches a kind off where the rules alone do better), and the reason a person reads. A message is judged whole
and sentence by sentence: a kind fires when the message or any one of its sentences reaches the threshold (a long
message dilutes a one-sentence escalation), and the evidence is the sentence that scores highest for the kind.
A cancellation whose message is not confidently negative ("we're moving, please cancel") is still a churn flag,
with priority "low" (`scoring.escalation.is_calm`). numpy only at run time: the embedding function is
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
        return _split(_non_blank(customer_texts))[1]

    def using(self, embed: Embed) -> "EscalationDetector":
        """The same detector with another embedding function (e.g. one that looks up vectors computed ahead)."""
        return replace(self, embed=embed)

    def message_probabilities(self, texts: Sequence[str]):
        """(texts x kinds): per text and kind, the highest probability of the text and of each of its sentences;
        and, per text, its sentences and their (sentences x kinds) probabilities, for the evidence."""
        import numpy as np

        sentences, pieces = _split(texts)
        probs = self.probabilities(pieces)
        best, start, per_text = np.array(probs[:len(texts)]), len(texts), []
        for row, group in enumerate(sentences):
            if len(group) > 1:
                block = probs[start:start + len(group)]
                best[row] = np.maximum(best[row], block.max(axis=0))
                start += len(group)
                per_text.append((group, block))
            else:
                per_text.append((group, probs[row:row + 1]))
        return best, per_text

    def detect(self, customer_texts: Sequence[str], overall: Score | None = None) -> list[Flag]:
        """One flag per kind whose probability on any customer text, or any sentence of one, reaches its threshold."""
        texts = _non_blank(customer_texts)
        if not texts:
            return []
        best, per_text = self.message_probabilities(texts)
        flags = []
        for column, (kind, model) in enumerate(self.kinds.items()):
            row = int(best[:, column].argmax())
            if model["threshold"] >= 1.0 or best[row, column] < model["threshold"]:  # 1.0: off for this kind
                continue
            group, block = per_text[row]
            evidence = group[int(block[:, column].argmax())]
            calm = kind == "cancel" and overall is not None and is_calm(overall)
            flags.append(Flag(LEARNED_PREFIX + kind, model.get("reason", REASONS.get(kind, kind)),
                              evidence[:EVIDENCE_CHARS], "low" if calm else "high"))
        return flags


def split_sentences(text: str) -> list[str]:
    """A text's sentences (the text itself when it has none the pattern finds)."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()] or [text.strip()]


def _non_blank(customer_texts: Sequence[str]) -> list[str]:
    """The customer texts that say something, stripped."""
    return [t.strip() for t in customer_texts if t and t.strip()]


def _split(texts: Sequence[str]) -> tuple[list[list[str]], list[str]]:
    """(each text's sentences, the pieces embedded: the texts, then the sentences of each text that has more
    than one)."""
    sentences = [split_sentences(t) for t in texts]
    return sentences, list(texts) + [s for group in sentences if len(group) > 1 for s in group]


def load_default(embed: Embed) -> EscalationDetector | None:
    """The shipped detector with `embed`, or None when the artifact is absent (rules alone then)."""
    return EscalationDetector.load(embed) if DEFAULT_PATH.is_file() else None
