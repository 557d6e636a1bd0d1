"""Whose turn it is to write to a SQLite file, across the processes that share it (web, workers, scheduler).

SQLite lets one connection write at a time. A connection that finds the write lock taken sleeps in SQLite's busy
handler and tries again after 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms...; it never learns that the lock
was freed meanwhile. A worker storing a batch runs its write transactions back to back, a millisecond apart, so a
web request that began waiting during the first one usually slept through every gap and waited for the whole
batch: up to the busy timeout, then a 503 (measured with a busy worker: the durable floor's BEGIN waited 930 ms at
p99, 2 s at worst, while no single worker transaction held the lock more than 270 ms).

So every write transaction of this service first takes a turn: two `flock` locks on files beside the database
(`<db>-turn` is the write turn itself; `<db>-turn-queue` is the queue in front of it). A writer takes the queue,
then the turn, then lets the queue go, and holds the turn until its COMMIT or ROLLBACK has returned. One waiter at a
time holds the queue, so a writer that has just finished must queue behind a writer already waiting instead of
taking the turn again: no process can starve another by writing back to back. Within a process, threads take a
Python lock first (only one of them waits at the file locks). Waits are bounded (`timeout_s`: SQLite's busy timeout,
or what a web request's deadline leaves before it). A waiter sleeps in select() on a doorbell, a FIFO beside each
lock file that the holder rings when it lets go, so it starts as soon as the turn is free, without polling; it tries
the lock anyway every few milliseconds in case a ring was missed. The kernel drops a dead process's locks, so a
crashed holder blocks no one.

A writer inside a web request's deadline (pg_waits) is in a hurry: while it waits it also holds a shared lock on a
third file, `<db>-turn-hurry`. A worker's long transaction asks `hurried()` between events (an exclusive try-lock on
that file fails while anyone holds it shared) and hands the turn on as soon as it has held it for its short bound;
while no request waits, it may keep the turn longer and store a whole batch in one transaction (see
integration/pipeline/batch.py). Another worker waiting does not hurry the holder: trading the turn every few events
between workers costs the burst more than the wait costs either of them.

SQLite's own lock and busy timeout stay underneath, for writers that do not take a turn (the sqlite3 shell,
migrations) and as the last word on what is written. An in-memory database has no file and no turn.
"""
from __future__ import annotations

import fcntl
import logging
import os
import select
import sqlite3
import stat
import threading
import time

from sqlalchemy.exc import OperationalError

from integration import defaults
from integration.store import pg_waits

log = logging.getLogger(__name__)

_POLL_S = 0.001  # how often a waiter tries a file lock again when it has no doorbell
_BELL_WAIT_S = 0.005  # how long a waiter sleeps on a silent doorbell before it tries the lock anyway


class Turn:
    """The write turn of one SQLite file, for this process. Reentrant within a thread (a nested transaction of
    the same thread meets SQLite's own lock, as it would without the turn); released from any thread."""

    def __init__(self, database_path: str):
        self.path = f"{database_path}-turn"
        self._threads = threading.Lock()  # this process's writers, one at a time
        self._owner: int | None = None
        self._depth = 0
        self._pid = os.getpid()
        self._locks: tuple[_FileLock, _FileLock, _FileLock] | None = None  # (queue, turn, hurry), opened on first use
        self._unavailable = False  # no lock files could be made there

    def take(self, timeout_s: float | None = None) -> None:
        """Wait for the turn, at most `timeout_s` (default: `timeout()`); OperationalError past it."""
        me = threading.get_ident()
        if self._owner == me:  # only this thread sets or clears its own ident, so this read is safe
            self._depth += 1
            return
        waited_until = time.monotonic() + (timeout() if timeout_s is None else timeout_s)
        if not self._threads.acquire(timeout=max(0.0, waited_until - time.monotonic())):
            raise _busy("this process's other writers kept SQLite busy")
        try:
            locks = self._files()
            if locks is not None:
                queue, turn, hurry = locks
                in_a_hurry = pg_waits.remaining_s() is not None  # a web request's write
                if in_a_hurry:
                    # shared with other waiting requests; only hurried()'s momentary exclusive try holds it off
                    hurry.take(waited_until, "a writer kept SQLite's hurry flag", fcntl.LOCK_SH)
                try:
                    queue.take(waited_until, "a writer waiting before this one kept SQLite busy")
                    try:
                        turn.take(waited_until, "another process kept SQLite busy")
                    finally:
                        queue.release()
                finally:
                    if in_a_hurry:
                        hurry.release()
        except BaseException:
            self._threads.release()
            raise
        self._owner, self._depth = me, 1

    def release(self) -> None:
        """End one `take`; the last one hands the turn on."""
        self._depth -= 1
        if self._depth > 0:
            return
        self._owner = None
        if self._locks is not None and self._pid == os.getpid():
            self._locks[1].release()
        self._threads.release()

    def hurried(self) -> bool:
        """Whether a writer of another process in a hurry (a web request) waits for the turn. Meant for the holder
        of the turn, between the statements of a long transaction; a writer of this process waits behind the
        holder's thread lock and is not seen."""
        locks = self._files()
        return locks is not None and locks[2].held_elsewhere()

    def _files(self) -> tuple[_FileLock, _FileLock, _FileLock] | None:
        if self._pid != os.getpid():  # a forked child: its own open files, never the parent's (flock is per open file)
            self._pid, self._locks, self._unavailable = os.getpid(), None, False
        if self._locks is None and not self._unavailable:
            try:
                self._locks = (_FileLock(f"{self.path}-queue"), _FileLock(self.path),
                               _FileLock(f"{self.path}-hurry", bell=False))
            except OSError as exc:  # SQLite could not keep its -wal file there either; its own lock still holds
                log.warning("no SQLite write turn beside %s (%s): writers fall back to SQLite's busy handler",
                            self.path, exc)
                self._unavailable = True
        return self._locks


