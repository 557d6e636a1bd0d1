"""The RQ worker `undertone worker` runs: it rides out Redis outages of any length, with no supervisor.

RQ's work loop quits on the first Redis error outside its idle wait ("found an unhandled exception,
quitting..."), and its scheduler process dies with it. Here a Redis error anywhere in the loop ends
the current `work()` cleanly, `run()` waits for Redis with backoff (one log line when it goes, one
when it is back), and starts `work()` again: the worker registers anew and its scheduler restarts.
"""
from __future__ import annotations

import logging
import os
import signal
import time

from rq import SimpleWorker, Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.utils import now

from integration import defaults
from workers.redis_wait import REDIS_DOWN, pause, wait_for_redis
from workers.rq_scheduler import Scheduler


class RedisLost(SystemExit):
    """Redis went away mid-loop. A SystemExit, because RQ's work loop swallows every other exception."""

    def __init__(self, reason: BaseException):
        super().__init__(1)
        self.reason = reason
        self.since = time.monotonic()


class _QuietReconnectLogs(logging.Filter):
    """Drops RQ's per-attempt "could not connect to Redis" lines; `wait_for_redis` logs the outage once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "could not connect to Redis instance" not in str(record.msg)


_QUIET_RECONNECT_LOGS = _QuietReconnectLogs()


class OutageTolerant:
    """Mixed into RQ's worker classes: turns Redis errors into RedisLost and restarts work() after them."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("worker_ttl", defaults.WORKER_TTL_S)
        kwargs.setdefault("maintenance_interval", defaults.WORKER_MAINTENANCE_INTERVAL_S)
        super().__init__(*args, **kwargs)

    def run(self, burst: bool = False, **work_options) -> bool:
        """work() until stopped (or, in burst mode, until the queues are empty), through Redis outages."""
        logging.getLogger("rq.worker").addFilter(_QUIET_RECONNECT_LOGS)
        worked = False
        while True:
            lost: BaseException | None = None
            since = None
            try:
                worked = self.work(burst=burst, **work_options) or worked
            except RedisLost as exc:
                lost, since = exc.reason, exc.since
            except REDIS_DOWN as exc:  # from start-up or teardown, outside RQ's loop
                lost = exc
            if self._shutdown_requested_date is not None or (burst and lost is None):
                return worked
            self.teardown()  # idempotent: what RQ's own teardown could not finish without Redis
            with _stop_flag_on_signals(self):
                # RQ quit on another error (it logged it): restart too, but not in a tight loop
                if lost is None and pause(defaults.REDIS_RECONNECT_MAX_S, self._stopping):
                    return worked
                if not wait_for_redis(self.connection, lost, since, self._stopping, who=f"Worker {self.name}"):
                    return worked
            self._forget_last_run()

    def _stopping(self) -> bool:
        return self._shutdown_requested_date is not None

    def _forget_last_run(self) -> None:
        """Let the next work() register under the same name, and run maintenance at once."""
        try:
            self.register_death()  # a registration that survived the outage would refuse register_birth
        except REDIS_DOWN:
            pass
        self.last_cleaned_at = None

    # Redis errors where RQ's loop would swallow them: raise RedisLost instead.
    def check_for_suspension(self, burst: bool):
        with _lost_on_redis_errors():
            return super().check_for_suspension(burst)

    def run_maintenance_tasks(self):
        with _lost_on_redis_errors():
            return super().run_maintenance_tasks()

    def execute_job(self, job, queue):
        with _lost_on_redis_errors():
            return super().execute_job(job, queue)

    def heartbeat(self, timeout: int | None = None, pipeline=None):
        if pipeline is not None or self.horse_pid:  # no I/O here, or a forked job's monitor: RQ handles it
            return super().heartbeat(timeout, pipeline)
        with _lost_on_redis_errors():  # also ends RQ's own reconnect loop while idle, after its first attempt
            return super().heartbeat(timeout, pipeline)

    def _shutdown(self):
        try:
            super()._shutdown()  # asks Redis whether a job is running
        except REDIS_DOWN:
            raise StopRequested() from None

    def _start_scheduler(self, burst=False, logging_level="INFO", date_format=DEFAULT_LOGGING_DATE_FORMAT,
                         log_format=DEFAULT_LOGGING_FORMAT):
        """RQ's own start-up of its scheduler, with our Scheduler class (RQ has no hook to choose it)."""
        self.scheduler = Scheduler(self.queues, connection=self.connection, serializer=self.serializer,
                                   logging_level=logging_level if logging_level is not None else self.log.level,
                                   date_format=date_format, log_format=log_format)
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if not burst:
            self.scheduler.start()
            return
        try:
            self.scheduler.register_birth()
            self.scheduler.enqueue_scheduled_jobs()
        finally:
            self.scheduler.release_locks()
            self.scheduler.register_death()

    def teardown(self):
        """RQ's teardown, finishing even when Redis is gone (then the registration simply expires)."""
        if self.is_horse:
            return
        if self.scheduler:
            self.stop_scheduler()
            self.scheduler = None
        try:
            self.register_death()
        except REDIS_DOWN:
            pass
        if self.pubsub_thread is not None:
            try:
                self.unsubscribe()
            except REDIS_DOWN:
                self.pubsub_thread.stop()
                self.pubsub_thread.join(timeout=1)
                self.pubsub.reset()
            self.pubsub_thread = None


class TolerantSimpleWorker(OutageTolerant, SimpleWorker):
    """Jobs run in the worker process (the default)."""


class TolerantWorker(OutageTolerant, Worker):
    """Each job in a forked work horse (`--fork`)."""


class _lost_on_redis_errors:
    """Context manager: a Redis connection error or timeout inside becomes RedisLost."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is not None and isinstance(exc, REDIS_DOWN):
            raise RedisLost(exc) from exc
        return False


class _stop_flag_on_signals:
    """While waiting outside work(), SIGTERM/SIGINT only mark the worker as stopping (RQ's handlers need Redis)."""

    def __init__(self, worker: OutageTolerant):
        self.worker = worker

    def __enter__(self):
        self.previous = {s: signal.signal(s, self._stop) for s in (signal.SIGTERM, signal.SIGINT)}
        return self

    def _stop(self, signum, frame):
        self.worker._shutdown_requested_date = now()

    def __exit__(self, *exc):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        return False


def lower_priority(niceness: int) -> None:
    """Run this worker `niceness` steps nicer (WORKER_NICE): acknowledgements then win the CPU they share with
    scoring, and the worker still gets whatever the web leaves idle. Its work horses (--fork) inherit it."""
    if niceness:
        os.nice(niceness)
