"""The request deadline on database waits: set while the view runs, gone after it, however the view ends."""
from __future__ import annotations

import pytest

from integration.store import pg_waits
from integration.web.db_deadline import bound_database_waits


def test_the_view_runs_under_the_deadline_and_it_ends_with_the_view():
    seen = []

    @bound_database_waits(5.0)
    def view(source: str):
        seen.append((source, pg_waits.remaining_s()))
        return "ok"

    assert pg_waits.remaining_s() is None
    assert view("quo") == "ok" and view.__name__ == "view"
    [(source, left)] = seen
    assert source == "quo" and 4.0 < left <= 5.0
    assert pg_waits.remaining_s() is None


def test_the_deadline_ends_when_the_view_raises():
    @bound_database_waits(5.0)
    def view():
        assert pg_waits.remaining_s() is not None
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        view()
    assert pg_waits.remaining_s() is None


def test_both_timed_routes_are_bounded(app):
    """The webhook and the health check are the routes a sender or a load balancer times."""
    for endpoint in ("webhooks.receive", "health.healthz"):
        assert hasattr(app.view_functions[endpoint], "__wrapped__"), endpoint
