"""Webhook acknowledgement latency and throughput, beside a bare Flask endpoint on the same server.

For each database (SQLite, PostgreSQL) and each worker setting (idle: no worker; busy: a real
`undertone worker` scoring a backlog of calls throughout, at WORKER_NICE), starts a fresh database, Redis
and gunicorn (the Procfile's settings: its gunicorn config, so WEB_THREADS threads per worker), fires N
requests with C concurrent senders at a bare endpoint served by the same gunicorn and N signed Quo
webhooks (each a distinct call), in alternating rounds, and prints median, p99, throughput and the
webhook's ratio to the bare endpoint in the same setting.

    .venv/bin/python bench/webhook_ack.py [--requests 1000] [--rounds 10] [--concurrency 8] [--workers 2]
        [--databases sqlite,postgresql] [--busy-worker off|on|both] [--backlog 1500] [--worker-nice N]
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench import harness  # noqa: E402

SECRET = base64.b64encode(b"bench-signing-key-0123456789abcdef").decode()
FIXTURE = ROOT / "tests" / "fixtures" / "quo" / "call_transcript_completed.json"
CUSTOMER = "+13125550147"  # the fixture's caller; each benchmark call gets its own
ENDPOINTS = {"bare flask": "/_bench/bare", "durable floor": "/_bench/durable", "/webhooks/quo": "/webhooks/quo"}


def bench_app():
    """The real app plus two reference routes served by the same gunicorn: the floor that Flask and
    gunicorn cost (bare), and a minimal durable endpoint (one INSERT of the body, one RPUSH of its id)."""
    from flask import request
    from sqlalchemy import text

    from integration.web.app import create_app

    app = create_app()
    runtime = app.extensions["undertone"]
    insert = text("INSERT INTO webhook_events (source, event_id, event_type, received_at, body, headers, status, "
                  "attempts) VALUES ('floor', :event_id, 'floor', :at, :body, '{}', 'ignored', 0) RETURNING id")

    def durable():
        with runtime.db.engine.begin() as conn:
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            row_id = conn.execute(insert, {"event_id": uuid.uuid4().hex, "at": now,
                                           "body": request.get_data()}).scalar()
        runtime.redis.rpush("bench:floor", row_id)
        return "ok", 200

    app.add_url_rule("/_bench/bare", "bare", lambda: ("ok", 200), methods=["POST"])
    app.add_url_rule("/_bench/durable", "durable", durable, methods=["POST"])
    return app


def transcript(index: int) -> bytes:
    """A distinct call transcript: its own event id, call id and caller."""
    document = json.loads(_fixture())
    document["id"] = f"EVbench{index:09d}"
    document["data"]["object"]["callId"] = f"ACbench{index:09d}"
    for turn in document["data"]["object"]["dialogue"]:
        if turn["identifier"] == CUSTOMER:
            turn["identifier"] = f"+1312{index % 10_000_000:07d}"
    return json.dumps(document).encode()


@lru_cache(maxsize=1)
def _fixture() -> bytes:
    return FIXTURE.read_bytes()


def signed_request(index: int) -> tuple[bytes, dict]:
    body = transcript(index)
    stamp = str(int(time.time() * 1000))
    digest = hmac.new(base64.b64decode(SECRET), stamp.encode() + b"." + body, hashlib.sha256).digest()
    return body, {"content-type": "application/json",
                  "openphone-signature": f"hmac;1;{stamp};{base64.b64encode(digest).decode()}"}


def fire(url: str, payloads: list[tuple[bytes, dict]], concurrency: int) -> tuple[list[float], float, int]:
    """Send every payload; returns per-request latencies (s), wall time (s) and failures (non-2xx or no answer)."""
    sessions = [requests.Session() for _ in range(concurrency)]

    def send(i: int) -> tuple[float, int]:
        body, headers = payloads[i]
        started = time.perf_counter()
        try:
            status = sessions[i % concurrency].post(url, data=body, headers=headers, timeout=60).status_code
        except requests.RequestException:  # gunicorn killed a worker past its timeout: counted, not fatal
            status = 599
        return time.perf_counter() - started, status

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(send, range(len(payloads))))
    wall = time.perf_counter() - started
    return [r[0] for r in results], wall, sum(1 for r in results if r[1] >= 300)


def summary(latencies: list[float], wall: float, errors: int, cpu_s: float) -> dict:
    return {"median_ms": statistics.median(latencies) * 1000, "p99_ms": harness.percentile(latencies, 0.99) * 1000,
            "throughput_rps": len(latencies) / wall, "errors": errors, "cpu_ms": cpu_s * 1000 / len(latencies)}


def measure(database: str, busy: bool, args, tmp: str) -> tuple[dict[str, dict], str]:
    """Figures per endpoint and a note on the worker, for one database and worker setting, on fresh services."""
    from integration.cli.embedded_redis import EmbeddedRedis, free_port

    with harness.fresh_database(database, tmp) as database_url, EmbeddedRedis() as redis:
        env = harness.process_env(DATABASE_URL=database_url, REDIS_URL=redis.url, QUO_WEBHOOK_SECRET=SECRET)
        port = free_port()
        processes = [harness.start_gunicorn("bench.webhook_ack:bench_app()", env, port, args.workers)]
        try:
            worker = None
            if busy:
                _fill_backlog(database_url, redis.url, args.backlog)
                worker_env = env if args.worker_nice is None else {**env, "WORKER_NICE": str(args.worker_nice)}
                processes += harness.start_workers(1, worker_env)
                worker = processes[-1]
                _wait_processing(database_url)
            base = f"http://127.0.0.1:{port}"
            harness.wait_up(base)
            for path in ("/_bench/bare", "/_bench/durable"):  # warm every path
                fire(f"{base}{path}", [(_fixture(), {})] * 100, args.concurrency)
            fire(f"{base}/webhooks/quo", [signed_request(10**8 + i) for i in range(200)], args.concurrency)
            done_before, cpu_before, started = _processed(database_url), _cpu_s(worker), time.monotonic()
            rows = _alternate(base, args, processes[0])
            note = ""
            if busy:
                window = time.monotonic() - started
                cpu = _cpu_s(worker) - cpu_before
                left = _pending(database_url)
                note = (f"worker scored {_processed(database_url) - done_before} events in the {window:.0f} s window, "
                        f"using {cpu:.1f} CPU-s ({cpu / window:.0%} of a core) at nice {_nice(worker)} (web at "
                        f"{os.nice(0)}); {left} still pending")
                if left == 0:
                    note += " (it ran out of work: raise --backlog)"
                if worker.poll() is not None:
                    note += f" (the worker exited with {worker.returncode}: not a busy-worker figure)"
            return rows, note
        finally:
            harness.stop(processes)


def _alternate(base: str, args, gunicorn) -> dict[str, dict]:
    """Each endpoint in alternating rounds, so drifting load on a shared machine hits them alike. Also the CPU
    time gunicorn's processes spent per request (load on the machine moves it far less than the waits)."""
    rounds = max(1, args.rounds)
    per_round = max(1, args.requests // rounds)
    totals = {name: ([], 0.0, 0, 0.0) for name in ENDPOINTS}
    for number in range(rounds):
        for name, path in ENDPOINTS.items():
            if path == "/webhooks/quo":
                payloads = [signed_request(number * per_round + i) for i in range(per_round)]
            else:
                payloads = [(_fixture(), {"content-type": "application/json"})] * per_round
            cpu_before = _tree_cpu_s(gunicorn.pid)
            latencies, wall, failed = fire(f"{base}{path}", payloads, args.concurrency)
            cpu = _tree_cpu_s(gunicorn.pid) - cpu_before
            so_far = totals[name]
            totals[name] = (so_far[0] + latencies, so_far[1] + wall, so_far[2] + failed, so_far[3] + cpu)
    return {name: summary(*total) for name, total in totals.items()}


def _cpu_s(process) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc; 0 without a process."""
    return 0.0 if process is None else _pid_cpu_s(process.pid)


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by a process and its children (gunicorn's master and its workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return _pid_cpu_s(pid) + sum(_pid_cpu_s(int(child)) for child in children)


def _pid_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # a worker gunicorn replaced meanwhile
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _nice(process) -> int:
    return int(Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _fill_backlog(database_url: str, redis_url: str, count: int) -> None:
    """Store and queue `count` distinct call transcripts for the worker to score during the measurement."""
    from redis import Redis

    from connectors.base import InboundEvent
    from integration import queues
    from integration.store import inbox
    from integration.store.db import Database

    db = Database(database_url)
    redis = Redis.from_url(redis_url)
    for start in range(0, count, 100):
        events = [InboundEvent(f"EVbacklog{i:09d}", "call.transcript.completed", transcript(2 * 10**8 + i))
                  for i in range(start, min(count, start + 100))]
        queues.enqueue_events(redis, inbox.accept(db, "quo", events, lambda _type: True).new)
    db.dispose()


def _count(database_url: str, status: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM webhook_events WHERE status = :s"), {"s": status}).scalar()
    finally:
        engine.dispose()


def _processed(database_url: str) -> int:
    return _count(database_url, "processed")


def _pending(database_url: str) -> int:
    return _count(database_url, "pending")


def _wait_processing(database_url: str, timeout_s: float = 300) -> None:
    """Return once the worker has loaded its scorer (lazily, in its first job) and finished that first event:
    from then on it scores the backlog. Scoring one call takes seconds of CPU, so the window sees few events
    finish; the worker's CPU time during the window is what shows that it was busy."""
    deadline = time.monotonic() + timeout_s
    while _processed(database_url) < 1:
        if time.monotonic() > deadline:
            raise SystemExit("the worker processed nothing; is it starting?")
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds the requests are split into")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--busy-worker", choices=("off", "on", "both"), default="both",
                        help="measure with a real worker scoring a backlog at the same time")
    parser.add_argument("--backlog", type=int, default=1500, help="calls queued for the busy worker beforehand")
    parser.add_argument("--worker-nice", type=int, default=None,
                        help="WORKER_NICE for the busy worker (default: the service's, so scoring yields to the web)")
    args = parser.parse_args()
    harness.cleanup_on_terminate()
    settings = [(db, busy) for db in args.databases.split(",")
                for busy in {"off": (False,), "on": (True,), "both": (False, True)}[args.busy_worker]]
    from integration.settings import Settings
    from integration.web import gunicorn_conf

    worker_nice = Settings().worker_nice if args.worker_nice is None else args.worker_nice
    print(f"{args.requests} requests per endpoint, {args.concurrency} concurrent senders, gunicorn --workers "
          f"{args.workers} x {gunicorn_conf.threads} threads (Procfile settings, WEB_THREADS), busy worker at nice "
          f"+{worker_nice} (WORKER_NICE), Redis, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print(f"{'setting':<24}{'endpoint':<15}{'median ms':>10}{'p99 ms':>9}{'req/s':>8}{'failed':>8}{'ratio':>7}"
          f"{'web CPU ms/req':>16}")
    with tempfile.TemporaryDirectory() as tmp:
        for database, busy in settings:
            rows, note = measure(database, busy, args, tmp)
            name = f"{database}, {'busy worker' if busy else 'no worker'}"
            bare = rows["bare flask"]["throughput_rps"]
            for endpoint, row in rows.items():
                ratio = f"{row['throughput_rps'] / bare:.2f}" if endpoint != "bare flask" else ""
                print(f"{name:<24}{endpoint:<15}{row['median_ms']:>10.1f}{row['p99_ms']:>9.1f}"
                      f"{row['throughput_rps']:>8.0f}{row['errors']:>8}{ratio:>7}{row['cpu_ms']:>16.2f}")
            if note:
                print(f"{'':<24}{note}")
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\nratio: throughput over the bare endpoint's, same gunicorn, same setting, same run; durable floor:"
          " one INSERT of the body and one RPUSH, the least a durable acknowledgement costs;\nweb CPU ms/req: CPU time"
          " of gunicorn's processes per request (PostgreSQL's and Redis's own not included)")


if __name__ == "__main__":
    main()
