"""The system under test, as real processes: gunicorn, `undertone worker`, `undertone scheduler`, a
PostgreSQL database of its own (reached through a TcpProxy), a Redis server it can stop, wipe and
restart, and optionally the local HubSpot server. Everything listens on 127.0.0.1 only.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.faultlib.launch import ENV as OVERRIDE_ENV
from bench.faultlib.proxy import TcpProxy
from bench.faultlib.traffic import SECRET, phones

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HUBSPOT_TOKEN = "pat-faults"
STOP_GRACE_S = 10  # SIGTERM, then SIGKILL after this long
READY_TIMEOUT_S = 60  # a service that does not come up in this long fails the scenario's set-up


@dataclass
class Service:
    """One started process (its own process group, so kill -9 takes any child RQ forked too)."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen | None = None
    starts: int = 0
    exits: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, return code) of exits we did not cause

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Stack:
    """Start with `with Stack(...) as stack:`; the scenario scripts call the fault methods."""

    def __init__(self, workdir: Path, *, crm: str = "sink", database: str = "postgresql",
                 overrides: dict | None = None, web_workers: int = 2, scorer: str = "lexicon"):
        self.workdir = workdir
        self.crm, self.database, self.overrides = crm, database, dict(overrides or {})
        self.web_workers, self.scorer = web_workers, scorer
        self.services: dict[str, Service] = {}
        self.redis = None
        self.proxy: TcpProxy | None = None
        self.hubspot = None
        self.direct_url = self.service_url = ""
        self._pg_name: str | None = None
        self._watching = threading.Event()
        self._watcher: threading.Thread | None = None
        self._expected_exit: set[str] = set()
        self.web_port = 0

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> "Stack":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        from integration.cli.embedded_redis import EmbeddedRedis, free_port
        from integration.store.migrate import upgrade

        self.workdir.mkdir(parents=True, exist_ok=True)
        self._make_database()
        upgrade(self.direct_url)
        self.redis = EmbeddedRedis(data_dir=self.workdir / "redis", persist=True).start()
        if self.crm == "hubspot":
            self._start_hubspot()
        self.web_port = free_port()
        for name in ("web", "worker", "scheduler"):
            self.services[name] = Service(name, self._argv(name), self.workdir / f"{name}.log")
            self.start_service(name)
        self.wait_web()
        self._watcher = threading.Thread(target=self._watch, name="stack-watch", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop every process and server, drop the database."""
        self._watching.set()
        for name in list(self.services):
            self.stop_service(name)
        if self.redis is not None:
            self.redis.stop()
        if self.hubspot is not None:
            self.hubspot.stop()
        if self.proxy is not None:
            self.proxy.stop()
        self._drop_database()

    # ------------------------------------------------------------------ database

    def _make_database(self) -> None:
        if self.database == "sqlite":
            self.direct_url = self.service_url = f"sqlite:///{self.workdir / 'undertone.db'}"
            return
        admin = make_url(PG_ADMIN_URL)
        self._pg_name = f"undertone_faults_{uuid.uuid4().hex[:8]}"
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self._pg_name}"'))
        engine.dispose()
        direct = admin.set(database=self._pg_name)
        self.proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432).start()
        self.direct_url = direct.render_as_string(hide_password=False)
        self.service_url = direct.set(host="127.0.0.1", port=self.proxy.port).render_as_string(hide_password=False)

    def _drop_database(self) -> None:
        if self._pg_name is None:
            return
        engine = create_engine(make_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)'))
        finally:
            engine.dispose()
            self._pg_name = None

    # ------------------------------------------------------------------ HubSpot

    def _start_hubspot(self) -> None:
        from connectors.hubspot.schema import CONTACT_PROPERTIES
        from tests.servers.hubspot import HubSpotTestServer

        self.hubspot = HubSpotTestServer(access_token=HUBSPOT_TOKEN, limit_per_window=100, window_s=10.0,
                                         search_per_second=5).start()
        for prop in CONTACT_PROPERTIES:
            self.hubspot.define_property(prop["name"], prop["type"], prop["fieldType"], options=prop.get("options"))
        for i, phone in enumerate(phones()):
            self.hubspot.add_contact({"phone": phone, "firstname": f"Fault{i}"})

    # ------------------------------------------------------------------ processes

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "DATABASE_", "REDIS_"))}
        env.update(DATABASE_URL=self.service_url, REDIS_URL=self.redis.url, GENERIC_WEBHOOK_SECRET=SECRET,
                   SCORER=self.scorer, THEME_EMBEDDINGS="false", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
                   UNDERTONE_VAR_DIR=str(self.workdir), VAR_DIR=str(self.workdir))
        if self.overrides:
            env[OVERRIDE_ENV] = json.dumps(self.overrides)
        if self.hubspot is not None:
            env.update(HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN, HUBSPOT_API_BASE=self.hubspot.base_url)
        return env

    def _argv(self, name: str) -> list[str]:
        launch = [sys.executable, "-m", "bench.faultlib.launch"]
        if name == "web":
            return launch + ["gunicorn", "--config", "python:integration.web.gunicorn_conf",  # the Procfile's threads
                             "--bind", f"127.0.0.1:{self.web_port}", "--workers", str(self.web_workers),
                             "--timeout", "30", "--access-logfile", "-", "integration.web.app:create_app()"]
        return launch + ["undertone", "--log-level", "INFO", name]

    def start_service(self, name: str) -> None:
        service = self.services[name]
        with open(service.log_path, "ab") as log:
            service.process = subprocess.Popen(service.argv, env=self._env(), cwd=ROOT, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True)
        service.starts += 1
        self._expected_exit.discard(name)

    def stop_service(self, name: str) -> None:
        """SIGTERM the process group; SIGKILL after STOP_GRACE_S."""
        service = self.services[name]
        self._expected_exit.add(name)
        if not service.alive:
            return
        _signal_group(service.process, signal.SIGTERM)
        try:
            service.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_group(service.process, signal.SIGKILL)
            service.process.wait(timeout=STOP_GRACE_S)

    def kill9(self, name: str) -> None:
        """`kill -9` of the service's whole process group (RQ's scheduler child included)."""
        service = self.services[name]
        self._expected_exit.add(name)
        _signal_group(service.process, signal.SIGKILL)
        service.process.wait(timeout=STOP_GRACE_S)

    def pause(self, name: str) -> None:
        _signal_group(self.services[name].process, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        _signal_group(self.services[name].process, signal.SIGCONT)

    def wait_web(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.services["web"].alive:
                raise RuntimeError(f"gunicorn exited; see {self.services['web'].log_path}")
            try:
                requests.get(f"{self.base_url}/healthz", timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz")

    def wait_worker_ready(self, timeout_s: float = READY_TIMEOUT_S) -> bool:
        """True once a worker has registered with Redis (it loads the scorer first)."""
        from redis import Redis
        from rq import Worker

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if Worker.count(connection=Redis.from_url(self.redis.url, socket_timeout=2)):
                    return True
            except Exception:
                pass
            time.sleep(0.2)
        return False

    def _watch(self) -> None:
        """Record every exit of a service that the script did not cause (the suite never restarts them)."""
        while not self._watching.wait(0.5):
            for name, service in self.services.items():
                if name in self._expected_exit or service.process is None:
                    continue
                code = service.process.poll()
                if code is not None:
                    service.exits.append((time.monotonic(), code))
                    self._expected_exit.add(name)  # one record per start

    def exits(self) -> dict[str, list[tuple[float, int]]]:
        return {name: list(s.exits) for name, s in self.services.items() if s.exits}

    # ------------------------------------------------------------------ Redis faults

    def stop_redis(self) -> None:
        self.redis.stop()

    def start_redis(self, empty: bool = False) -> None:
        """Start Redis again on the same port, with its data (append-only file) or, `empty`, without."""
        if empty:
            shutil.rmtree(self.redis.data_dir, ignore_errors=True)
        self.redis.start()

    def restart_redis_empty(self) -> None:
        self.stop_redis()
        self.start_redis(empty=True)


def _signal_group(process: subprocess.Popen | None, sig: int) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(os.getpgid(process.pid), sig)
    except ProcessLookupError:
        pass
