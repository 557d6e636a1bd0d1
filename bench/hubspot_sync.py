"""HubSpot write-back under HubSpot's limits: calls per interaction, 429s, drain time, webhook-to-update delay.

Replays N interactions across M contacts as signed generic webhooks into the web process (gunicorn),
as one burst (the default) or paced at R per second (--rate), with W real `undertone worker` processes
writing to the local HubSpot test server, which enforces 100 requests per 10 s and 5 searches per second
like a Starter account (bench/crm_replay.py). Prints:
- HubSpot calls per interaction (searches, updates, notes and tasks included; target at most 0.25),
- 429 answers received (target: none),
- the achieved send rate,
- time to drain (first webhook sent to every contact up to date) and how much of it came after the last send,
- p50/p95 delay from an interaction's webhook to its processing, from its processing to the first contact
  update after it, and the two together.

    .venv/bin/python bench/hubspot_sync.py [--interactions 1000] [--contacts 200] [--workers 2] [--scorer NAME]
        [--rate R]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import crm_replay, harness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scorer", default=None, help="SCORER for the workers (default: the service's, ensemble)")
    parser.add_argument("--rate", type=float, default=None,
                        help="interactions per second, sent at a steady pace (default: all at once, as one burst)")
    args = parser.parse_args()
    harness.cleanup_on_terminate()
    result = crm_replay.run(args.interactions, args.contacts, args.workers, args.seed, args.scorer,
                             rate=args.rate)
    report(result, args)


def report(result: crm_replay.Run, args) -> None:
    calls = [r for r in result.requests if not r.path.startswith("/conversations/")]
    kinds: dict[str, int] = {}
    for r in calls:
        kind = f"{r.method} {r.path.split('/crm/v3/objects/')[-1]}"
        kinds[kind] = kinds.get(kind, 0) + 1
    pace = f"paced at {args.rate:g}/s" if args.rate else "one burst"
    print(f"{args.interactions} interactions across {args.contacts} contacts ({pace}), {args.workers} worker processes "
          f"(scorer: {args.scorer or 'default'}), HubSpot test server at 100 requests/10 s and 5 searches/s\n")
    print(f"HubSpot calls:                 {len(calls)}  ({len(calls) / args.interactions:.3f} per interaction;"
          " target <= 0.25)")
    for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<40}{count:>6}")
    print(f"429 answers:                   {sum(1 for r in calls if r.status == 429)}  (target 0)")
    print(f"503 answers (retried after 1 s): {len(crm_replay.RETRIED)}  (the web could not store the event in time)")
    span = crm_replay.send_span(result)
    print(f"send rate:                     {(len(result.sent) - 1) / span if span else float('inf'):.1f} per second "
          f"({len(result.sent)} sent in {span:.1f} s)")
    print(f"time to drain:                 {result.drained_s:.1f} s "
          f"({args.interactions / result.drained_s * 60:.0f} interactions per minute; "
          f"{result.drained_s - span:.1f} s after the last send)")
    for name, delays in (("webhook -> processed", crm_replay.processing_delays(result)),
                         ("processed -> contact update", crm_replay.flush_delays(result)),
                         ("webhook -> contact update", crm_replay.update_delays(result))):
        if delays:
            p95 = harness.percentile(delays, 0.95)
            print(f"{name + ':':<31}p50 {statistics.median(delays):.1f} s, p95 {p95:.1f} s,"
                  f" max {max(delays):.1f} s ({len(delays)} of {len(result.sent)})")


if __name__ == "__main__":
    main()
