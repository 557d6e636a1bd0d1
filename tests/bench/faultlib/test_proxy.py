"""The fault suite's TCP proxy: passes bytes, refuses (connection refused, open ones reset), hangs and heals."""
from __future__ import annotations

import socket
import socketserver
import threading
import time

import pytest

from bench.faultlib.proxy import TcpProxy


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo_port():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(echo_port):
    with TcpProxy("127.0.0.1", echo_port) as running:
        yield running


def connect(proxy: TcpProxy, timeout: float = 2.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)


def test_passes_bytes_both_ways(proxy):
    with connect(proxy) as sock:
        sock.sendall(b"hello")
        assert sock.recv(100) == b"hello"
    assert proxy.accepted == 1


def test_refuse_resets_open_connections_and_refuses_new_ones_until_pass(proxy):
    sock = connect(proxy)
    sock.sendall(b"a")
    assert sock.recv(10) == b"a"
    proxy.set_mode("refuse")
    with pytest.raises(OSError):  # reset by peer, or an empty read then a broken pipe
        sock.sendall(b"b")
        if sock.recv(10) == b"":
            raise ConnectionResetError("closed")
    sock.close()
    with pytest.raises(ConnectionRefusedError):
        connect(proxy)
    proxy.set_mode("pass")
    with connect(proxy) as again:
        again.sendall(b"c")
        assert again.recv(10) == b"c"


def test_hang_accepts_but_answers_nothing_then_delivers_when_healed(proxy):
    proxy.set_mode("hang")
    sock = connect(proxy, timeout=0.5)
    sock.sendall(b"held")
    with pytest.raises(socket.timeout):
        sock.recv(10)
    began = time.monotonic()
    proxy.set_mode("pass")
    sock.settimeout(3)
    assert sock.recv(10) == b"held"
    assert time.monotonic() - began < 2
    sock.close()


def test_unknown_mode_is_refused(proxy):
    with pytest.raises(ValueError):
        proxy.set_mode("flaky")
