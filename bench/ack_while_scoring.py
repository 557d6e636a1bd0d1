"""How long the web's insert of a delivery waits while a worker scores, on SQLite (issue 9, finding 8).

A worker thread processes pending Quo events with a scorer that takes --score-ms per call (a model
scorer's cost); meanwhile another thread stores deliveries the way the webhook does (`inbox.accept`,
its own connection) every 10 ms and times each. The same run is repeated with the code of another
checkout (--baseline, e.g. /work/main) in a subprocess, and both are printed with their ratio.

    PYTHONPATH=$PWD .venv/bin/python bench/ack_while_scoring.py [--events 40] [--score-ms 50] [--baseline /work/main]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "quo" / "message_received.json"


def measure(events: int, score_ms: float) -> dict:
    """Run the worker and the inserting thread in this process (with whatever code is on sys.path)."""
    from connectors.base import InboundEvent
    from integration.pipeline import processing
    from integration.store import inbox
    from integration.store.db import Database
    from integration.store.migrate import upgrade
    from scoring.analysis import Analyzer
    from scoring.lexicon import LexiconScorer

    class SlowScorer(LexiconScorer):
        def score(self, texts):
            time.sleep(score_ms / 1000)
            return super().score(texts)

    url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    worker_db, web_db = Database(url), Database(url)
    document = json.loads(FIXTURE.read_bytes())

    def event(prefix: str, i: int) -> InboundEvent:
        document["id"] = f"AC{prefix}{i:06d}"
        document["data"]["object"]["id"] = f"AC{prefix}{i:06d}"
        return InboundEvent(document["id"], document["type"], json.dumps(document).encode())

    pending = inbox.accept(worker_db, "quo", [event("w", i) for i in range(events)], lambda _: True).new
    analyzer, done = Analyzer.default(SlowScorer()), threading.Event()

    def work() -> None:
        for row_id in pending:
            processing.process_event(worker_db, row_id, analyzer)
        done.set()

    waits, i = [], 0
    started = time.perf_counter()
    threading.Thread(target=work, daemon=True).start()
    while not done.is_set():
        begun = time.perf_counter()
        inbox.accept(web_db, "quo", [event("web", i)], lambda _: False)
        waits.append((time.perf_counter() - begun) * 1000)
        i += 1
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    waits.sort()
    return {"inserts": len(waits), "p50_ms": statistics.median(waits), "p99_ms": waits[int(len(waits) * 0.99) - 1],
            "max_ms": waits[-1], "events_per_s": events / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--score-ms", type=float, default=50)
    parser.add_argument("--baseline", help="another checkout to measure the same way, for a ratio")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # a child run: print one JSON line
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args.events, args.score_ms)))
        return
    runs = {"this checkout": str(ROOT)}
    if args.baseline:
        runs["baseline " + args.baseline] = args.baseline
    results = {}
    for name, code in runs.items():
        env = {**os.environ, "PYTHONPATH": code}
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--json", "--events", str(args.events),
                              "--score-ms", str(args.score_ms)], env=env, cwd=code, capture_output=True, text=True,
                             check=True)
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[name]
        print(f"{name:40s} inserts {r['inserts']:4d}  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
              f"max {r['max_ms']:7.1f} ms  worker {r['events_per_s']:.1f} events/s")
    if len(results) == 2:
        this, base = results.values()
        print(f"insert wait p99, this / baseline: {this['p99_ms'] / base['p99_ms']:.3f}; "
              f"p50: {this['p50_ms'] / base['p50_ms']:.3f}")


if __name__ == "__main__":
    main()
