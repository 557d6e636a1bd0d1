"""What the end-to-end benchmarks share: fresh databases, gunicorn and worker processes, waiting and percentiles.

Every process runs this checkout (PYTHONPATH is set to it), with the environment a benchmark passes.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The PostgreSQL server a benchmark creates its own database on (and drops it after), as the tests do.
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def cleanup_on_terminate() -> None:
    """Turn SIGTERM into SystemExit, so a benchmark stopped from outside still stops what it started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


@contextmanager
def fresh_database(kind: str, tmp: str) -> Iterator[str]:
    """A migrated, empty database: a SQLite file under `tmp`, or a new PostgreSQL database dropped afterwards."""
    from integration.store.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{tmp}/bench-{uuid.uuid4().hex[:6]}.db"
        upgrade(url)
        yield url
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN_URL)
    name = f"undertone_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def process_env(**variables: str) -> dict:
    """The environment for a service process: ours, this checkout first on the path, plus `variables`."""
    return {**os.environ, "PYTHONPATH": str(ROOT), **variables}


def start_gunicorn(app: str, env: dict, port: int, workers: int = 2) -> subprocess.Popen:
    """gunicorn with the Procfile's web settings (its config file, so WEB_THREADS threads per worker; 30 s
    timeout, access log on stdout)."""
    return subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", "python:integration.web.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "30", "--access-logfile", "-", app],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_workers(count: int, env: dict, *args: str) -> list[subprocess.Popen]:
    """`count` real `undertone worker` processes (extra CLI arguments after `worker`)."""
    return [subprocess.Popen([str(BIN / "undertone"), "--log-level", "WARNING", "worker", *args], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(count)]


def stop(processes: list[subprocess.Popen], timeout_s: float = 20) -> None:
    """Terminate (then kill, if need be) the processes this benchmark started."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_up(base: str, timeout_s: float = 30) -> None:
    """Return once the service at `base` answers /healthz."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/healthz", timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"nothing answered at {base}/healthz")


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (fraction 0.95 = p95) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]
