"""Client-side bounds on PostgreSQL waits: real PostgreSQL behind the fault suite's TCP proxy, told to hang or reset."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from integration import defaults
from integration.store import pg_waits
from integration.store.db import Database


@pytest.fixture(autouse=True)
def forget_unanswered_databases(monkeypatch):
    """What a test here saw not answer is forgotten after it: the session's shared test database must not fail
    fast in the tests that follow (DB_FAIL_FAST_S)."""
    monkeypatch.setattr(pg_waits, "_unanswered_at", {})


def count_events(database: Database) -> int:
    with database.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM webhook_events")).scalar()


@pytest.mark.timeout(60)
def test_a_worker_statement_on_a_pooled_connection_ends_at_the_client_bound(proxy_and_db, monkeypatch):
    """No deadline (a worker, the CLI): each wait still ends after DB_CLIENT_WAIT_S, and the connection is dropped."""
    monkeypatch.setattr(defaults, "DB_CLIENT_WAIT_S", 1.0)
    proxy, database = proxy_and_db
    assert count_events(database) >= 0
    proxy.set_mode("hang")
    started = time.monotonic()
    with pytest.raises(OperationalError) as caught:
        count_events(database)
    assert 0.9 < time.monotonic() - started < 3
    assert isinstance(caught.value.orig, pg_waits.DatabaseWaitExpired)
    assert database.engine.pool.checkedout() == 0
    proxy.set_mode("pass")
    assert count_events(database) >= 0  # a fresh connection, no restart needed


@pytest.mark.timeout(60)
def test_a_deadline_bounds_all_the_waits_together(proxy_and_db):
    """The web's request deadline: the pooled connection waits out what is left of it, then nothing more is tried."""
    proxy, database = proxy_and_db
    assert count_events(database) >= 0
    proxy.set_mode("hang")
    with pg_waits.deadline(1.0):
        started = time.monotonic()
        with pytest.raises(OperationalError):
            count_events(database)
        assert 0.9 < time.monotonic() - started < 2
        started = time.monotonic()
        with pytest.raises(OperationalError):
            count_events(database)  # no time left: no connection is attempted
        assert time.monotonic() - started < 0.5
    assert proxy.accepted == 1


def test_a_pooled_connection_the_server_closed_is_replaced_without_an_error(proxy_and_db):
    """What pool_pre_ping did, without its round trip: a restart or reset never fails the next statement."""
    proxy, database = proxy_and_db
    assert count_events(database) >= 0
    assert database.engine.pool.checkedin() == 1
    accepted = proxy.accepted
    proxy.set_mode("refuse")  # resets every open connection, as a server restart does
    proxy.set_mode("pass")
    time.sleep(0.3)  # the reset reaches our socket
    assert count_events(database) >= 0
    assert proxy.accepted == accepted + 1


@pytest.mark.timeout(60)
def test_after_the_database_did_not_answer_web_requests_fail_fast_for_a_moment(proxy_and_db, monkeypatch):
    """Senders queued behind a request that waited out a connect timeout get their 503 at once, not in turn;
    a worker (no deadline) still tries."""
    monkeypatch.setattr(defaults, "DB_CLIENT_WAIT_S", 1.0)
    proxy, database = proxy_and_db
    proxy.set_mode("hang")
    with pg_waits.deadline(3.5), pytest.raises(OperationalError):
        count_events(database)  # no pooled connection: the connect times out
    accepted = proxy.accepted
    started = time.monotonic()
    with pg_waits.deadline(3.5), pytest.raises(OperationalError) as caught:
        count_events(database)
    assert time.monotonic() - started < 0.5 and proxy.accepted == accepted
    assert isinstance(caught.value.orig, pg_waits.DatabaseWaitExpired)
    with pytest.raises(OperationalError):
        count_events(database)  # no deadline: tried
    assert proxy.accepted == accepted + 1


@pytest.mark.timeout(60)
def test_a_bulk_catch_up_lifts_the_client_bound_for_its_long_statements(postgres_url, monkeypatch):
    """`undertone insights refresh` lifts the server's statement timeout; the client bound goes with it
    (`client_wait(0)`), or is as long as asked; outside the block the bound is back."""
    monkeypatch.setattr(defaults, "DB_CLIENT_WAIT_S", 0.5)
    database = Database(postgres_url)
    try:
        with pg_waits.client_wait(0), database.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_sleep(1.2), 7")).one()[1] == 7
        with pg_waits.client_wait(3), database.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_sleep(1.2), 8")).one()[1] == 8
        with pytest.raises(OperationalError) as caught, database.engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(1.2)"))
        assert isinstance(caught.value.orig, pg_waits.DatabaseWaitExpired)
    finally:
        database.dispose()
