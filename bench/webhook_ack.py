"""Webhook acknowledgement latency and throughput, beside a bare Flask endpoint on the same server.

Starts gunicorn (the Procfile's web command) on a fresh SQLite file and an embedded Redis, fires N
signed Quo webhooks (each a distinct event) with C concurrent senders, then the same number of
requests at a bare endpoint served by the same gunicorn, and prints both and their ratio.

    .venv/bin/python bench/webhook_ack.py [--requests 2000] [--concurrency 8] [--workers 2] [--database-url URL]
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = base64.b64encode(b"bench-signing-key-0123456789abcdef").decode()
FIXTURE = ROOT / "tests" / "fixtures" / "quo" / "call_transcript_completed.json"


def bench_app():
    """The real app plus one bare route: the floor that Flask and gunicorn cost on this machine."""
    from integration.web.app import create_app

    app = create_app()
    app.add_url_rule("/_bench/bare", "bare", lambda: ("ok", 200), methods=["POST"])
    return app


def signed_request(index: int) -> tuple[bytes, dict]:
    document = json.loads(FIXTURE.read_bytes())
    document["id"] = f"EVbench{index:08d}"
    body = json.dumps(document).encode()
    stamp = str(int(time.time() * 1000))
    digest = hmac.new(base64.b64decode(SECRET), stamp.encode() + b"." + body, hashlib.sha256).digest()
    return body, {"content-type": "application/json",
                  "openphone-signature": f"hmac;1;{stamp};{base64.b64encode(digest).decode()}"}


def fire(url: str, payloads: list[tuple[bytes, dict]], concurrency: int) -> tuple[list[float], float, int]:
    """Send every payload; returns per-request latencies (s), wall time (s) and non-2xx count."""
    sessions = [requests.Session() for _ in range(concurrency)]

    def send(i: int) -> tuple[float, int]:
        body, headers = payloads[i]
        started = time.perf_counter()
        status = sessions[i % concurrency].post(url, data=body, headers=headers, timeout=30).status_code
        return time.perf_counter() - started, status

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(send, range(len(payloads))))
    wall = time.perf_counter() - started
    return [r[0] for r in results], wall, sum(1 for r in results if r[1] >= 300)


def report(name: str, latencies: list[float], wall: float, errors: int) -> dict:
    ordered = sorted(latencies)
    row = {
        "endpoint": name,
        "requests": len(latencies),
        "median_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "throughput_rps": len(latencies) / wall,
        "errors": errors,
    }
    print(f"{name:<16}{row['requests']:>8}{row['median_ms']:>12.2f}{row['p99_ms']:>10.2f}"
          f"{row['throughput_rps']:>14.1f}{errors:>8}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--database-url", default=None, help="an empty, migratable database (default: a temporary SQLite file)")
    args = parser.parse_args()

    from integration.cli.embedded_redis import EmbeddedRedis, free_port
    from integration.store.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis() as redis:
        database_url = args.database_url or f"sqlite:///{tmp}/bench.db"
        upgrade(database_url)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis.url, "QUO_WEBHOOK_SECRET": SECRET,
               "SECRET_KEY": "bench-" + "k" * 32}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        server = subprocess.Popen(
            [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--chdir", str(ROOT),
             "bench.webhook_ack:bench_app()"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_up(base)
            fire(f"{base}/_bench/bare", [(b"{}", {})] * 200, args.concurrency)  # warm both paths
            fire(f"{base}/webhooks/quo", [signed_request(-i - 1) for i in range(200)], args.concurrency)
            print(f"{args.requests} requests, {args.concurrency} concurrent senders, gunicorn --workers {args.workers},"
                  f" {database_url.split(':')[0]} + Redis, {os.cpu_count()} cores\n")
            print(f"{'endpoint':<16}{'requests':>8}{'median ms':>12}{'p99 ms':>10}{'requests/s':>14}{'non-2xx':>8}")
            bare = report("bare flask", *fire(f"{base}/_bench/bare", [(b"{}", {})] * args.requests, args.concurrency))
            payloads = [signed_request(i) for i in range(args.requests)]
            hook = report("/webhooks/quo", *fire(f"{base}/webhooks/quo", payloads, args.concurrency))
            print(f"\nwebhook / bare: median x{hook['median_ms'] / bare['median_ms']:.1f}, "
                  f"p99 x{hook['p99_ms'] / bare['p99_ms']:.1f}, throughput x{hook['throughput_rps'] / bare['throughput_rps']:.2f}")
        finally:
            server.terminate()
            server.wait(timeout=10)


def wait_up(base: str) -> None:
    """Return once the service at `base` answers /healthz (about 10 s at most)."""
    for _ in range(100):
        try:
            requests.get(f"{base}/healthz", timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"nothing answered at {base}/healthz")


if __name__ == "__main__":
    main()
