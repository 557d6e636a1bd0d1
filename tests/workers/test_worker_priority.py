"""A real `undertone worker` lowers its own CPU priority (WORKER_NICE), so acknowledgements win shared cores."""
from __future__ import annotations

import os
from pathlib import Path

from redis import Redis
from rq import Worker

from tests.workers.processes import Process, environment, wait_until


def _niceness(pid: int) -> int:
    """The process's nice value, field 19 of /proc/<pid>/stat (after the command name in parentheses)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[16])


def _running_worker(sqlite_url: str, redis_url: str, tmp_path: Path, **env: str) -> int:
    """Start a worker, wait until it has registered with RQ (past its start-up), return its nice value."""
    worker = Process(["worker"], environment(sqlite_url, redis_url, **env), tmp_path / "worker.log")
    try:
        wait_until(lambda: Worker.all(connection=Redis.from_url(redis_url)), 120, what="worker registered")
        return _niceness(worker.pid)
    finally:
        worker.stop()


def test_worker_runs_at_worker_nice(sqlite_url, redis_url, tmp_path):
    assert _running_worker(sqlite_url, redis_url, tmp_path, WORKER_NICE="7") == min(19, os.nice(0) + 7)


def test_worker_nice_zero_keeps_the_priority_it_was_started_with(sqlite_url, redis_url, tmp_path):
    assert _running_worker(sqlite_url, redis_url, tmp_path, WORKER_NICE="0") == os.nice(0)


def _thread_policies(pid: int) -> dict[int, int]:
    """Scheduling policy (os.SCHED_*) of each thread of a process."""
    return {int(tid): os.sched_getscheduler(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")}


def _running_worker_policies(sqlite_url: str, redis_url: str, tmp_path: Path, **env: str) -> tuple[int, dict[int, int]]:
    worker = Process(["worker"], environment(sqlite_url, redis_url, **env), tmp_path / "worker.log")
    try:
        wait_until(lambda: Worker.all(connection=Redis.from_url(redis_url)), 120, what="worker registered")
        return worker.pid, _thread_policies(worker.pid)
    finally:
        worker.stop()


def test_worker_scores_on_one_sched_idle_thread_and_keeps_the_rest_ordinary(sqlite_url, redis_url, tmp_path):
    pid, policies = _running_worker_policies(sqlite_url, redis_url, tmp_path)
    assert policies[pid] == os.SCHED_OTHER  # the main thread holds SQLite's write turn and row locks
    assert list(policies.values()).count(os.SCHED_IDLE) == 1


def test_worker_scoring_idle_off_leaves_every_thread_ordinary(sqlite_url, redis_url, tmp_path):
    _, policies = _running_worker_policies(sqlite_url, redis_url, tmp_path, WORKER_SCORING_IDLE="false")
    assert os.SCHED_IDLE not in policies.values()
