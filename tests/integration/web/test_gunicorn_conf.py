"""The web process's gunicorn config (Procfile and benchmarks): WEB_THREADS threads per worker."""
from __future__ import annotations

import runpy

import pytest

CONF = "integration/web/gunicorn_conf.py"


@pytest.mark.parametrize(("value", "threads", "worker_class"), [(None, 4, "gthread"), ("8", 8, "gthread"),
                                                                 ("1", 1, "sync")])
def test_web_threads(monkeypatch, value, threads, worker_class):
    if value is None:
        monkeypatch.delenv("WEB_THREADS", raising=False)
    else:
        monkeypatch.setenv("WEB_THREADS", value)
    conf = runpy.run_path(CONF)
    assert (conf["threads"], conf["worker_class"]) == (threads, worker_class)


@pytest.mark.parametrize("value", ["four", "0", "-2", "2.5"])
def test_a_bad_web_threads_stops_with_a_clear_reason(monkeypatch, value):
    monkeypatch.setenv("WEB_THREADS", value)
    with pytest.raises(SystemExit, match="WEB_THREADS must be a whole number"):
        runpy.run_path(CONF)
