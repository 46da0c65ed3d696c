"""A webhook receiver for tests: a raw socket server on 127.0.0.1 that answers by a script.

    with Receiver(answer(204)) as receiver:          # or tls=certificate.server_context()
        outcome = sender.post(receiver.url(), headers, body)
    assert receiver.connections == 1
    [request] = receiver.requests

Each connection runs the `script` in a thread of its own with the connection and the request
read from it (None when the client sent none before closing), so the test decides exactly
what goes back, byte by byte: an answer, nothing at all, one byte a second, a flood. It
records every connection accepted (before any TLS), every request and the server name each
TLS client asked for (SNI). Leaving the block stops every script and closes everything.

`Resolver` stands in for DNS (`Destinations(allow_private, resolve=Resolver({...}))`), so a
test can name hosts that resolve to the receiver, or to a public address first and to
loopback after (rebinding), without a DNS server.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType

HOST = "127.0.0.1"
# The most a script waits for the client's request.
READ_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Request:
    """One request as it arrived: request line, headers (names in lower case) and body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Exchange:
    """One connection, handed to the script: its socket, its request, the server's stop flag."""

    sock: socket.socket
    request: Request | None
    stopping: threading.Event
    # What the script managed to send, and whether it sent all it meant to.
    sent: int = 0
    finished: bool = False

    def send(self, data: bytes) -> None:
        """Send `data`, counting what the client took before any failure."""
        view = memoryview(data)
        while view:
            count = self.sock.send(view)
            self.sent += count
            view = view[count:]


Script = Callable[[Exchange], None]


@dataclass
class Receiver:
    """The server: start it with `with`, point the sender at url()."""

    script: Script
    tls: ssl.SSLContext | None = None
    # False: the script gets the connection as it is, nothing read (a TLS client's hello).
    read_request: bool = True
    connections: int = 0
    requests: list[Request] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _listener: socket.socket | None = None

    # The port it listens on (kept after it stops, for the test's assertions).
    port: int = 0

    def url(self, host: str = HOST, path: str = "/hooks") -> str:
        """The URL of this receiver under `host` (a name the test resolves to 127.0.0.1)."""
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> Receiver:
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        if self.tls is not None:
            self.tls.sni_callback = self._record_server_name
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=READ_TIMEOUT_S)
        assert self._listener is not None
        self._listener.close()

    def wait_done(self) -> None:
        """Wait until every connection's script has returned (the client may have left)."""
        for thread in list(self._threads[1:]):
            thread.join(timeout=READ_TIMEOUT_S)
            assert not thread.is_alive()

    def _record_server_name(
        self, connection: ssl.SSLObject, name: str | None, context: ssl.SSLContext
    ) -> None:
        self.server_names.append(name)

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        try:
            sock.settimeout(READ_TIMEOUT_S)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_side=True)
            request = _read_request(sock) if self.read_request else None
            exchange = Exchange(sock, request, self._stopping)
            if exchange.request is not None:
                self.requests.append(exchange.request)
            self.exchanges.append(exchange)
            self.script(exchange)
            exchange.finished = True
        except OSError:
            pass  # the client went away (or refused our certificate): the test asserts that
        finally:
            sock.close()


def _read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    line, *fields = head.decode("latin-1").split("\r\n")
    method, target, _ = line.split(" ", 2)
    headers = {}
    for text in fields:
        name, _, value = text.partition(":")
        headers[name.strip().lower()] = value.strip()
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, target, headers, body)


class Resolver:
    """A DNS stand-in for Destinations: each name's answers, one list per look-up of it (the
    last list repeats), e.g. Resolver({"hooks.test": [["93.184.216.34"], ["127.0.0.1"]]})."""

    def __init__(self, answers: Mapping[str, Sequence[Sequence[str]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        given = self.answers.get(host, [[]])
        self.lookups.append(host)
        asked = self.lookups.count(host)
        return given[min(asked, len(given)) - 1]


# Scripts


def answer(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Script:
    """Answer every request with this status, these headers and this body, then close."""
    reason = {200: "OK", 204: "No Content", 302: "Found", 410: "Gone"}.get(status, "Status")
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def script(exchange: Exchange) -> None:
        exchange.send(raw)

    return script


def raw(data: bytes) -> Script:
    """Send these bytes, whatever they are, then close."""

    def script(exchange: Exchange) -> None:
        exchange.send(data)

    return script


def silent(exchange: Exchange) -> None:
    """Read the request and answer nothing, keeping the connection open until the end."""
    exchange.stopping.wait()


def drip(exchange: Exchange) -> None:
    """Send a valid answer's first bytes one at a time, one every half second, forever."""
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
        exchange.send(bytes([byte]))
        if exchange.stopping.wait(0.5):
            return


def drip_tls(exchange: Exchange) -> None:
    """Begin a TLS handshake record of 16 KiB, then send its bytes one every 0.3 s (at most 60).

    A client whose timeout were per read would wait for each byte afresh and hang here.
    """
    exchange.send(b"\x16\x03\x03\x40\x00")
    for _ in range(60):
        if exchange.stopping.wait(0.3):
            return
        exchange.send(b"\x00")


def flood(total: int) -> Script:
    """A 200 whose body is `total` bytes, sent as fast as the client takes them."""

    def script(exchange: Exchange) -> None:
        exchange.send(f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n".encode())
        chunk = b"x" * 65536
        for _ in range(total // len(chunk)):
            exchange.send(chunk)

    return script
