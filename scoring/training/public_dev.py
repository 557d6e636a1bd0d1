"""Public labelled dev sets of short, conversational text (issue 14): where each comes from, how it is turned
into the project's format, and how `undertone evaluate --public-dev DIR` finds them.

The data never enters the repository: `bench/public_dev.py` reads each pinned file out of a local mirror of its
GitHub repository (`git show COMMIT:PATH`, checked against the recorded SHA-256) and writes DIR (by default
`var/public_dev/`). CI has no mirror and no DIR; the sets are then skipped.

Layout of DIR: one subfolder per set holding `dev.jsonl` (one ``{"id", "text", "label"}`` object per line, label
negative/neutral/positive, readable by `scoring.training.evaluation.read_labelled`) and `SOURCE.txt` (repository,
commit, path, SHA-256, licence). Subfolders without `dev.jsonl` are ignored, so a half-written set is not scored.

These are DEV sets: nothing is trained or chosen on them; they are reported beside the business and SemEval dev rows.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from scoring.base import LABELS

PUBLIC_DEV_ENV = "UNDERTONE_PUBLIC_DEV"
DATA_FILE = "dev.jsonl"
SOURCE_FILE = "SOURCE.txt"
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class PublicSet:
    """One public labelled file: its GitHub source (pinned) and which CSV columns hold text, label and id."""

    name: str
    repo: str
    commit: str
    path: str
    sha256: str
    licence: str
    about: str
    text_column: str
    label_column: str
    id_column: str | None = None


SETS = (
    PublicSet(
        name="meld_dev",
        repo="declare-lab/MELD",
        commit="2d2011b409d3ca2d7e94460cd007d434b1d0a102",
        path="data/MELD/dev_sent_emo.csv",
        sha256="2e89c6f8aa182d6f62f8c6331aece905ac7273ca4999660bfb5213e1d0370c1c",
        licence="GPL-3.0 (the repository's LICENSE; utterances are from the Friends TV scripts)",
        about="MELD dev split: utterances of multi-party dialogue with a sentiment label per utterance "
              "(Poria et al., ACL 2019); the train and test splits are not used",
        text_column="Utterance",
        label_column="Sentiment",
    ),
    PublicSet(
        name="airline_tweets",
        repo="Ramlah0/Twitter-US-Airline-Sentiment-Analysis",
        commit="b485e56d824c0c0c0ed573932a98db309523bc75",
        path="Tweets.csv",
        sha256="459a0a7259369f3c831bb9adba509703c76b0e3707614b1be65883bc8e6bab9e",
        licence="CC BY-NC-SA 4.0 (Figure Eight 'Data for Everyone', as published on Kaggle "
                "crowdflower/twitter-airline-sentiment); this re-upload's repository states no licence of its own",
        about="Twitter US Airline Sentiment: customers' tweets to six US airlines, February 2015, crowd-labelled "
              "negative/neutral/positive; a re-upload with the original 19-digit tweet ids and the original label "
              "counts (9,178 / 3,099 / 2,363); repeated tweet ids keep their first row",
        text_column="text",
        label_column="airline_sentiment",
        id_column="tweet_id",
    ),
)


def convert(spec: PublicSet, csv_text: str) -> list[dict[str, str]]:
    """Rows ``{"id", "text", "label"}`` of one source CSV: whitespace runs made single spaces, labels lower-cased
    and checked, rows without text skipped, a repeated id keeping its first row; ValueError naming a bad row."""
    reader = csv.DictReader(io.StringIO(csv_text))
    missing = {spec.text_column, spec.label_column, spec.id_column} - {None} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"{spec.name}: columns {sorted(missing)} not in the CSV header")
    rows, seen = [], set()
    for number, row in enumerate(reader, 2):
        label = (row[spec.label_column] or "").strip().lower()
        if label not in LABELS:
            raise ValueError(f"{spec.name} row {number}: label {label!r} not in {LABELS}")
        text = _SPACE.sub(" ", row[spec.text_column] or "").strip()
        row_id = row[spec.id_column].strip() if spec.id_column else str(number - 1)
        if not text or row_id in seen:
            continue
        seen.add(row_id)
        rows.append({"id": row_id, "text": text, "label": label})
    return rows


def write_set(spec: PublicSet, data: bytes, out_dir: str | Path) -> Path:
    """Check `data` (the source file's bytes) against the pinned SHA-256 when one is recorded, convert it and
    write OUT_DIR/<name>/dev.jsonl and SOURCE.txt; the set's folder."""
    digest = hashlib.sha256(data).hexdigest()
    if spec.sha256 and digest != spec.sha256:
        raise ValueError(f"{spec.name}: {spec.repo}@{spec.commit[:12]}:{spec.path} has SHA-256 {digest}, "
                         f"not the pinned {spec.sha256}")
    rows = convert(spec, data.decode("utf-8-sig"))
    folder = Path(out_dir) / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    counts = {label: sum(1 for r in rows if r["label"] == label) for label in LABELS}
    (folder / SOURCE_FILE).write_text(
        f"{spec.about}\nrepository: https://github.com/{spec.repo}\ncommit: {spec.commit}\npath: {spec.path}\n"
        f"sha256: {digest}\nlicence: {spec.licence}\nrows: {len(rows)} {counts}\n"
        "DEV ONLY: nothing is trained or chosen on this set; do not commit it.\n", encoding="utf-8")
    partial = folder / (DATA_FILE + ".partial")
    partial.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    partial.replace(folder / DATA_FILE)
    return folder


def find_sets(directory: str | Path) -> dict[str, str]:
    """``{"public <subfolder>": path of its dev.jsonl}`` for every subfolder of `directory` that has one, sorted
    by name; empty when `directory` does not exist (CI has no copy)."""
    root = Path(directory)
    if not root.is_dir():
        return {}
    return {f"public {sub.name}": str(sub / DATA_FILE)
            for sub in sorted(root.iterdir()) if (sub / DATA_FILE).is_file()}
