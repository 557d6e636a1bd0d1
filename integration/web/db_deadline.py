"""A deadline on all the database waits of one request, for the routes a sender or a load balancer times."""
from __future__ import annotations

from functools import wraps
from typing import Callable, TypeVar

from integration.store import pg_waits

View = TypeVar("View", bound=Callable)


def bound_database_waits(seconds: float) -> Callable[[View], View]:
    """A view decorator: every request to the view gets `seconds` of database waiting in total (PostgreSQL; SQLite
    has its busy timeout), so a database that stops answering gives the route's own error well inside the
    caller's timeout.

    Around the view rather than in a blueprint's before_request and teardown_request hooks: the hooks (Flask's
    dispatch of each, the token kept in `g`) cost a webhook about 41 K instructions, this about 14 K
    (bench/webhook_cpu.py --instructions). Nothing after the view waits on the database."""

    def decorate(view: View) -> View:
        @wraps(view)
        def bounded(*args, **kwargs):
            token = pg_waits.start_deadline(seconds)
            try:
                return view(*args, **kwargs)
            finally:
                pg_waits.end_deadline(token)

        return bounded  # type: ignore[return-value]

    return decorate
