"""A loopback TCP proxy the tests can cut, silence and restore, to stand for a lost database."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream address.

    `cut` closes every connection (a database that goes away: the client sees a reset at
    once). `silence` keeps every connection open and accepts new ones, but forwards nothing:
    a dropped network or a hung proxy, where the client's kernel still gets its data
    acknowledged (so TCP keepalives and `tcp_user_timeout` never fire) and only a client-side
    deadline ends the wait. `restore` undoes either.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._forwarding = True
        # Set while bytes may flow; pumps hold what they read until it is set again, so a
        # silence loses nothing (like a network that drops packets, then heals).
        self._flowing = threading.Event()
        self._flowing.set()
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        """Close every open connection and drop new ones at once."""
        with self._lock:
            self._forwarding = False
            for sock in self._open:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()
        # Pumps held by a silence must see their sockets closed, not wait forever.
        self._flowing.set()

    def silence(self) -> None:
        """Keep every connection open, accept new ones, and forward nothing either way."""
        self._flowing.clear()

    def restore(self) -> None:
        """Forward again: new connections after a cut, held bytes after a silence."""
        with self._lock:
            self._forwarding = True
        self._flowing.set()

    def close(self) -> None:
        """Stop listening and drop everything."""
        self.cut()
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                forwarding = self._forwarding
            if not forwarding:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=3)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                self._flowing.wait()
                dst.sendall(data)
        for sock in (src, dst):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
