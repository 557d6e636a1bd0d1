"""Bounded mini-batches for the transformer passes, and handing freed activations back to the OS.

Both the fine-tuned classifier (`scoring.flair_scorer`) and the sentence embeddings (`scoring.embeddings`) run
MiniLM over batches of texts. A batch's activations grow with texts x padded tokens (attention with its square), so
a batch is bounded by tokens as well as by texts; and glibc keeps freed large blocks on the heap unless asked to
hand them back. A worker scoring a batch of pending events (issue 9) sends both many texts at once: without these
bounds its peak memory rose above the 1 GB target.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

TOKENS_PER_TEXT = 40  # the padded tokens a batch of `size` texts may hold on average (short messages: 10 to 40)


def token_bounded(order: list[int], texts: Sequence[str], size: int, max_tokens: int) -> list[list[int]]:
    """Mini-batches of `order` (indexes sorted by length): at most `size` texts and about
    `size` x 40 tokens of padded input each, so long texts go in smaller batches and the
    activations of one batch stay bounded (a token is about 4 characters; truncation caps it)."""
    budget, batches, batch = size * TOKENS_PER_TEXT, [], []
    for index in order:
        tokens = min(len(texts[index]) // 4 + 2, max_tokens)  # the longest so far: order is ascending
        if batch and (len(batch) == size or (len(batch) + 1) * tokens > budget):
            batches.append(batch)
            batch = []
        batch.append(index)
    return batches + [batch] * bool(batch)


def release_freed_memory() -> None:
    """Hand the heap's free memory back to the OS (glibc's malloc_trim; skipped elsewhere).

    A batch's activations are large blocks that glibc keeps on the heap once freed: without this,
    a process's RSS grew from about 690 MB to about 1 GB while scoring 2,000 tweets and stayed
    there (bench/scorer_speed.py). A trim with little to hand back takes well under a millisecond.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's malloc_trim, or None where the C library is not glibc."""
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
