"""The messages we wrote ourselves, to the business-messages labelling guideline, as training data.

`scoring/training/written/messages.tsv` (header: label, channel, business, escalation, text; see the README
beside it) holds hand-written messages; some carry slots (`{name}`, `{day}`, `{time}`, `{rival}`, `{nth}`,
`{count}`) that `load_written` fills from the small lists below, several times with different fills, so one
pattern does not teach one invented company name. `escalation` may name several kinds, comma-separated; the
first by the guideline's precedence is the row's kind, the others are also present in the text.
"""
from __future__ import annotations

import random
import re
from pathlib import Path

from scoring.training.evaluation import read_table
from scoring.training.product_metrics import PRECEDENCE

WRITTEN = Path(__file__).with_name("written") / "messages.tsv"
SLOTS = {
    "name": ["Dana", "Luis", "Priya", "Mark", "Keisha", "Tom", "Ana", "Wei", "Jordan", "Fatima", "Sam", "Olga"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "tmrw", "friday", "the 14th"],
    "time": ["9", "10:30", "2pm", "4:15", "noon", "8am"],
    "rival": ["Brightline Plumbing", "Apex Dental", "Northside Auto", "Comcast", "Verizon", "Planet Fitness",
              "Velvet Hair Co", "Clearwave Internet", "GreenLeaf Lawn", "Orkin", "Two Men and a Truck", "Mr. Rooter",
              "Bark & Co", "Summit HVAC", "Maple Street Dental", "Quickbooks", "State Farm", "Molly Maid",
              "the place on 5th", "Ridgeview Vet", "Jiffy Lube", "FreshCut Salon", "Allied", "Harbor Realty"],
    "nth": ["third", "fourth", "fifth", "sixth", "4th", "5th"],
    "count": ["three", "four", "five", "6", "7"],
}
_SLOT = re.compile(r"\{(\w+)\}")


def kinds(value: str) -> list[str]:
    """The escalation kinds of a row's `escalation` cell, in the guideline's precedence."""
    named = [k.strip() for k in value.split(",") if k.strip()]
    return sorted(named, key=lambda k: PRECEDENCE.index(k) if k in PRECEDENCE else len(PRECEDENCE))


def load_written(path: str | Path | None = None, copies: int = 3, seed: int = 13) -> list[dict]:
    """Rows of the written messages with slots filled: a row with slots appears `copies` times, each
    filled at random (seeded); `kinds` lists every escalation kind, `escalation` the first by precedence."""
    rng = random.Random(seed)
    out = []
    for number, row in enumerate(read_table(path or WRITTEN)):
        found = kinds(row.get("escalation", ""))
        unknown = set(found) - set(PRECEDENCE)
        if unknown:
            raise ValueError(f"unknown escalation kind(s) {sorted(unknown)} in {row['text']!r}")
        base = {**row, "kinds": found, "escalation": found[0] if found else "", "source": number}
        slots = _SLOT.findall(row["text"])
        missing = set(slots) - SLOTS.keys()
        if missing:
            raise ValueError(f"unknown slot(s) {sorted(missing)} in {row['text']!r}")
        if not slots:
            out.append(base)
            continue
        texts = set()
        for _ in range(copies):
            text = _SLOT.sub(lambda m: rng.choice(SLOTS[m.group(1)]), row["text"])
            if text not in texts:
                texts.add(text)
                out.append({**base, "text": text})
    return out
