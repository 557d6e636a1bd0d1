"""bench/crm_replay.py's sender: a burst goes out at once, --rate spaces the sends (a tiny run against a local server)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import crm_replay


class Inbox(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers["content-length"]))
        self.server.received.append((self.path, self.headers.get("webhook-signature", "")))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def base():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server.received
    server.shutdown()
    server.server_close()


def test_rate_spaces_the_sends_and_signs_each(base):
    url, received = base
    sent = crm_replay._replay(url, ["+14155550000", "+14155550001"], 6, rate=10)
    starts = sorted(s.at for s in sent)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(received) == 6 and all(path == "/webhooks/generic" and sig.startswith("v1,") for path, sig in received)
    assert min(gaps) >= 0.08  # 1 / rate = 0.1 s, less the clock's jitter
    assert 0.45 <= starts[-1] - starts[0] < 1.5


def test_without_rate_the_sends_go_out_as_one_burst(base):
    url, received = base
    sent = crm_replay._replay(url, ["+14155550000"], 6)
    assert len(received) == 6
    assert max(s.at for s in sent) - min(s.at for s in sent) < 0.45
