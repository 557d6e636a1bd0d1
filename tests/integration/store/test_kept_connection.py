"""The inbox's own driver connection: one per thread and process, kept between requests, replaced when lost."""
from __future__ import annotations

import gc
import os
import select
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from connectors.base import InboundEvent
from integration import defaults
from integration.store import inbox, pg_waits, sqlite_turn
from integration.store.db import Database


def _event(event_id: str) -> InboundEvent:
    return InboundEvent(event_id=event_id, event_type="call.completed", body=b'{"id": "%s"}' % event_id.encode())


def _accept(db: Database, *event_ids: str) -> int:
    return len(inbox.accept(db, "quo", [_event(e) for e in event_ids], lambda _type: True).new)


def _kept(db: Database):
    """This thread's kept connection (made now if it has none)."""
    with db.driver_connection() as conn:
        return conn


def _closed(conn) -> bool:
    if isinstance(conn, sqlite3.Connection):
        try:
            conn.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return True
        return False
    return conn.closed


def _server_side(conn):
    """What tells two connections apart from the database's side: PostgreSQL's backend pid, or the object."""
    return id(conn) if isinstance(conn, sqlite3.Connection) else conn.info.backend_pid


def test_requests_of_a_thread_keep_one_connection_and_leave_the_pool_alone(db):
    """No pool checkout per request, and no idle connection taken from the sessions: every INSERT of the thread
    runs on the one connection it made (SQLAlchemy's checkout event counts the engine pool's hand-outs)."""
    db.ping()  # the dialect's first connect; the pool keeps this connection for the sessions
    checkouts = []

    def count(*_args):
        checkouts.append(1)

    event.listen(db.engine, "checkout", count)
    try:
        first = _kept(db)
        assert _accept(db, "a") + _accept(db, "b") + _accept(db, "c", "d") == 4
        assert _kept(db) is first
    finally:
        event.remove(db.engine, "checkout", count)
    assert checkouts == []
    assert (db.engine.pool.checkedin(), db.engine.pool.checkedout()) == (1, 0)


