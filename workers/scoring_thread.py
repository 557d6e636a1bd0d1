"""The worker's model work on a thread of its own that yields the CPU at once to anything else (SCHED_IDLE).

Why a thread and not the whole process: WORKER_NICE lowers the worker's weight, but under Linux's scheduler a
nice task that is running keeps the core for the rest of its time slice when an acknowledgement's thread wakes,
and a webhook waits behind it (p99 over 100 ms with a worker scoring, docs/decisions.md, "Scoring at
SCHED_IDLE"). A SCHED_IDLE thread is preempted as soon as any ordinary thread is ready to run, so model
inference, the bulk of a worker's CPU, only takes cycles nobody else wants. The rest of the worker (its
database transactions, SQLite's write turn among them, Redis, the CRM calls) stays at WORKER_NICE: a SCHED_IDLE
thread could be starved while it holds a lock the web waits for, and an unprivileged thread cannot leave
SCHED_IDLE again, so the policy belongs to a thread that never holds one.

torch's intra-op threads are started by the thread that first runs a parallel operation and inherit its
policy, so they are SCHED_IDLE too. The thread is per process: a work horse forked by `--fork` starts its own.
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Sequence

log = logging.getLogger(__name__)


class ScoringThread:
    """Runs callables one at a time on one thread of this process (a one-thread executor), optionally at
    SCHED_IDLE; the caller waits for each."""

    def __init__(self, idle: bool) -> None:
        self.idle = idle
        self.native_id: int | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(*args) on the scoring thread; its result, or its exception raised here."""
        return self._current().submit(fn, *args).result()

    def start(self) -> None:
        """Start this process's thread unless it runs (run() does it too)."""
        self._current()

    def _current(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child: the parent's thread is not ours
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="undertone-scoring",
                                                    initializer=self._on_start)
                self._executor.submit(int).result()  # the thread exists, its policy set, before any work
                self._pid = os.getpid()
            return self._executor

    def _on_start(self) -> None:
        self.native_id = threading.get_native_id()
        if self.idle:
            lower_to_idle(self.native_id)


def lower_to_idle(thread_id: int) -> bool:
    """Put one thread (a Linux thread id) under SCHED_IDLE; False, logged, where the platform has no such policy."""
    if not hasattr(os, "SCHED_IDLE"):
        log.info("no SCHED_IDLE on this platform: scoring runs at the worker's nice only")
        return False
    try:
        os.sched_setscheduler(thread_id, os.SCHED_IDLE, os.sched_param(0))
    except OSError as exc:
        log.warning("could not put the scoring thread under SCHED_IDLE (%s): it runs at the worker's nice", exc)
        return False
    return True


class AnalyzerOnThread:
    """An Analyzer whose analyses run on a ScoringThread; everything else is the analyzer's own."""

    def __init__(self, analyzer, thread: ScoringThread) -> None:
        self._analyzer = analyzer
        self._thread = thread

    def analyse(self, turns: Sequence[dict] | None, summary: str | None, history):
        return self._thread.run(self._analyzer.analyse, turns, summary, history)

    def analyse_many(self, items: Sequence[tuple]):
        return self._thread.run(self._analyzer.analyse_many, items)

    def __getattr__(self, name: str):
        return getattr(self._analyzer, name)