def timeout() -> float:
    """How long a writer may wait for its turn: SQLite's busy timeout, or, inside a web request's deadline, what
    the deadline leaves after the busy timeout that SQLite itself may still spend (see db_deadline)."""
    busy = defaults.SQLITE_BUSY_TIMEOUT_S
    left = pg_waits.remaining_s()
    return busy if left is None else max(0.0, left - busy)


class TurnConnection(sqlite3.Connection):
    """A sqlite3 connection that knows its file's turn and hands it on when its transaction ends (COMMIT or
    ROLLBACK returned, or the connection closed). `db.py` makes every connection of the service one of these and
    takes the turn before BEGIN IMMEDIATE; the inbox takes it around its own statements."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self.turn = turn_for(database)
        self._holding = False

    def take_turn(self, timeout_s: float | None = None) -> None:
        if self.turn is not None and not self._holding:
            self.turn.take(timeout_s)
            self._holding = True

    def end_turn(self) -> None:
        if self._holding:
            self._holding = False
            self.turn.release()

    def commit(self):
        try:
            return super().commit()
        finally:
            self.end_turn()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self.end_turn()

    def close(self):
        try:
            return super().close()
        finally:
            self.end_turn()


_turns: dict[str, Turn] = {}
_turns_lock = threading.Lock()


def turn_for(database) -> Turn | None:
    """The process's Turn for a database file (one per file, shared by its connections); None in memory."""
    name = os.fspath(database)
    if name in ("", ":memory:") or name.startswith("file:"):
        return None
    path = os.path.realpath(name)
    with _turns_lock:
        if not _turns:
            os.register_at_fork(after_in_child=_forget_after_fork)
        if path not in _turns:
            _turns[path] = Turn(path)
        return _turns[path]


def _forget_after_fork() -> None:
    """A forked child (RQ's work horse) starts with turns of its own: the parent's threads and open files are not
    its (flock belongs to the open file, which parent and child would share)."""
    for turn in _turns.values():
        turn.__init__(turn.path[:-len("-turn")])


class _FileLock:
    """An exclusive flock on a file, with a doorbell: a FIFO beside it (`<file>.bell`) that the holder writes a
    byte to when it lets go, so that a waiter sleeping in select() on it wakes at once instead of polling. The lock
    decides; the bell is only a wake-up (a missed or stale ring costs at most _BELL_WAIT_S or one more try). The
    hurry flag is one without a bell (its waiters poll every _POLL_S), taken shared."""

    def __init__(self, path: str, bell: bool = True):
        self.fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
        self.bell = _open_bell(f"{path}.bell") if bell else None

    def take(self, until: float, why: str, mode: int = fcntl.LOCK_EX) -> None:
        """The lock, exclusive or (`mode` LOCK_SH) shared, waiting at most until `until`; OperationalError past it."""
        while True:
            try:
                fcntl.flock(self.fd, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            left = until - time.monotonic()
            if left <= 0:
                raise _busy(why)
            if self.bell is None:
                time.sleep(min(_POLL_S, left))
            elif select.select([self.bell], [], [], min(_BELL_WAIT_S, left))[0]:
                try:
                    os.read(self.bell, 65536)  # every ring so far: the lock is tried again now
                except BlockingIOError:  # another waiter took the ring first
                    pass

    def held_elsewhere(self) -> bool:
        """Whether another open file holds a lock on this one (an exclusive try fails), without keeping it."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        return False

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        if self.bell is not None:
            try:
                os.write(self.bell, b"\0")
            except BlockingIOError:  # full of rings no one waited for: a waiter wakes at once anyway
                pass


def _open_bell(path: str) -> int | None:
    """The doorbell FIFO, opened read-write and non-blocking (so opening never waits for a peer); None when the
    file system has no FIFOs: waiters then poll every _POLL_S."""
    try:
        os.mkfifo(path, 0o666)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def _busy(why: str) -> OperationalError:
    """What SQLAlchemy raises when SQLite stays locked (the webhook's 503, a worker's retry)."""
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(f"database is locked: {why}"))