def test_the_kept_connection_has_the_engines_connect_time_set_up(db):
    """The same set-up as every connection of the engine: SQLite's PRAGMAs and write turn, PostgreSQL's statement
    timeout and client-side bounds; and the driver's autocommit mode, in which the inbox begins its own
    transactions."""
    conn = _kept(db)
    if db.is_sqlite:
        assert isinstance(conn, sqlite_turn.TurnConnection) and conn.turn is not None
        assert conn.isolation_level is None
        pragmas = {name: conn.execute(f"PRAGMA {name}").fetchone()[0]
                   for name in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")}
        assert pragmas == {"journal_mode": "wal", "busy_timeout": int(defaults.SQLITE_BUSY_TIMEOUT_S * 1000),
                           "synchronous": 1, "foreign_keys": 1}
    else:
        assert isinstance(conn, pg_waits.BoundedConnection) and conn.autocommit
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == f"{defaults.DB_STATEMENT_TIMEOUT_S}s"


def test_each_thread_has_its_own_connection_closed_when_the_thread_ends(db):
    mine = _kept(db)
    theirs, both_in, done = [], threading.Barrier(2), threading.Event()

    def other_thread():
        with db.driver_connection() as conn:
            theirs.append(conn)
            both_in.wait(5)
            done.wait(5)

    thread = threading.Thread(target=other_thread)
    thread.start()
    with db.driver_connection() as conn:
        both_in.wait(5)
        assert conn is mine and theirs[0] is not mine
        done.set()
    thread.join()
    gc.collect()
    assert _closed(theirs[0]) and not _closed(mine)


def test_a_connection_left_inside_a_transaction_is_closed_not_reused(db):
    """What the pool's reset-on-return did: nothing the caller left open outlives its use (a lock, a snapshot)."""
    with db.driver_connection() as conn:
        cursor = conn.cursor()
        cursor.execute("BEGIN IMMEDIATE" if db.is_sqlite else "BEGIN")
        cursor.execute("INSERT INTO webhook_events (source, event_id, event_type, received_at, body, headers, status,"
                       " attempts) VALUES ('quo', 'left', 't', '2026-01-01', x'00', '{}', 'pending', 0)"
                       if db.is_sqlite else
                       "INSERT INTO webhook_events (source, event_id, event_type, received_at, body, headers, status,"
                       " attempts) VALUES ('quo', 'left', 't', now(), '\\x00', '{}', 'pending', 0)")
    assert _closed(conn)
    assert _kept(db) is not conn
    assert _accept(db, "left") == 1  # the uncommitted row is gone, and no write lock was left behind


def test_dispose_closes_the_idle_connections_now_and_one_in_use_when_its_use_ends(db):
    idle = _kept(db)
    in_use, entered, release = [], threading.Event(), threading.Event()

    def busy_thread():
        with db.driver_connection() as conn:
            in_use.append(conn)
            entered.set()
            release.wait(5)
            conn.cursor().execute("SELECT 1")  # still usable after dispose() returned
        release.clear()
        entered.wait(5)

    thread = threading.Thread(target=busy_thread)
    thread.start()
    assert entered.wait(5)
    entered.clear()
    db.dispose()
    assert _closed(idle) and not _closed(in_use[0])
    release.set()
    while release.is_set():
        time.sleep(0.01)
    assert _closed(in_use[0])  # closed as its use ended, while its thread still runs
    entered.set()
    thread.join()
    assert _accept(db, "after") == 1  # a new connection


def test_a_forked_child_connects_afresh_and_leaves_the_parents_connection_alone(db):
    """gunicorn forks its workers, RQ its work horses: a child never talks over its parent's connection (on
    PostgreSQL both would share one server session; SQLite forbids carrying a connection across a fork)."""
    assert _accept(db, "parent") == 1
    parents = _kept(db)
    parent_side = _server_side(parents)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's answer travels through the pipe
        try:
            stored = _accept(db, "child")
            os.write(write, f"{stored} {_server_side(_kept(db))}".encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(child, 0)
    answer = os.read(read, 64).decode().split()
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert answer[0] == "1" and answer[1] != str(parent_side)
    gc.collect()
    assert _accept(db, "parent again") == 1  # the child closed nothing of the parent's
    assert _kept(db) is parents and not _closed(parents)


def _terminate(postgres_url: str, conn) -> None:
    """End a connection's server session from another (pg_terminate_backend), and wait until its goodbye arrived."""
    admin = Database(postgres_url)
    with admin.engine.connect() as other:
        assert other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": conn.info.backend_pid}).scalar()
    admin.dispose()
    poller = select.poll()
    poller.register(conn.pgconn.socket, select.POLLIN)
    assert poller.poll(5000)


@pytest.fixture
def proxied(database_url, monkeypatch, request):
    """The test PostgreSQL database behind the fault suite's TCP proxy, which can reset or hang its connections."""
    if database_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL connection")
    monkeypatch.setattr(pg_waits, "_unanswered_at", {})  # the shared test database must not fail fast afterwards
    return request.getfixturevalue("proxy_and_db")


def test_a_connection_the_server_killed_is_replaced_before_the_next_request(db, postgres_url):
    """pg_terminate_backend, or a restart: the next request connects afresh and succeeds (what the pool's checkout
    check did); the request after it keeps the new connection."""
    if db.is_sqlite:
        pytest.skip("a PostgreSQL connection")
    assert _accept(db, "before") == 1
    killed = _kept(db)
    _terminate(postgres_url, killed)
    assert _accept(db, "after") == 1
    replaced = _kept(db)
    assert _closed(killed) and replaced is not killed
    assert _accept(db, "later") == 1 and _kept(db) is replaced


def test_a_connection_lost_mid_request_gives_sqlalchemys_error_and_every_idle_one_is_replaced(db, postgres_url,
                                                                                              monkeypatch):
    """A connection lost where the liveness check could not see it: the request fails with SQLAlchemy's
    OperationalError (the webhook's 503), the lost connection is closed, and so is another thread's idle one, as
    SQLAlchemy empties its pool: the next requests connect afresh instead of trying a dead socket."""
    if db.is_sqlite:
        pytest.skip("a PostgreSQL connection")
    theirs, go = [], threading.Event()

    def other_thread():
        theirs.append(_kept(db))
        go.wait(5)
        theirs.append(_accept(db, "theirs"))

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert _accept(db, "before") == 1
    mine = _kept(db)
    _terminate(postgres_url, mine)
    monkeypatch.setattr(db._kept, "_alive", lambda _conn: True)  # as if the server's goodbye had not reached us
    with pytest.raises(OperationalError) as caught:
        _accept(db, "during")
    assert caught.value.connection_invalidated
    assert _closed(mine) and _closed(theirs[0])
    go.set()
    thread.join()
    assert theirs[1] == 1 and _accept(db, "after") == 1


@pytest.mark.timeout(60)
def test_a_kept_connection_to_a_hung_database_ends_within_the_request_deadline(proxied):
    """The kept connection is a pg_waits.BoundedConnection like the pool's: under a web request's deadline its
    INSERT ends in time, it is dropped, and the next request fails fast instead of waiting again."""
    proxy, database = proxied
    assert _accept(database, "before") == 1
    proxy.set_mode("hang")
    with pg_waits.deadline(1.0):
        started = time.monotonic()
        with pytest.raises(OperationalError):
            _accept(database, "hung")
        assert 0.9 < time.monotonic() - started < 2
    with pg_waits.deadline(1.0):
        started = time.monotonic()
        with pytest.raises(OperationalError):
            _accept(database, "hung")
        assert time.monotonic() - started < 0.5
    proxy.set_mode("pass")
    pg_waits._unanswered_at.clear()
    assert _accept(database, "healed") == 1
