"""Read labelled sentiment data and measure a scorer against it, in plain Python.

Formats understood by `read_labelled`:

* SemEval 2017 task 4A: ``id<TAB>label<TAB>text`` with labels negative/neutral/positive.
  Literal ``\\uXXXX`` escapes (the 2013/2015 files have them) are decoded, and a repeated
  id within one file keeps its first row (the data set's README asks for de-duplication).
* ``label text`` lines: SST-5 (0..4), SST-2 and the customer-review set (0/1).
  SST-5 maps 0,1 -> negative, 2 -> neutral, 3,4 -> positive, or with ``levels=5`` to the
  five intensity bands of `scoring.base.INTENSITIES`; binary sets map 0/1 -> negative/positive.
  Rows with no text (custrev.all has four) are skipped.
* JSON Lines: one object per line with ``text`` and ``label`` (a label name: negative/neutral/positive,
  or with ``levels=5`` one of `scoring.base.INTENSITIES`); other keys (``id``...) are ignored.
* Two-column TSV: ``label<TAB>text`` or ``text<TAB>label`` with label names as for JSON Lines.
* TSV with a header row naming a ``label`` and a ``text`` column (e.g. ``business_messages_dev.tsv``:
  label, channel, business, escalation, text); `read_table` returns its rows as dicts.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Sequence

from scoring.base import INTENSITIES, LABELS, Scorer

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
FIVE_TO_THREE = {"0": "negative", "1": "negative", "2": "neutral", "3": "positive", "4": "positive"}
FIVE_TO_INTENSITY = {str(i): name for i, name in enumerate(INTENSITIES)}
BINARY_TO_THREE = {"0": "negative", "1": "positive"}


def decode_escapes(text: str) -> str:
    """Turn literal ``\\uXXXX`` escapes into characters (surrogate pairs joined)."""
    if "\\u" not in text:
        return text
    decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return decoded.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def read_labelled(path: str | Path, levels: int = 3) -> tuple[list[str], list[str]]:
    """Texts and gold labels from one labelled file, format detected from its content."""
    lines = [line.rstrip("\r\n") for line in Path(path).read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line.strip()]
    if lines and lines[0].lstrip().startswith("{"):
        return _read_named(_jsonl_rows(lines), levels)
    if lines and _is_header(lines[0]):
        rows = read_table(path)
        return _read_named(((n, row["label"], row["text"]) for n, row in enumerate(rows, 2)), levels)
    if lines and lines[0].count("\t") == 1:
        return _read_named(_tsv_rows(lines, levels), levels)
    if lines and lines[0].count("\t") >= 2:
        if levels != 3:
            raise ValueError("SemEval data has three classes only")
        return _read_semeval(lines)
    return _read_spaced(lines, levels)


def _is_header(line: str) -> bool:
    """A TSV header row: tab-separated column names including ``label`` and ``text``."""
    columns = [c.strip() for c in line.split("\t")]
    return len(columns) >= 2 and {"label", "text"} <= set(columns)


def read_table(path: str | Path) -> list[dict[str, str]]:
    """Rows of a TSV file with a header row (which must name ``label`` and ``text``) as dicts; ValueError if not."""
    lines = [line.rstrip("\r\n") for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines or not _is_header(lines[0]):
        raise ValueError(f"{path}: no header row naming 'label' and 'text' columns")
    columns = [c.strip() for c in lines[0].split("\t")]
    rows = []
    for number, line in enumerate(lines[1:], 2):
        cells = line.split("\t")
        if len(cells) != len(columns):
            raise ValueError(f"row {number}: {len(cells)} columns, the header has {len(columns)}")
        rows.append(dict(zip(columns, (c.strip() for c in cells))))
    return rows


def _read_semeval(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """Rows of ``id<TAB>label<TAB>text``; the first row of a repeated id wins."""
    texts, labels, seen = [], [], set()
    for line in lines:
        row_id, label, text = line.split("\t", 2)
        if row_id in seen or not text.strip():
            continue
        if label not in LABELS:
            raise ValueError(f"unknown SemEval label {label!r}")
        seen.add(row_id)
        texts.append(decode_escapes(text.strip()))
        labels.append(label)
    return texts, labels


def _jsonl_rows(lines: Sequence[str]) -> Iterable[tuple[int, str, str]]:
    """(line number, label, text) of JSON Lines rows; ValueError naming the line if one is malformed."""
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"row {number}: not JSON ({error.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not isinstance(row.get("label"), str):
            raise ValueError(f"row {number}: need an object with string 'text' and 'label'")
        yield number, row["label"], row["text"]


def _tsv_rows(lines: Sequence[str], levels: int) -> Iterable[tuple[int, str, str]]:
    """(line number, label, text) of two-column TSV rows, label first or last (told by the first row)."""
    names = set(LABELS if levels == 3 else INTENSITIES)
    label_first = lines[0].split("\t", 1)[0].strip() in names
    for number, line in enumerate(lines, 1):
        first, _, second = line.partition("\t")
        yield (number, first.strip(), second) if label_first else (number, second.strip(), first)


def _read_named(rows: Iterable[tuple[int, str, str]], levels: int) -> tuple[list[str], list[str]]:
    """Texts and labels from rows whose labels are names; rows with no text are skipped."""
    names = LABELS if levels == 3 else INTENSITIES if levels == 5 else ()
    if not names:
        raise ValueError(f"levels={levels} not meaningful for named labels")
    texts, labels = [], []
    for number, label, text in rows:
        if label not in names:
            raise ValueError(f"row {number}: label {label!r} not in {names}")
        if text.strip():
            texts.append(text.strip())
            labels.append(label)
    return texts, labels


def _read_spaced(lines: Sequence[str], levels: int) -> tuple[list[str], list[str]]:
    """Rows of ``label text``; the label set (0/1 or 0..4) decides the mapping."""
    pairs = [(label, text.strip()) for label, _, text in (line.partition(" ") for line in lines)]
    pairs = [(label, text) for label, text in pairs if text]
    raw = {label for label, _ in pairs}
    mapping = _mapping_for(raw, levels)
    unknown = raw - mapping.keys()
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} not in mapping {sorted(mapping)}")
    return [text for _, text in pairs], [mapping[label] for label, _ in pairs]


def _mapping_for(raw_labels: set[str], levels: int) -> dict[str, str]:
    """Label mapping for a ``label text`` file: binary when only 0/1 occur, else five levels."""
    binary = raw_labels <= {"0", "1"}
    if levels == 3:
        return BINARY_TO_THREE if binary else FIVE_TO_THREE
    if levels == 5 and not binary:
        return FIVE_TO_INTENSITY
    raise ValueError(f"levels={levels} not meaningful for labels {sorted(raw_labels)}")


def metrics(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and a confusion matrix.

    Macro-F1 averages over `labels`, by default the classes present in `gold`, so a
    three-class scorer on binary data is not charged an F1 of 0 for a class no one asked for;
    its neutral predictions still count as misses. Undefined ratios (0/0) count as 0.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    averaged = list(labels) if labels is not None else _ordered(set(gold))
    shown = _ordered(set(gold) | set(predicted) | set(averaged))
    confusion = {g: {p: 0 for p in shown} for g in shown}
    for g, p in zip(gold, predicted):
        confusion[g][p] += 1
    per_class = {label: _class_scores(confusion, label) for label in shown}
    correct = sum(confusion[label][label] for label in shown)
    return {
        "n": len(gold),
        "accuracy": correct / len(gold) if gold else 0.0,
        "macro_f1": sum(per_class[label]["f1"] for label in averaged) / len(averaged) if averaged else 0.0,
        "labels": averaged,
        "per_class": per_class,
        "confusion": confusion,
    }


def _class_scores(confusion: dict[str, dict[str, int]], label: str) -> dict[str, float]:
    """Precision, recall, F1 and support of one class from a gold -> predicted count table."""
    tp = confusion[label][label]
    predicted = sum(row[label] for row in confusion.values())
    support = sum(confusion[label].values())
    precision = tp / predicted if predicted else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def _ordered(labels: set[str]) -> list[str]:
    """Known names in intensity order (which keeps negative < neutral < positive), others sorted after."""
    known = [name for name in INTENSITIES if name in labels]
    return known + sorted(labels - set(known))


def evaluate(
    scorer: Scorer,
    texts: Sequence[str],
    gold_labels: Sequence[str],
    field: str = "label",
    labels: Sequence[str] | None = None,
) -> dict:
    """Score `texts` with `scorer` and compare one Score field (label or intensity) to gold."""
    if len(texts) != len(gold_labels):
        raise ValueError(f"{len(texts)} texts but {len(gold_labels)} gold labels")
    scores = scorer.score(list(texts))
    return metrics(list(gold_labels), [getattr(s, field) for s in scores], labels)
