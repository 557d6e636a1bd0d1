"""Client-side bounds on every wait for PostgreSQL, for a server that accepts connections and then says nothing.

The server's `statement_timeout` fires only when the statement reaches a server that still works. A server that
is stuck, or a network path that swallows packets while the kernel on our side of it still acknowledges them (a
proxy, a load balancer, a half-dead NAT), leaves the client waiting on the socket forever: TCP keepalives and
`tcp_user_timeout` never fire, because nothing is unacknowledged. So the bound has to be the client's own.

psycopg 3 runs every exchange with the server (execute, fetch, commit, rollback) through `Connection.wait`, which
takes a timeout. `BoundedConnection` passes one: the shorter of `DB_CLIENT_WAIT_S` and what is left of the
caller's deadline (`deadline()`, used by the web for a whole request). When it expires the connection is closed,
since the protocol is mid-exchange and cannot be reused, and the caller gets an `OperationalError`. SQLAlchemy sees
a closed connection, counts it as a disconnect and drops it from the pool. Connecting is bounded by psycopg itself
(`connect_timeout`); under a deadline that has already run out, no connection is attempted.
"""
from __future__ import annotations

import select
import time
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Iterator

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict

from integration import defaults

_deadline: ContextVar[float | None] = ContextVar("undertone_db_deadline", default=None)
_client_wait: ContextVar[float | None] = ContextVar("undertone_db_client_wait", default=None)
# psycopg's own wait error (a subclass of OperationalError). It is private, so look it up once and fail loudly
# here, not in the middle of a hang, if a psycopg upgrade renames it.
_WaitTimeout = errors._WaitTimeout
_PSYCOPG_INTERVAL_S = 0.1  # psycopg's default: how often a wait wakes to let Ctrl-C in


class DatabaseWaitExpired(psycopg.OperationalError):
    """The database did not answer within the client-side bound; the connection was closed."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every database wait inside the block (in this thread or task) ends by `seconds` from now, in total."""
    token = start_deadline(seconds)
    try:
        yield
    finally:
        end_deadline(token)


def start_deadline(seconds: float) -> Token:
    """`deadline` for code that starts and ends in different callbacks (a web request): pass the token to
    `end_deadline`."""
    return _deadline.set(time.monotonic() + seconds)


def end_deadline(token: Token) -> None:
    _deadline.reset(token)


@contextmanager
def client_wait(seconds: float) -> Iterator[None]:
    """Each database wait inside the block may last `seconds` (0: no client-side bound) instead of
    DB_CLIENT_WAIT_S: for a bulk catch-up whose server bound was lifted too (`undertone insights refresh`).
    A deadline (`deadline`) still applies."""
    token = _client_wait.set(seconds)
    try:
        yield
    finally:
        _client_wait.reset(token)


def remaining_s() -> float | None:
    """Seconds left of the current deadline, or None outside one."""
    ends = _deadline.get()
    return None if ends is None else ends - time.monotonic()


# When this process last saw each database (host, port, name) not answer, in monotonic seconds.
_unanswered_at: dict[tuple[str, str, str], float] = {}


def _note_unanswered(server: tuple[str, str, str]) -> None:
    _unanswered_at[server] = time.monotonic()


def _server(params: dict) -> tuple[str, str, str]:
    return str(params.get("host", "")), str(params.get("port", "")), str(params.get("dbname", ""))


class BoundedConnection(psycopg.Connection):
    """A psycopg connection whose every wait on the server is bounded on the client (see the module)."""

    def wait(self, gen, interval: float = _PSYCOPG_INTERVAL_S, timeout: float | None = None):
        limit = _client_wait.get()
        limit = defaults.DB_CLIENT_WAIT_S if limit is None else limit or None
        left = remaining_s()
        if left is not None:
            limit = max(0.0, left if limit is None else min(limit, left))
        if limit is None:  # lifted (`client_wait(0)`)
            return super().wait(gen, interval, timeout)
        if timeout is not None and timeout <= limit:  # the caller's own, shorter timeout: its error, its handling
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, limit)
        except _WaitTimeout:
            server = _server({"host": self.pgconn.host.decode(), "port": self.pgconn.port.decode(),
                              "dbname": self.pgconn.db.decode()})
            self.pgconn.finish()  # mid-exchange: the connection cannot be used again
            _note_unanswered(server)
            raise DatabaseWaitExpired(f"no answer from the database within {limit:.1f} s; connection closed") from None

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs):
        """Under a deadline (a web request), fail at once when no time is left, or when the database did not
        answer this process within the last DB_FAIL_FAST_S: senders queued behind a request that waited get
        their 503 at once instead of each waiting out a connect timeout in turn. Without a deadline (workers)
        every connect is tried."""
        left = remaining_s()
        if left is not None and left <= 0:
            raise DatabaseWaitExpired("no time left to connect to the database")
        server = _server({**conninfo_to_dict(conninfo), **kwargs})
        if left is not None and time.monotonic() - _unanswered_at.get(server, float("-inf")) < defaults.DB_FAIL_FAST_S:
            raise DatabaseWaitExpired("the database did not answer moments ago; not trying again yet")
        try:
            conn = super().connect(conninfo, **kwargs)
        except errors.ConnectionTimeout:
            _note_unanswered(server)
            raise
        return conn


def looks_alive(dbapi_conn) -> bool:
    """Whether an idle pooled connection still looks usable, without a round trip to the server.

    An idle connection has nothing to read. A server that shut down or restarted sent its FATAL message and
    closed; a reset connection reports an error: both make the socket readable. A connection that went
    silent passes this check; its next statement then ends at the client-side bound above.
    """
    if dbapi_conn.closed or dbapi_conn.broken:
        return False
    try:
        poller = select.poll()
        poller.register(dbapi_conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
        return not poller.poll(0)
    except (OSError, psycopg.Error):
        return False
