"""Fixtures shared by the store's tests."""
from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bench.faultlib.proxy import TcpProxy
from integration.store.db import Database


@pytest.fixture
def proxy_and_db(postgres_url):
    """The test PostgreSQL database behind the fault suite's TCP proxy, which can reset or hang its connections,
    and a Database on it."""
    real = make_url(postgres_url)
    with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        database = Database(real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        yield proxy, database
        proxy.set_mode("pass")
        database.dispose()
