"""One driver connection per thread, kept between uses, for the webhook's INSERT (the acknowledgement's hot path).

Checking a connection out of SQLAlchemy's pool and handing it back (the pool's events and checks, its
reset-on-return rollback) and, on PostgreSQL, switching psycopg's autocommit on and off around the INSERT cost each
webhook about 80 K instructions on SQLite and 120 K on PostgreSQL more than a kept connection does (callgrind,
docs/decisions.md). A kept connection is made by the caller's `connect` (db.py makes it as the engine makes its own,
so it has the same connect-time set-up); it then belongs to one thread of one process until it is lost, left inside
a transaction, or disposed of:

- A thread never uses another's connection. When a thread ends, its connection is closed.
- A forked child (a gunicorn worker, an RQ work horse) never uses its parent's connections, nor closes them (the
  parent still talks over them): it leaves them be and connects afresh.
- Before each use the connection is checked as the pool checks its own (`alive`, no round trip); after each use,
  one left inside a transaction (`idle` says no) is closed, never reused.
- `dispose()` closes every connection of this process that is not in use and marks the rest, which their threads
  close when their use ends: after it, every thread connects afresh. The caller disposes of them all when one
  connection was lost (the server restarted or stopped answering), as SQLAlchemy empties its pool, so no other
  thread then waits on a dead socket.
"""
from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Any, Callable

log = logging.getLogger(__name__)

# Connections a forked child inherited from its parent, referenced so that the child never closes them: closing a
# psycopg connection would end the parent's server session, and SQLite forbids carrying a connection across a fork.
_inherited: list[Any] = []


class _Kept:
    """One thread's connection, and the `dispose()` generation it was made in."""

    __slots__ = ("conn", "generation", "in_use", "pid", "__weakref__")

    def __init__(self, conn: Any, generation: int):
        self.conn = conn
        self.generation = generation
        self.in_use = False
        self.pid = os.getpid()

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception as exc:  # already closed, or the socket is gone: nothing is left to hand back
            log.debug("kept connection not closed cleanly: %s", type(exc).__name__)

    def __del__(self, _getpid=os.getpid) -> None:  # its thread ended (threading.local dropped it), or a fork left it
        if self.pid == _getpid():
            self.close()
        else:
            _inherited.append(self.conn)


class KeptConnections:
    """This process's kept driver connections, one per thread (see the module)."""

    def __init__(self, connect: Callable[[], Any], *, alive: Callable[[Any], bool], idle: Callable[[Any], bool]):
        self._connect = connect  # a new driver connection, set up like every other of the service
        self._alive = alive  # whether an idle connection still looks usable, without a round trip
        self._idle = idle  # whether a connection is outside any transaction (False when closed)
        self._start_process()
        _track(self)

    def _start_process(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: weakref.WeakSet[_Kept] = weakref.WeakSet()  # this process's, for dispose()
        self._generation = 0

    def take(self) -> _Kept:
        """This thread's connection (`.conn`), made on first use or after the last one was dropped; hand it back
        with `give_back` however its use ends. Errors from `connect` come out unchanged."""
        kept = getattr(self._local, "kept", None)
        if kept is not None:
            with self._lock:
                current = kept.generation == self._generation
                kept.in_use = current
            if current and self._alive(kept.conn):
                return kept
            self._drop(kept)
        conn = self._connect()
        with self._lock:
            kept = _Kept(conn, self._generation)
            kept.in_use = True
            self._all.add(kept)
        self._local.kept = kept
        return kept

    def give_back(self, kept: _Kept) -> None:
        """End a use: the connection is kept for the thread's next one, unless it was disposed of meanwhile or
        was left inside a transaction."""
        with self._lock:
            keep = kept.generation == self._generation and self._idle(kept.conn)
            if keep:
                kept.in_use = False  # from here dispose() may close it; the next take() sees that it did
        if not keep:
            self._drop(kept)

    def dispose(self) -> None:
        """Close this process's connections: the idle ones now, the ones in use when their use ends."""
        with self._lock:
            self._generation += 1
            idle = [kept for kept in self._all if not kept.in_use]
            for kept in idle:
                self._all.discard(kept)
        for kept in idle:
            kept.close()

    def _drop(self, kept: _Kept) -> None:
        """Forget a connection and close it, unless dispose() took it first and closes it itself: a connection is
        closed by whoever takes it out of `_all`, so no two threads ever close one at once."""
        with self._lock:
            ours = kept in self._all
            self._all.discard(kept)
            kept.in_use = False
        if getattr(self._local, "kept", None) is kept:
            del self._local.kept
        if ours:
            kept.close()


_instances: weakref.WeakSet[KeptConnections] = weakref.WeakSet()
_instances_lock = threading.Lock()
_fork_hook_registered = False


def _track(kept_connections: KeptConnections) -> None:
    """Remember an instance for the fork hook, which is registered with the first one (nothing at import)."""
    global _fork_hook_registered
    with _instances_lock:
        if not _fork_hook_registered:
            os.register_at_fork(after_in_child=_forget_after_fork)
            _fork_hook_registered = True
        _instances.add(kept_connections)


def _forget_after_fork() -> None:
    """In a forked child, every KeptConnections starts empty, with a lock of its own (the parent's may have been
    held by another thread at the fork). The parent's connections are left unused, and never closed here
    (`_Kept.__del__` keeps them referenced): the parent still talks over them."""
    global _instances_lock
    _instances_lock = threading.Lock()  # the parent's may have been held at the fork, too
    for kept_connections in list(_instances):
        kept_connections._start_process()

