"""The scorer factory: a scorer by name, as workers and the `score`/`evaluate` commands build it."""
from __future__ import annotations

SCORERS = ("lexicon", "flair", "ensemble")
DEFAULT_SCORER = "ensemble"


def make_scorer(name: str, model_dir: str | None = None, threads: int | None = None):
    """A scorer by name; flair and ensemble use `model_dir` (default: the shipped model) and `threads` torch
    threads (default: UNDERTONE_TORCH_THREADS, else one per CPU).

    Imports are deferred so that choosing the lexicon scorer never loads torch.
    """
    if name == "lexicon":
        from scoring.lexicon import LexiconScorer

        return LexiconScorer()
    from scoring.flair_scorer import EnsembleScorer, FlairScorer

    if name not in SCORERS:
        raise ValueError(f"unknown scorer {name!r}; choose one of {', '.join(SCORERS)}")
    flair = FlairScorer(model_dir, threads=threads)
    return flair if name == "flair" else EnsembleScorer(flair)
