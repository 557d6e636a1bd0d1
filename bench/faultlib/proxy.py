"""A TCP proxy on 127.0.0.1 that the fault suite switches between passing, refusing and black-holing.

`pass`: bytes flow both ways. `refuse`: the listening socket is closed (new connections get
ECONNREFUSED) and every open connection is reset, as when a database server goes down. `hang`:
connections are still accepted, but nothing flows in either direction and no close is passed on,
as when a server is stuck; bytes read meanwhile are held and delivered once the mode is `pass` again.
"""
from __future__ import annotations

import select
import socket
import struct
import threading

MODES = ("pass", "refuse", "hang")
CHUNK = 65536
POLL_S = 0.2  # how often blocked threads look at the mode and the stop flag


class TcpProxy:
    """127.0.0.1:`port` -> `upstream_host`:`upstream_port`."""

    def __init__(self, upstream_host: str, upstream_port: int, port: int = 0):
        self.upstream = (upstream_host, upstream_port)
        self.port = port
        self.mode = "pass"
        self.accepted = 0  # connections accepted, for the suite's report and the tests
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._stopped = threading.Event()
        self._acceptor: threading.Thread | None = None

    # ------------------------------------------------------------------ control

    def start(self) -> "TcpProxy":
        """Listen (on `port`, or a free one that later restarts keep) and accept in a thread."""
        self._listen()
        self._acceptor = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._acceptor.start()
        return self

    def set_mode(self, mode: str) -> None:
        """Switch to `pass`, `refuse` or `hang`."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._lock:
            previous, self.mode = self.mode, mode
            if mode == "hang":
                self._flowing.clear()
            elif mode == "refuse":
                self._close_listener()
                self._reset_all()
                self._flowing.set()
            else:
                if previous == "refuse":
                    self._listen()
                self._flowing.set()

    def stop(self) -> None:
        """Close everything and end the threads."""
        self._stopped.set()
        self._flowing.set()
        with self._lock:
            self._close_listener()
            self._reset_all()
        if self._acceptor is not None:
            self._acceptor.join(timeout=2)

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(POLL_S)
        self.port = listener.getsockname()[1]
        self._listener = listener

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:  # wakes the acceptor's accept() at once; close() alone leaves the port listening until it returns
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None

    def _reset_all(self) -> None:
        """Close every open connection with a TCP reset (SO_LINGER 0), both sides."""
        for sock in list(self._sockets):
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            sock.close()
        self._sockets.clear()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            listener = self._listener
            if listener is None:
                self._stopped.wait(POLL_S)
                continue
            try:
                client, _ = listener.accept()
            except (socket.timeout, OSError):
                continue
            self._open(client)

    def _open(self, client: socket.socket) -> None:
        """Connect upstream and start one pump per direction."""
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        with self._lock:
            if self.mode == "refuse":
                client.close()
                upstream.close()
                return
            self.accepted += 1
            self._sockets.update((client, upstream))
        for sock in (client, upstream):
            sock.settimeout(None)  # blocking sends; reads wait in select() so the pumps can stop
        for source, target in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        """Copy bytes one way; in `hang` mode hold them (and any close) until the mode is `pass`."""
        while not self._stopped.is_set():
            try:
                if not select.select([source], [], [], POLL_S)[0]:
                    continue
                data = source.recv(CHUNK)
            except (OSError, ValueError):  # reset by refuse(), or closed by the other pump
                data = b""
            while not self._flowing.wait(POLL_S):
                if self._stopped.is_set():
                    return
            if not data:
                self._drop(source, target)
                return
            try:
                target.sendall(data)
            except OSError:
                self._drop(source, target)
                return

    def _drop(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._sockets.discard(sock)
                try:
                    sock.close()
                except OSError:
                    pass
