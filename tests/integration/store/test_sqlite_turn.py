"""SQLite's write turn across processes (integration/store/sqlite_turn.py): a writer in one process is not starved
by another process's back-to-back write transactions, a hung holder still gives a bounded wait, and a dead one
blocks no one. The other processes are real ones, writing through the service's own Database."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from connectors.base import InboundEvent
from integration import defaults
from integration.store import inbox, pg_waits, sqlite_turn
from integration.store.db import Database
from integration.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[3]

# A worker storing a batch: write transactions back to back, each holding SQLite's write lock for 50 ms, with
# only the few hundred microseconds between a COMMIT and the next BEGIN free.
BACK_TO_BACK = """
import sys, time
from sqlalchemy import text
from integration.store.db import Database
db = Database(sys.argv[1])
done = 0
while True:
    with db.session() as session:
        session.execute(text("UPDATE webhook_events SET attempts = attempts + 1 WHERE event_id = 'busy'"))
        time.sleep(0.05)
    done += 1
    if done == 2:
        print("writing", flush=True)
"""

# A process that takes the turn and then hangs (stopped, stuck, or killed later).
HOLDS_THE_TURN = """
import sys, time
from integration.store import sqlite_turn
sqlite_turn.turn_for(sys.argv[1]).take(timeout_s=5)
print("holding", flush=True)
time.sleep(120)
"""

# A writer of another process that waits for the turn: a web request's (inside its database deadline) or a worker's.
WAITS_FOR_THE_TURN = """
import sys
from integration.store import pg_waits, sqlite_turn
turn = sqlite_turn.turn_for(sys.argv[1])
print("waiting", flush=True)
if "{who}" == "web":
    with pg_waits.deadline(30):
        turn.take()
else:
    turn.take(timeout_s=30)
print("took", flush=True)
turn.release()
"""


@pytest.fixture
def sqlite_file(tmp_path) -> str:
    path = tmp_path / "turn.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


def _start(script: str, argument: str, ready: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", script, argument], cwd=ROOT, stdout=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    line = process.stdout.readline()
    if line.strip() != ready:
        process.kill()
        pytest.fail(f"the helper process did not start: {line!r}")
    return process


def _stop(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(10)
    process.stdout.close()


def _event(event_id: str) -> InboundEvent:
    return InboundEvent(event_id, "call.completed", b"{}")


def test_a_web_write_is_not_starved_by_back_to_back_writes_of_another_process(sqlite_file):
    """Without the turn, the web's INSERT sleeps in SQLite's busy handler and wakes while the lock is held again,
    until the busy timeout: a 503. With it, each write waits for at most the transaction in progress."""
    db = Database(f"sqlite:///{sqlite_file}")
    inbox.accept(db, "quo", [_event("busy")], lambda _type: True)
    writer = _start(BACK_TO_BACK, f"sqlite:///{sqlite_file}", "writing")
    try:
        before, number = _writes(db), 0
        while _writes(db) < before + 5:  # the web writes on while the other process commits 5 more times
            with pg_waits.deadline(defaults.DB_REQUEST_DEADLINE_S):  # the web request's bound
                assert len(inbox.accept(db, "quo", [_event(f"web-{number}")], lambda _type: True).new) == 1
            number += 1
            assert number < 1000, "the back-to-back writer made no progress"
        assert writer.poll() is None  # it kept writing all along
    finally:
        _stop(writer)
    db.dispose()


def _writes(db: Database) -> int:
    """The back-to-back writer's transactions so far (read without waiting for a turn)."""
    with db.read_session() as session:
        return session.execute(text("SELECT attempts FROM webhook_events WHERE event_id = 'busy'")).scalar()


def test_a_hung_holder_of_the_turn_gives_a_bounded_wait_and_a_dead_one_blocks_no_one(sqlite_file):
    db = Database(f"sqlite:///{sqlite_file}")
    holder = _start(HOLDS_THE_TURN, sqlite_file, "holding")
    try:
        os.kill(holder.pid, signal.SIGSTOP)  # hung in the middle of its transaction
        started = time.monotonic()
        with pg_waits.deadline(defaults.DB_REQUEST_DEADLINE_S), pytest.raises(OperationalError, match="locked"):
            inbox.accept(db, "quo", [_event("during")], lambda _type: True)
        assert time.monotonic() - started < defaults.DB_REQUEST_DEADLINE_S
        with pytest.raises(OperationalError, match="locked"), db.session() as session:  # a worker: the busy timeout
            session.execute(text("UPDATE webhook_events SET attempts = 1"))
        with db.read_session() as session:  # a read takes no turn: it goes on beside the writer (WAL)
            assert session.execute(text("SELECT count(*) FROM webhook_events")).scalar() == 0
    finally:
        _stop(holder)  # SIGKILL: the kernel drops its locks
    assert len(inbox.accept(db, "quo", [_event("after")], lambda _type: True).new) == 1
    with db.session() as session:
        session.execute(text("UPDATE webhook_events SET attempts = 1"))
    db.dispose()


def test_a_web_request_waiting_for_the_turn_hurries_its_holder_and_a_worker_waiting_does_not(sqlite_file):
    """A worker's long transaction ends early only for the web (batch.py asks `hurried()` between events)."""
    turn = sqlite_turn.turn_for(sqlite_file)
    turn.take(timeout_s=5)
    waiters = []
    try:
        assert not turn.hurried()
        waiters.append(_start(WAITS_FOR_THE_TURN.format(who="worker"), sqlite_file, "waiting"))
        time.sleep(0.3)  # the worker now waits at the queue and the turn
        assert not turn.hurried()
        waiters.append(_start(WAITS_FOR_THE_TURN.format(who="web"), sqlite_file, "waiting"))
        _until(turn.hurried, "the web request's wait never hurried the holder")
    finally:
        turn.release()
    try:
        for waiter in waiters:  # each takes the turn after the holder lets go, then hands it on
            assert waiter.stdout.readline().strip() == "took"
            assert waiter.wait(10) == 0
        assert not turn.hurried()  # no one waits any more
    finally:
        for waiter in waiters:
            _stop(waiter)


def _until(check, message: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(0.01)


def test_a_read_session_writes_nothing(sqlite_file):
    db = Database(f"sqlite:///{sqlite_file}")
    inbox.accept(db, "quo", [_event("kept")], lambda _type: True)
    with db.read_session() as session:
        session.execute(text("UPDATE webhook_events SET attempts = 7"))  # SQLite: upgrades the read; rolled back
    with db.read_session() as session:
        assert session.execute(text("SELECT attempts FROM webhook_events")).scalar() == 0
    db.dispose()
