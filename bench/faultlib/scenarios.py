"""The scripted faults. Each script drives traffic, injects its fault, and returns when the fault is over;
the runner (`bench/faults.py`) then waits for recovery and counts. Durations depend on `--quick`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import requests

from bench.faultlib.census import CensusTaker
from bench.faultlib.stack import Stack
from bench.faultlib.traffic import Traffic

WARM_S = 3  # traffic before a fault starts
AFTER_S = 3  # traffic after it ends
RATE_PER_S = 4  # deliveries a second during ingest faults
FLUSH_LOCK = "undertone:lock:crm-flush"  # workers/jobs.py
HOUR_S = 3600


@dataclass
class Durations:
    """How long each kind of fault lasts (seconds of real time) and how big a batch is."""

    redis_short: float
    redis_long: float
    database: float
    storm: float
    time_scale: float  # the fake clock: one service second lasts this many real seconds in the compressed scenarios
    batch: int
    sweep_limit: float  # recovery bound where only the sweep can find the work again (interval + grace + work)
    overrides: dict  # integration.defaults changed for every process of the run (printed in the header)
    quick: bool

    @classmethod
    def for_mode(cls, quick: bool) -> "Durations":
        """Full: the outages the issue names. Quick: short outages, a faster sweep, and the two-minute
        Redis variants left out (they only differ in length)."""
        if quick:
            return cls(redis_short=5, redis_long=15, database=8, storm=8, time_scale=1 / 450, batch=40,
                       sweep_limit=30, overrides={"SWEEP_INTERVAL_S": 5, "SWEEP_GRACE_S": 3}, quick=True)
        return cls(redis_short=10, redis_long=120, database=30, storm=30, time_scale=1 / 100, batch=120,
                   sweep_limit=90, overrides={}, quick=False)

    def compressed(self) -> dict:
        """The retry delays on the fake clock: each scaled by time_scale (at least 1 s)."""
        from connectors.hubspot import defaults as hubspot_defaults
        from integration import defaults

        scale = lambda values: [max(1, round(v * self.time_scale)) for v in values]  # noqa: E731
        return {"PROCESS_RETRY_INTERVALS_S": scale(defaults.PROCESS_RETRY_INTERVALS_S),
                "SYNC_RETRY_INTERVALS_S": scale(defaults.SYNC_RETRY_INTERVALS_S),
                "HUBSPOT_DAILY_LIMIT_WAIT_S": max(1, round(hubspot_defaults.HUBSPOT_DAILY_LIMIT_WAIT_S * self.time_scale))}


@dataclass
class Run:
    """What a script works with, and what it leaves for the report."""

    stack: Stack
    traffic: Traffic
    census: CensusTaker
    durations: Durations
    notes: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)  # measured during the fault, checked by the scenario

    def wait_processed(self, fraction: float, timeout_s: float = 60) -> int:
        """Block until `fraction` of the deliveries sent so far are processed (or timeout); returns the count."""
        target = max(1, int(len(self.traffic.deliveries) * fraction))
        deadline = time.monotonic() + timeout_s
        processed = 0
        while time.monotonic() < deadline:
            processed = self.census.take().processed
            if processed >= target:
                break
            time.sleep(0.1)
        return processed


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    script: Callable[[Run], None]
    limit_s: Callable[[Durations], float]  # recovery must finish within this long after the fault ends
    crm: str = "sink"
    needs_postgres: bool = False
    compressed: bool = False  # retry delays run on the fake clock (Durations.time_scale)
    long: bool = False  # left out of quick runs
    checks: tuple[tuple[str, Callable[[Run], bool]], ...] = ()


# ----------------------------------------------------------------------------- scripts


def no_fault(run: Run) -> None:
    """The control: the same traffic with nothing broken (its recovery time is the normal drain time)."""
    run.traffic.send(run.durations.batch)
    run.traffic.wait(60)


def redis_during_ingest(long: bool) -> Callable[[Run], None]:
    def script(run: Run) -> None:
        outage = run.durations.redis_long if long else run.durations.redis_short
        run.traffic.send_for(WARM_S + outage + AFTER_S, RATE_PER_S)
        time.sleep(WARM_S)
        run.stack.stop_redis()
        time.sleep(outage)
        run.stack.start_redis()
    return script


def redis_during_processing(long: bool) -> Callable[[Run], None]:
    def script(run: Run) -> None:
        outage = run.durations.redis_long if long else run.durations.redis_short
        run.traffic.send(run.durations.batch)
        done = run.wait_processed(0.15)
        run.notes.append(f"Redis stopped with {done} of {run.durations.batch} processed")
        run.stack.stop_redis()
        time.sleep(outage)
        run.stack.start_redis()
    return script


def redis_restarted_empty(run: Run) -> None:
    """Events are stored and queued, the worker has not taken them yet (stopped), and Redis loses everything."""
    run.stack.pause("worker")
    try:
        run.traffic.send(run.durations.batch)
        run.traffic.wait(60)
        pending = run.census.take().pending
        run.notes.append(f"Redis wiped with {pending} events pending")
        run.stack.restart_redis_empty()
    finally:
        run.stack.resume("worker")


def kill_worker(when: str) -> Callable[[Run], None]:
    def script(run: Run) -> None:
        run.traffic.send(run.durations.batch)
        if when == "flush":
            seen = _wait_for_key(run, FLUSH_LOCK, timeout_s=60)
            run.notes.append("killed while holding the CRM flush lock" if seen else
                             "flush lock never seen; killed after 60 s")
        else:
            done = run.wait_processed(0.3)
            run.notes.append(f"killed with {done} of {run.durations.batch} processed")
        run.stack.kill9("worker")
        run.stack.start_service("worker")  # the immediate restart
    return script


def database(mode: str) -> Callable[[Run], None]:
    def script(run: Run) -> None:
        outage = run.durations.database
        run.traffic.send(run.durations.batch // 2)
        run.traffic.send_for(WARM_S + outage + AFTER_S, RATE_PER_S)
        time.sleep(WARM_S)
        run.stack.proxy.set_mode(mode)
        time.sleep(min(2.0, outage / 2))
        run.facts["healthz"] = _probe_healthz(run)
        time.sleep(max(0.0, outage - 2.0 - run.facts["healthz"][1]))
        run.stack.proxy.set_mode("pass")
    return script


def hubspot_storm(kind: str) -> Callable[[Run], None]:
    def script(run: Run) -> None:
        hubspot, d = run.stack.hubspot, run.durations
        run.traffic.send(d.batch // 2)
        run.traffic.send_for(WARM_S + d.storm + AFTER_S, RATE_PER_S)
        time.sleep(WARM_S)
        began = time.time()
        if kind == "outage":  # an hour of outage: connections refused
            hubspot.stop()
            time.sleep(HOUR_S * d.time_scale)
            hubspot.start()
            log = run.stack.services["worker"].log_path.read_text(errors="replace")
            run.facts["felt"] = log.count("transport error")  # connectors/hubspot/api.py logs each refused call
            run.notes.append(f"the worker logged {run.facts['felt']} refused HubSpot calls")
            return
        status, seconds, body = {"429": (429, d.storm, None), "500": (500, d.storm, None),
                                 "daily": (429, HOUR_S * d.time_scale, hubspot.daily_limit_body())}[kind]
        hubspot.fail_for("/crm/v3/", status, seconds, body=body)
        time.sleep(seconds)
        hubspot.clear_failures()
        felt = sum(1 for r in hubspot.requests if r.at >= began and r.status == status)
        run.facts["felt"] = felt
        run.notes.append(f"HubSpot answered {status} {felt} times during the fault")
    return script


def _wait_for_key(run: Run, key: str, timeout_s: float) -> bool:
    from redis import Redis

    client = Redis.from_url(run.stack.redis.url, socket_timeout=1)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.exists(key):
            return True
        time.sleep(0.01)
    return False


def _probe_healthz(run: Run) -> tuple[str, float]:
    """What /healthz answers during the fault, and how long it took (10 s patience)."""
    began = time.monotonic()
    try:
        answer = requests.get(f"{run.stack.base_url}/healthz", timeout=10)
        is_json = "json" in answer.headers.get("content-type", "")
        result = f"{answer.status_code} {answer.json().get('database', '?') if is_json else 'html'}"
    except requests.RequestException as exc:
        result = type(exc).__name__
    return result, time.monotonic() - began


# ----------------------------------------------------------------------------- checks


def _fast_answers(run: Run) -> bool:
    """Finding 3: every acknowledgement within 5 s, as JSON."""
    return run.traffic.stats.slowest_s <= 5.0 and run.traffic.stats.html_errors == 0


def _healthz_reports_database(run: Run) -> bool:
    status, took = run.facts.get("healthz", ("", 99.0))
    return took <= 5.0 and status.startswith("503")


def _felt(run: Run) -> bool:
    """The storm met at least one call (a fault nobody met proves nothing)."""
    return run.facts.get("felt", 0) > 0


FELT = (("the service met the fault", _felt),)
DB_CHECKS = (("webhook answers in <= 5 s, JSON", _fast_answers),
             ("/healthz says 503 in <= 5 s", _healthz_reports_database))


def scenarios() -> list[Scenario]:
    sweep_bound = lambda d: d.sweep_limit  # noqa: E731
    return [
        Scenario("baseline", "no fault: the same traffic, to show the normal drain time", no_fault, lambda d: 30),
        Scenario("redis-10s-ingest", "Redis stopped 10 s (quick: 5 s) while webhooks arrive", redis_during_ingest(False),
                 sweep_bound),
        Scenario("redis-10s-processing", "Redis stopped 10 s (quick: 5 s) while the worker processes a batch",
                 redis_during_processing(False), sweep_bound),
        Scenario("redis-2m-ingest", "Redis stopped 2 min while webhooks arrive",
                 redis_during_ingest(True), sweep_bound, long=True),
        Scenario("redis-2m-processing", "Redis stopped 2 min while the worker processes a batch",
                 redis_during_processing(True), sweep_bound, long=True),
        Scenario("redis-empty", "Redis restarted empty (queues lost) while events are pending",
                 redis_restarted_empty, sweep_bound),
        Scenario("worker-kill9", "kill -9 of the worker mid-batch, restarted at once", kill_worker("events"),
                 lambda d: 60),
        Scenario("worker-kill9-flush", "kill -9 of the worker during a CRM flush, restarted at once",
                 kill_worker("flush"), lambda d: 60),
        Scenario("db-refuse", "PostgreSQL refuses connections (and drops open ones) for 30 s (quick: 8 s)",
                 database("refuse"), lambda d: 90, needs_postgres=True,
                 checks=(("/healthz says 503 in <= 5 s", _healthz_reports_database),)),
        Scenario("db-hang", "PostgreSQL accepts connections but never answers, 30 s (quick: 8 s)",
                 database("hang"), lambda d: 90, needs_postgres=True, checks=DB_CHECKS),
        Scenario("hubspot-429", "HubSpot answers 429 TEN_SECONDLY_ROLLING to everything, 30 s (quick: 8 s)",
                 hubspot_storm("429"), lambda d: 60, crm="hubspot", checks=FELT),
        Scenario("hubspot-daily-429", "HubSpot answers DAILY 429 for an hour (fake clock)",
                 hubspot_storm("daily"), lambda d: HOUR_S * d.time_scale + 60, crm="hubspot", compressed=True,
                 checks=FELT),
        Scenario("hubspot-500", "HubSpot answers 500 to everything, 30 s (quick: 8 s)", hubspot_storm("500"),
                 lambda d: 60, crm="hubspot", checks=FELT),
        Scenario("hubspot-outage-1h", "HubSpot refuses connections for an hour (fake clock)",
                 hubspot_storm("outage"), lambda d: 60, crm="hubspot", compressed=True, checks=FELT),
    ]
