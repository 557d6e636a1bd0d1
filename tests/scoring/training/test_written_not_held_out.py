"""No written training message copies a held-out example.

Issue 14 quotes examples from the team's held-out sets (informal SMS, messages to businesses) that are not in
business_messages dev. They measure the shipped model later, so nothing may be trained on them or on a near copy.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from scoring.training.evaluation import read_table

WRITTEN = Path(__file__).resolve().parents[3] / "scoring" / "training" / "written"
HELD_OUT_QUOTES = [
    "Then u drive lor.",
    "How heavy is my stuff",
    "Morning, I am in bus still sleeping?",
    "I've left 3 voicemails today. CALL ME BACK",
    "this is the, what, fifth time I'm calling?",
    "want the shipping fee back",
    "booked at Luxe Studio instead",
    "Skyline Fiber is offering",
    "please stop the weekly mowing after the 20th",
]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def near_copy(row: str, quote: str) -> bool:
    """The two mostly the same words (Jaccard), or nearly all of a longer quote's words in the row (containment:
    a short quote's few words are common phrasing, "want the ... fee back")."""
    mine, theirs = words(row), words(quote)
    shared = len(mine & theirs)
    return shared / len(mine | theirs) >= 0.5 or (len(theirs) >= 6 and shared / len(theirs) >= 0.8)


def test_the_check_catches_the_copies_it_is_for():
    assert near_copy("Then u drive lor. I meet u there", "Then u drive lor.")
    assert near_copy("I've left 4 voicemails today. CALL ME BACK", "I've left 3 voicemails today. CALL ME BACK")
    assert not near_copy("how heavy can the boxes be", "How heavy is my stuff")


@pytest.mark.parametrize("name", ["messages.tsv", "sentiment.tsv", "neutral.tsv", "escalations.tsv", "escalations_more.tsv"])
def test_no_written_message_is_a_near_copy_of_a_held_out_example(name):
    rows = read_table(WRITTEN / name)
    assert rows
    copies = [(row["text"], quote) for row in rows for quote in HELD_OUT_QUOTES if near_copy(row["text"], quote)]
    assert copies == []
