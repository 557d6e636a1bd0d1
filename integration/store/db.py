"""Engine and sessions: one `Database` per process, shared by the web app, workers and the CLI."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Any, Iterator

from psycopg import pq
from sqlalchemy import create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from integration import defaults
from integration.store import pg_waits, sqlite_turn
from integration.store.kept_connections import KeptConnections

_READ_ONLY = "undertone_read_only"  # execution option of read_session's connection


class Database:
    """Owns the engine and a session factory for one database URL."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        self.engine: Engine = _make_engine(url, echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._turn: sqlite_turn.Turn | None | bool = False  # the SQLite file's write turn, looked up on first use
        # The kept connections' own pool, made from the engine's (the same connect function, and the listeners
        # _make_engine added), so that making one never takes an idle connection from the sessions' pool. Each is
        # detached from it at once (Database.driver_connection).
        self._kept_pool = self.engine.pool.recreate()
        if self.is_sqlite:
            self._kept = KeptConnections(self._connect_kept, alive=_always, idle=_sqlite_idle)
        else:
            self._kept = KeptConnections(self._connect_kept, alive=pg_waits.looks_alive, idle=_postgresql_idle)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session that only reads: always rolled back, so nothing can be written through it. On SQLite it
        begins a deferred transaction, which in WAL mode reads beside a writer: no write lock and no write turn
        (sqlite_turn), so a read never keeps a writer waiting."""
        session = self._sessions()
        try:
            if self.is_sqlite:
                session.connection(execution_options={_READ_ONLY: True})
            yield session
        finally:
            session.close()  # rolls back

    def driver_connection(self) -> _DriverConnection:
        """This thread's own connection of the driver itself (sqlite3 or psycopg), kept between requests, for the
        hot path that skips SQLAlchemy's statement machinery and its pool (the webhook's INSERT; see
        kept_connections.py), as a context manager. It is made as the engine makes its own and detached from any
        pool, so it had the same connect-time set-up as the engine's other connections. It is in the driver's
        autocommit mode on both databases: the caller begins and ends its own transaction, and one it leaves open
        closes the connection. The driver's errors come out as SQLAlchemy's (DataError, OperationalError...); a
        lost connection is closed, with every other idle one of this process and the pool's, as SQLAlchemy does for
        its own statements, so the next request connects afresh instead of waiting on a dead socket."""
        return _DriverConnection(self)

    def _connect_kept(self) -> Any:
        """A new connection made as the engine makes its own (its connect listeners ran, and on PostgreSQL its
        bounded connect), detached from the pool it came from: no pool counts, resets or closes it."""
        dialect = self.engine.dialect
        try:
            pooled = self._kept_pool.connect()
        except dialect.loaded_dbapi.Error as exc:  # connecting: SQLAlchemy leaves the pool's errors unwrapped here
            raise _wrapped(exc, dialect, lost=False) from exc
        conn = pooled.driver_connection
        pooled.detach()
        if not self.is_sqlite:  # a client-side setting, no round trip; SQLite's is set at connect (_sqlite_pragmas)
            conn.autocommit = True
        return conn

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def write_hurried(self) -> bool:
        """SQLite: whether a web request waits for the write lock that this process's transaction holds
        (sqlite_turn's hurry flag), so a long transaction should end now. PostgreSQL: False (writers there wait for
        rows, not for one lock)."""
        if self._turn is False:
            self._turn = sqlite_turn.turn_for(self.engine.url.database or "") if self.is_sqlite else None
        return self._turn is not None and self._turn.hurried()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        """Close the kept connections (kept_connections.py) and the pool's."""
        self._kept.dispose()
        self.engine.dispose()


class _DriverConnection:
    """`Database.driver_connection`'s context manager: a class, since a generator-based one costs each webhook
    about 7 K instructions more (measured with callgrind)."""

    __slots__ = ("_db", "_kept")

    def __init__(self, db: Database):
        self._db = db

    def __enter__(self) -> Any:
        self._kept = self._db._kept.take()
        return self._kept.conn

    def __exit__(self, _type, exc, _traceback) -> None:
        kept_connections = self._db._kept
        try:
            dialect = self._db.engine.dialect
            if isinstance(exc, dialect.loaded_dbapi.Error):
                lost = dialect.is_disconnect(exc, self._kept.conn, None)
                if lost:
                    kept_connections.dispose()  # the others now, this one as it is given back below
                    self._db.engine.dispose()
                raise _wrapped(exc, dialect, lost) from exc
        finally:
            kept_connections.give_back(self._kept)


