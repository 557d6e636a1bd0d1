"""Sentence embeddings in token-bounded batches: every text keeps its own vector, in order, whatever the mix."""
from __future__ import annotations

import numpy as np

from scoring import embeddings
from scoring.batching import token_bounded


def test_a_mixed_batch_gives_each_text_the_vector_it_gets_alone():
    texts = ["ok", "", "the technician never came and nobody called to say why " * 12, "thanks!",
             "please cancel my plan at the end of the month, we are moving away"]
    together = embeddings.encode(texts, batch_size=2)
    alone = np.vstack([embeddings.encode([text]) for text in texts])
    assert together.shape == (len(texts), 384)
    assert np.allclose(together, alone, atol=1e-4)


def test_long_texts_go_in_smaller_batches():
    texts = ["short"] * 8 + ["a long sentence " * 40] * 8
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches = token_bounded(order, texts, size=8, max_tokens=256)
    assert sorted(i for batch in batches for i in batch) == list(range(len(texts)))
    assert max(len(batch) for batch in batches if texts[batch[0]].startswith("a long")) < 8
