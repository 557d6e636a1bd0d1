"""What one more worker buys: the same interactions through 1, then 2 worker processes (and the CRM flush).

Each run starts fresh services (bench/crm_replay.py: gunicorn, Redis, SQLite, the HubSpot test
server at a Starter account's limits) and replays the same N interactions across M contacts (same
seed). Prints, per worker count, interactions per minute from the first webhook until every event is
processed and every contact is up to date in HubSpot, the processing rate alone, and the ratios.

    .venv/bin/python bench/scale.py [--interactions 1000] [--contacts 200] [--workers 1,2] [--scorer NAME]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import crm_replay, harness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--workers", default="1,2", help="worker counts to compare, in order")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scorer", default=None, help="SCORER for the workers (default: the service's, ensemble)")
    args = parser.parse_args()
    harness.cleanup_on_terminate()
    print(f"{args.interactions} interactions across {args.contacts} contacts, scorer {args.scorer or 'default'}\n")
    print(f"{'workers':>7}{'drained s':>11}{'per minute':>12}{'processed/min':>15}{'p95 to CRM s':>14}"
          f"{'calls':>7}{'x first':>9}")
    first = None
    for workers in (int(w) for w in args.workers.split(",")):
        result = crm_replay.run(args.interactions, args.contacts, workers, args.seed, args.scorer)
        per_minute = args.interactions / result.drained_s * 60
        processed_per_minute = args.interactions / crm_replay.processing_span(result) * 60
        delays = crm_replay.update_delays(result)
        p95 = harness.percentile(delays, 0.95) if delays else float("nan")
        calls = sum(1 for r in result.requests if not r.path.startswith("/conversations/"))
        first = first or per_minute
        print(f"{workers:>7}{result.drained_s:>11.1f}{per_minute:>12.0f}{processed_per_minute:>15.0f}{p95:>14.1f}"
              f"{calls:>7}{per_minute / first:>9.2f}")
    print("\nper minute: interactions over the time from the first webhook to every contact synced;"
          " processed/min: over the time until the last event was processed")


if __name__ == "__main__":
    main()
