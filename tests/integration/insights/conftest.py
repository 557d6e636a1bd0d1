"""Fixtures for the insights tests: the constructed data set on each database."""
from __future__ import annotations

import pytest

from tests.integration.insights import dataset


@pytest.fixture
def data(db):
    """The data set stored in this test's database (both backends); name -> id."""
    return dataset.build(db)


@pytest.fixture
def env_db(monkeypatch, settings):
    """Point commands that read the environment (the CLI) at this test's database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("TIMEZONE", raising=False)
    return monkeypatch