def _always(_conn) -> bool:
    return True


def _sqlite_idle(conn) -> bool:
    try:
        return not conn.in_transaction
    except sqlite3.ProgrammingError:  # closed
        return False


def _postgresql_idle(conn) -> bool:
    return conn.pgconn.transaction_status == pq.TransactionStatus.IDLE  # UNKNOWN when closed


def _wrapped(exc: Exception, dialect, lost: bool) -> Exception:
    """A driver error as SQLAlchemy raises it (its DataError, OperationalError...), without the bound values."""
    return DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True,
                               connection_invalidated=lost, dialect=dialect)


def insert_for(session: Session):
    """The INSERT construct of the session's dialect (SQLite's or PostgreSQL's), which has `on_conflict_do_nothing`."""
    return {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[session.get_bind().dialect.name]


def add_unless_exists(session: Session, row) -> bool:
    """Insert `row` in a savepoint; False when a unique key says it exists (an earlier or concurrent
    insert), leaving the rest of the transaction intact."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def _make_engine(url: str, echo: bool) -> Engine:
    """Every wait on the database is bounded (defaults.DB_*): a hung database is an error in seconds,
    not a hung request. hide_parameters: error messages and logs never carry the values sent (bodies
    can hold tokens)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, hide_parameters=True,
                               connect_args={"timeout": defaults.SQLITE_BUSY_TIMEOUT_S,
                                             "factory": sqlite_turn.TurnConnection})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # Every connection is a pg_waits.BoundedConnection: its waits end on the client even when the server cannot
    # answer. A pooled connection is checked without a round trip (_checkout_alive) instead of pool_pre_ping:
    # a PostgreSQL restart still never fails the next request, and a silent server cannot stall the ping itself.
    statement_ms = int(defaults.DB_STATEMENT_TIMEOUT_S * 1000)
    connect_args = {"connect_timeout": defaults.DB_CONNECT_TIMEOUT_S, "options": f"-c statement_timeout={statement_ms}"}
    engine = create_engine(url, echo=echo, hide_parameters=True, pool_size=5, max_overflow=5,
                           pool_timeout=defaults.DB_POOL_TIMEOUT_S, connect_args=connect_args)
    event.listen(engine, "do_connect", _bounded_connect)
    event.listen(engine, "checkout", _checkout_alive)
    return engine


def _bounded_connect(_dialect, _record, cargs, cparams):
    return pg_waits.BoundedConnection.connect(*cargs, **cparams)


def _checkout_alive(dbapi_conn, _record, _proxy) -> None:
    """A pooled connection the server closed (restart, reset) is replaced before use; SQLAlchemy retries the
    checkout on DisconnectionError."""
    if not pg_waits.looks_alive(dbapi_conn):
        raise DisconnectionError("pooled connection closed by the server")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """WAL lets the web process write while a worker reads; foreign keys are off by default in SQLite.

    pysqlite's own transaction handling is turned off (SQLAlchemy's documented recipe) so that
    SAVEPOINTs work and every transaction starts with BEGIN IMMEDIATE (see below).
    """
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(defaults.SQLITE_BUSY_TIMEOUT_S * 1000)}")
    # Switching to WAL needs the file's exclusive lock; asking first means an already-WAL database (every
    # one after its first connection) never waits here, so a locked file costs a request one bounded wait.
    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(conn) -> None:
    """Take the write lock at BEGIN: a deferred transaction that reads, then writes, fails at once with
    SQLITE_BUSY under concurrency in WAL mode instead of waiting; IMMEDIATE makes writers queue. Before it, the
    file's write turn across processes (sqlite_turn: no writer starves another), handed on at COMMIT/ROLLBACK.
    A read_session begins a deferred (read) transaction instead, and takes no turn."""
    if conn.get_execution_options().get(_READ_ONLY):
        conn.exec_driver_sql("BEGIN")
        return
    dbapi_conn = conn.connection.driver_connection
    take = getattr(dbapi_conn, "take_turn", None)  # a connection made elsewhere (a test's own) has no turn
    if take is not None:
        take()
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if take is not None:
            dbapi_conn.end_turn()
        raise
