"""Run queued jobs in tests with a real RQ worker against the test Redis."""
from __future__ import annotations

from redis import Redis
from rq import SimpleWorker

from integration import defaults


def drain(redis: Redis, rounds: int = 3) -> None:
    """Run every queued job (events first, then CRM syncs they queue) in this process, until idle."""
    for _ in range(rounds):
        worker = SimpleWorker([defaults.EVENTS_QUEUE, defaults.CRM_QUEUE], connection=redis)
        worker.work(burst=True)
