"""CPU per webhook enqueue: RQ's own `Queue.enqueue` in a pipeline against `queues.enqueue_events` (the job hash
from a per-process template), one event per call as the webhook does, in alternating rounds on a fresh Redis.

    .venv/bin/python bench/enqueue_cpu.py [--calls 3000] [--rounds 2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from redis import Redis
    from rq import Queue

    from integration import defaults, queues
    from integration.cli.embedded_redis import EmbeddedRedis

    with EmbeddedRedis() as server:
        redis = Redis.from_url(server.url)

        def rq_enqueue(row_id: int) -> None:
            events, pipe = Queue(defaults.EVENTS_QUEUE, connection=redis), redis.pipeline()
            events.enqueue(queues.PROCESS_EVENT, row_id, pipeline=pipe, **queues._event_job_options(row_id))
            pipe.execute()

        ways = {"RQ's enqueue": rq_enqueue, "enqueue_events": lambda row_id: queues.enqueue_events(redis, [row_id])}
        print(f"{'round':<7}{'way':<16}{'CPU ms/call':>12}{'wall ms/call':>14}")
        for number in range(1, args.rounds + 1):
            for name, enqueue in ways.items():
                for row_id in range(200):  # warm up
                    enqueue(10**7 + row_id)
                cpu, wall = time.process_time(), time.perf_counter()
                for row_id in range(args.calls):
                    enqueue(row_id)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                print(f"{number:<7}{name:<16}{cpu * 1000 / args.calls:>12.3f}{wall * 1000 / args.calls:>14.3f}")
                redis.flushall()


if __name__ == "__main__":
    main()
