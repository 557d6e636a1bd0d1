"""Would an in-process group commit speed up the webhook's INSERT on PostgreSQL? Measured, not assumed.

WEB_THREADS threads store rows as a gunicorn process does, two ways, in alternating rounds on a fresh database:
- per request (what `integration.store.inbox` does): each thread runs its own autocommit
  `INSERT ... ON CONFLICT DO NOTHING RETURNING id` on its own connection. PostgreSQL already groups the WAL
  flushes of commits that arrive together (a commit waiting behind a flush in progress rides the next one);
- group commit: threads hand their row to one committer thread that takes every row waiting (no extra delay),
  stores them with one multi-row INSERT in one transaction, and wakes each thread with its row's id.
Both are durable (synchronous_commit on). Prints rows per second and the median and p99 wait per row.

    .venv/bin/python bench/pg_group_commit.py [--rows 400] [--threads 4] [--rounds 3]
"""
from __future__ import annotations

import argparse
import queue
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import harness  # noqa: E402

BODY = "x" * 3000  # about a call transcript's size
CREATE = "CREATE TABLE bench_rows (id bigserial PRIMARY KEY, k text UNIQUE NOT NULL, body text NOT NULL)"
INSERT = "INSERT INTO bench_rows (k, body) VALUES (%s, %s) ON CONFLICT (k) DO NOTHING RETURNING id"


def per_request(url: str, rows: int, threads: int) -> list[float]:
    import psycopg

    conns = [psycopg.connect(url, autocommit=True) for _ in range(threads)]
    waits: list[float] = []

    def run(t: int) -> None:
        for _ in range(rows // threads):
            started = time.perf_counter()
            conns[t].execute(INSERT, (uuid.uuid4().hex, BODY)).fetchone()
            waits.append(time.perf_counter() - started)

    _run_threads(run, threads)
    for conn in conns:
        conn.close()
    return waits


def group_commit(url: str, rows: int, threads: int) -> tuple[list[float], float]:
    import psycopg

    inbox: queue.SimpleQueue = queue.SimpleQueue()
    conn = psycopg.connect(url, autocommit=True)  # one multi-row statement: atomic by itself
    batches: list[int] = []

    def committer() -> None:
        while (first := inbox.get()) is not None:
            batch = [first]
            while True:
                try:
                    item = inbox.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    inbox.put(None)
                    break
                batch.append(item)
            sql = ("INSERT INTO bench_rows (k, body) VALUES " + ", ".join(["(%s, %s)"] * len(batch))
                   + " ON CONFLICT (k) DO NOTHING RETURNING k, id")
            ids = dict(conn.execute(sql, [v for k, _future in batch for v in (k, BODY)]).fetchall())
            batches.append(len(batch))
            for k, future in batch:
                future.set_result(ids.get(k))

    thread = threading.Thread(target=committer)
    thread.start()
    waits: list[float] = []

    def run(_t: int) -> None:
        for _ in range(rows // threads):
            started = time.perf_counter()
            future: Future = Future()
            inbox.put((uuid.uuid4().hex, future))
            future.result()
            waits.append(time.perf_counter() - started)

    try:
        _run_threads(run, threads)
    finally:
        inbox.put(None)
        thread.join()
        conn.close()
    return waits, statistics.mean(batches)


def _run_threads(target, count: int) -> None:
    workers = [threading.Thread(target=target, args=(t,)) for t in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400, help="rows per way and round")
    parser.add_argument("--threads", type=int, default=4, help="storing threads (WEB_THREADS)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    harness.cleanup_on_terminate()
    from sqlalchemy.engine import make_url

    with tempfile.TemporaryDirectory() as tmp, harness.fresh_database("postgresql", tmp) as database_url:
        url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(CREATE)
        print(f"{args.threads} threads, {args.rows} rows of {len(BODY)} bytes per way and round, synchronous_commit on\n")
        print(f"{'round':<7}{'way':<16}{'rows/s':>8}{'median ms':>11}{'p99 ms':>8}{'rows per commit':>17}")
        for number in range(1, args.rounds + 1):
            started = time.perf_counter()
            waits = per_request(url, args.rows, args.threads)
            _line(number, "per request", waits, time.perf_counter() - started, 1.0)
            started = time.perf_counter()
            waits, batch = group_commit(url, args.rows, args.threads)
            _line(number, "group commit", waits, time.perf_counter() - started, batch)


def _line(number: int, way: str, waits: list[float], wall: float, batch: float) -> None:
    print(f"{number:<7}{way:<16}{len(waits) / wall:>8.0f}{statistics.median(waits) * 1000:>11.1f}"
          f"{harness.percentile(waits, 0.99) * 1000:>8.1f}{batch:>17.1f}")


if __name__ == "__main__":
    main()
