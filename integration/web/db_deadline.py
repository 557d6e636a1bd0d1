"""A deadline on all the database waits of one request, for the routes a sender or a load balancer times."""
from __future__ import annotations

from flask import Blueprint, g

from integration.store import pg_waits


def bound_database_waits(bp: Blueprint, seconds: float) -> None:
    """Every request to `bp` gets `seconds` of database waiting in total (PostgreSQL; SQLite has its busy
    timeout), so a database that stops answering gives the route's own error well inside the caller's timeout."""

    @bp.before_request
    def _start() -> None:
        g.undertone_db_deadline = pg_waits.start_deadline(seconds)

    @bp.teardown_request
    def _end(_exc) -> None:
        token = g.pop("undertone_db_deadline", None)
        if token is not None:
            pg_waits.end_deadline(token)
