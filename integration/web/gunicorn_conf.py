"""gunicorn settings for the web process (`gunicorn --config python:integration.web.gunicorn_conf`).

The Procfile's `web:` command and every benchmark's gunicorn (`bench/harness.py`) load this file, so a
benchmark measures what production runs, bare Flask baseline included.

Threads: each worker process serves `WEB_THREADS` requests at once (gthread). An acknowledgement spends most
of its time waiting for the database's commit and Redis; a sync worker sits idle through those waits while
senders queue behind it, a threaded one serves another request meanwhile.

The access log carries no secret: the path is logged without its query string (Freshdesk's
documented `?token=` form puts the webhook token there) and without the basic-auth user name
(Freshdesk's basic-auth form sends the token as the user name).
"""
import os

DEFAULT_WEB_THREADS = 4



def _threads(value: str | None) -> int:
    """WEB_THREADS as a whole number >= 1; anything else stops gunicorn with a one-line reason, not a traceback."""
    if not value:
        return DEFAULT_WEB_THREADS
    if not value.strip().isdigit() or int(value) < 1:
        raise SystemExit(f"WEB_THREADS must be a whole number of threads, 1 or more (got {value!r})")
    return int(value)


threads = _threads(os.environ.get("WEB_THREADS"))
worker_class = "gthread" if threads > 1 else "sync"
access_log_format = '%(h)s %(l)s - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
