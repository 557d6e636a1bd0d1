"""Shared fixtures: a real Redis server, real SQLite and PostgreSQL databases (migrated), the app.

Every database test runs twice, on SQLite and on PostgreSQL. PostgreSQL comes from TEST_POSTGRES_URL
(default: the local server's `test` database, where a fresh database is created per session); it is
skipped when unreachable unless UNDERTONE_REQUIRE_POSTGRES=1 (CI sets it), which fails instead.
"""
from __future__ import annotations

import os
import uuid

import pytest
from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from integration.cli.embedded_redis import EmbeddedRedis
from integration.settings import Settings
from integration.store.db import Database
from integration.store.migrate import upgrade
from integration.store.models import Base
from tests import keys

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def redis_server():
    """A dedicated redis-server for the test session (real Redis, not the machine's shared one)."""
    with EmbeddedRedis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server) -> str:
    Redis.from_url(redis_server.url).flushall()
    return redis_server.url


@pytest.fixture
def redis_conn(redis_url) -> Redis:
    return Redis.from_url(redis_url)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'undertone.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database on the PostgreSQL server, migrated, dropped at the end."""
    admin = make_url(PG_ADMIN_URL)
    name = f"undertone_test_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("UNDERTONE_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL not reachable at {admin.render_as_string(hide_password=True)}: {exc}")
    url = admin.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str:
    """Each database test runs on both backends, starting from empty tables."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    _empty_tables(url)
    return url


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def settings(database_url, redis_url, tmp_path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        var_dir=tmp_path,
        quo_webhook_secret=f"{keys.QUO_CLASSIC},{keys.QUO_STANDARD}",
        secret_key="test secret key, long and random enough for sessions",
        _env_file=None,
    )


@pytest.fixture
def worker_env(monkeypatch, settings):
    """Point worker code (which reads the environment) at this test's database and Redis."""
    from workers import context

    for name in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("QUO_WEBHOOK_SECRET", settings.quo_webhook_secret.get_secret_value())
    monkeypatch.setenv("CRM_FLUSH_DELAY_S", "0")  # burst workers in tests do not wait for scheduled jobs
    monkeypatch.setenv("SCORER", "lexicon")  # pipeline tests assert lexicon results; the AI scorer has its own
    context.reset()
    yield monkeypatch
    context.reset()


@pytest.fixture
def app(settings):
    from integration.web.app import create_app

    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["undertone"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def _empty_tables(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()
