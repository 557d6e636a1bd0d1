"""Memory of a worker process as it runs: the configured analyzer (default: ensemble scorer plus theme
embeddings) loaded as `undertone worker` loads it, then many interactions analysed in batches of `--batch`
(16, as a worker's batch of pending events is; 1: one at a time, as workers did before batching).

Usage: python bench/worker_memory.py [DATA_DIR] [--interactions 3000] [--turns 3] [--batch 16]

Each interaction is `--turns` customer turns taken from the SemEval 2016 dev tweets (unlabelled use
only), analysed as a job does: score, trajectory, escalation flags, themes. Prints VmRSS (now) and
VmHWM (peak) after loading and every 500 interactions; the issue's target is under 1 GB.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--interactions", type=int, default=3000)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16,
                        help="interactions analysed together, as a worker's batch is (PROCESS_BATCH); 1: one at a time")
    args = parser.parse_args()
    # The analyzer needs settings but no database or Redis traffic; point them somewhere harmless.
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tempfile.gettempdir()}/undertone-bench-memory.db")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

    from bench.scorer_speed import memory
    from scoring.escalation import History
    from scoring.training.evaluation import read_labelled
    from workers import context

    context.warm()
    analyzer = context.analyzer()
    analyzer.scorer.load()
    settings = context.runtime().settings
    print(f"scorer {settings.scorer}, theme embeddings {settings.theme_embeddings}; loaded: {memory()}")
    tweets = read_labelled(Path(args.data_dir, "semeval2017_task4A", "twitter-2016dev-A.txt"))[0]
    done = 0
    while done < args.interactions:
        size = min(args.batch, args.interactions - done)
        items = []
        for number in range(done + 1, done + size + 1):
            start = number * args.turns
            turns = [{"speaker": "customer", "text": tweets[(start + k) % len(tweets)]} for k in range(args.turns)]
            items.append((turns, None, History()))
        if size == 1:
            analyzer.analyse(*items[0])
        else:
            analyzer.analyse_many(items)
        before, done = done, done + size
        if done // 500 > before // 500 or done == args.interactions:
            print(f"after {done} interactions: {memory()}  (MB; VmRSS now, VmHWM peak)")

if __name__ == "__main__":
    main()
