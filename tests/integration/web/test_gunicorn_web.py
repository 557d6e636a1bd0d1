"""The Procfile's web command under a real gunicorn: no secret in any log line, and a chunked body
over the limit is 413 (not 401). Both databases, a real Redis."""
from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import subprocess
import sys
import time
from base64 import b64encode
from pathlib import Path

import pytest
import requests

from integration import defaults
from integration.cli.embedded_redis import free_port
from tests.connectors import signed_sources as ss

ROOT = Path(__file__).resolve().parents[3]


def procfile_web(port: int) -> list[str]:
    """The Procfile's `web:` command, as honcho would run it."""
    line = next(text for text in (ROOT / "Procfile").read_text().splitlines() if text.startswith("web:"))
    line = line.removeprefix("web:").replace("${PORT:-5000}", str(port)).replace("${WEB_CONCURRENCY:-2}", "2")
    argv = shlex.split(line)
    argv[0] = str(Path(sys.executable).with_name(argv[0]))
    return argv


@pytest.fixture
def gunicorn(database_url, redis_url, tmp_path):
    """gunicorn serving the app with every source configured; yields (base URL, log path)."""
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {**os.environ, **ss.ENV, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "PUBLIC_BASE_URL": ss.PUBLIC_BASE_URL, "PYTHONPATH": str(ROOT)}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(procfile_web(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=10)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.2)
        yield base, log_path, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def secrets_in(text: str) -> list[str]:
    values = {part for value in ss.SECRETS.values() for part in value.split(",")}
    values |= {v.removeprefix("whsec_") for v in values}
    return sorted(v for v in values if v in text)


def test_no_secret_reaches_any_log_line(gunicorn):
    base, log_path, process = gunicorn
    answers = []
    for source in ss.SOURCES:
        body, headers, query = ss.delivery(source)
        answers.append(requests.post(f"{base}{ss.path(source)}" + (f"?{query}" if query else ""),
                                     data=body, headers=headers, timeout=10).status_code)
        poisoned, headers, query = ss.delivery(source, "\u0000")  # refused: 400 (and its own log lines)
        answers.append(requests.post(f"{base}{ss.path(source)}" + (f"?{query}" if query else ""),
                                     data=poisoned, headers=headers, timeout=10).status_code)
        answers.append(requests.post(f"{base}{ss.path(source)}?token=wrong", data=body, timeout=10).status_code)
    body, headers, _ = ss.delivery("freshdesk")
    token = ss.secret("freshdesk")
    answers.append(requests.post(f"{base}/webhooks/freshdesk", data=body, headers={
        **headers, "X-Undertone-Token": token}, timeout=10).status_code)
    answers.append(requests.post(f"{base}/webhooks/freshdesk", data=body, headers={
        **headers, "Authorization": "Basic " + b64encode(f"{token}:X".encode()).decode()}, timeout=10).status_code)
    answers.append(requests.get(f"{base}/healthz?token={token}", timeout=10).status_code)
    assert answers[0::3][:9] == [200] * 9, answers
    assert answers[1:27:3] == [400] * 9, answers
    process.terminate()
    process.wait(timeout=30)
    logs = log_path.read_text()
    assert logs.count('"POST /webhooks/freshdesk HTTP/1.1" 200') >= 1, logs  # the access log was captured
    assert "/webhooks/freshdesk?" not in logs
    assert secrets_in(logs) == [], logs


def test_chunked_body_over_the_limit_is_413_before_the_signature(gunicorn, database_url):
    """A correctly signed body, sent chunked (no Content-Length): the size decides first."""
    base, _, _ = gunicorn
    document = {"id": "big", "type": "review.created", "text": "x" * (defaults.MAX_WEBHOOK_BYTES + 10)}
    body, headers, _ = ss.signed_document("generic", document)
    assert _post_chunked(base, "/webhooks/generic", body, headers)[0] == 413
    small, headers, _ = ss.delivery("generic")
    status, answer = _post_chunked(base, "/webhooks/generic", small, headers)
    assert (status, json.loads(answer)["accepted"]) == (200, 1)


def _post_chunked(base: str, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    host, port = re.match(r"http://([^:]+):(\d+)", base).groups()
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", path, body=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
                     headers=headers, encode_chunked=True)
        response = conn.getresponse()
        return response.status, response.read()
    except (BrokenPipeError, ConnectionResetError):  # the server answered and closed before reading it all
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()
