"""No written training message nearly copies a business_messages dev message.

Dev chooses the head's bias and temperature and the detector's thresholds, and it is the set whose figures we
report: a training message that is a near copy of a dev message makes those figures flatter the model. The check
is the same near-copy test as for the held-out quotes (test_written_not_held_out.py). Skipped when the team's
shared data is not beside the checkout.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from scoring.training.evaluation import read_table
from tests.scoring.training.test_written_not_held_out import WRITTEN, near_copy

DEV = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "business_messages" / \
    "business_messages_dev.tsv"
TRAINING_FILES = sorted(p.name for p in WRITTEN.glob("*.tsv") if p.name != "escalations_check.tsv")


@pytest.fixture(scope="module")
def dev_texts() -> list[str]:
    if not DEV.is_file():
        pytest.skip(f"{DEV} is not here (the team's shared data)")
    return [row["text"] for row in read_table(DEV)]


def test_every_training_file_is_checked():
    assert {"messages.tsv", "sentiment.tsv", "escalations.tsv", "escalations_more.tsv"} <= set(TRAINING_FILES)


@pytest.mark.parametrize("name", TRAINING_FILES)
def test_no_written_training_message_is_a_near_copy_of_a_dev_message(name, dev_texts):
    rows = read_table(WRITTEN / name)
    assert rows
    copies = [(row["text"], text) for row in rows for text in dev_texts if near_copy(row["text"], text)]
    assert copies == []
