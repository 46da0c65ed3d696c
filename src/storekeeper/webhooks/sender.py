"""One webhook delivery attempt over HTTP(S), to an address checked just before connecting.

The standard library does it (docs/architecture.md, "Webhooks: the sender"): the sender looks
the host up once (`Destinations.resolve_allowed`), connects a socket to an address that passed,
wraps it in TLS verified for the host name (SNI and certificate), and hands it to
http.client, which writes the request and parses the answer. Every read and write on that
socket waits only for what is left of one deadline, so the whole attempt (connect, TLS,
request, answer) ends within `timeout_s`, however slowly a receiver drips its bytes. No
redirect is followed, at most `max_body_bytes` of the answer's body are read, and nothing
here logs or returns the request's headers or body (they carry the signature).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from os import PathLike

from storekeeper.webhooks.addresses import Destinations, IPAddress, RefusedDestination, Target

DEFAULT_TIMEOUT_S = 15.0
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# A Retry-After beyond the retry schedule's longest step (24 h) is held to it.
MAX_RETRY_AFTER_S = 24 * 3600.0
MAX_ERROR_CHARS = 300
_SEND_CHUNK = 64 * 1024
# The sender's own framing; whatever the caller passes under these names is dropped.
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})


@dataclass(frozen=True)
class Outcome:
    """One attempt's result: the receiver's status, or none and why (`error`)."""

    status: int | None
    # The receiver's Retry-After in seconds (0 to 24 h), when it sent a valid one.
    retry_after_s: float | None = None
    duration_ms: int = 0
    # One line: a network failure, a refused destination, a redirect not followed.
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the receiver took the delivery: any 2xx status."""
        return self.error is None and self.status is not None and 200 <= self.status < 300


class Sender:
    """Posts webhook deliveries; safe to share between threads."""

    def __init__(
        self,
        destinations: Destinations,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        ca_file: str | PathLike[str] | None = None,
    ) -> None:
        self.destinations = destinations
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        # The system's certificate authorities (the container image installs ca-certificates),
        # or only those in ca_file (tests). Hostname checks are on either way.
        self._tls = ssl.create_default_context(cafile=ca_file)
        self._tls.set_alpn_protocols(["http/1.1"])

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        """POST `body` to `url`; never raises for a refused URL or any network trouble."""
        start = time.monotonic()
        deadline = start + self.timeout_s
        status: int | None = None
        retry_after: float | None = None
        error: str | None = None
        try:
            target = self.destinations.parse(url)
            addresses = self.destinations.resolve_allowed(target.host, target.port)
            status, retry_after, error = self._exchange(target, addresses, headers, body, deadline)
        except RefusedDestination as refused:
            error = "URL refused: " + refused.reason
        except (OSError, http.client.HTTPException) as exc:
            error = self._describe(exc)
        duration_ms = int((time.monotonic() - start) * 1000)
        return Outcome(status, retry_after, duration_ms, error)

    def _exchange(
        self,
        target: Target,
        addresses: list[IPAddress],
        headers: Mapping[str, str],
        body: bytes,
        deadline: float,
    ) -> tuple[int, float | None, str | None]:
        sock = _connect(addresses, target.port, deadline)
        try:
            if target.scheme == "https":
                tls = self._tls.wrap_socket(
                    sock, server_hostname=target.host, do_handshake_on_connect=False
                )
                sock = tls
                # CPython bounds a whole handshake by the socket's timeout, not each read.
                tls.settimeout(_left(deadline))
                tls.do_handshake()
            connection = http.client.HTTPConnection(target.host, target.port)
            # Host names the port only when it is not the scheme's own.
            connection.default_port = 443 if target.scheme == "https" else 80
            connection.sock = _DeadlineSocket(sock, deadline)
            sent = {k: v for k, v in headers.items() if k.lower() not in _FRAMING}
            sent["Connection"] = "close"
            connection.request("POST", target.path, body=body, headers=sent)
            response = connection.getresponse()
            retry_after = parse_retry_after(response.getheader("Retry-After"))
            error = None
            if 300 <= response.status < 400:
                location = response.getheader("Location")
                error = f"the receiver answered {response.status}, a redirect" + (
                    f" to {location}" if location else ""
                )
                error += "; redirects are not followed"
            # The status is the answer; the body is read (bounded) only so that a receiver
            # that sends a little more than its headers is not cut off mid-answer.
            with contextlib.suppress(OSError, http.client.HTTPException):
                response.read(self.max_body_bytes)
            return response.status, retry_after, None if error is None else _one_line(error)
        finally:
            sock.close()

    def _describe(self, exc: OSError | http.client.HTTPException) -> str:
        """A network failure in one line, naming nothing the URL's owner does not know."""
        if isinstance(exc, TimeoutError):
            return f"timed out after {self.timeout_s:g} s"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return _one_line(f"TLS certificate not accepted: {exc.verify_message}")
        if isinstance(exc, ssl.SSLError):
            return _one_line(f"TLS failed: {exc.reason or exc.strerror or 'unknown error'}")
        if isinstance(exc, http.client.RemoteDisconnected):
            return "the receiver closed the connection without answering"
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, ConnectionResetError):
            return "connection reset by the receiver"
        if isinstance(exc, http.client.HTTPException):
            return f"the answer is not valid HTTP ({type(exc).__name__})"
        return _one_line(f"network error: {exc.strerror or type(exc).__name__}")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After (delta-seconds or an HTTP-date) in seconds from now, held to 0..24 h."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # Any number of digits means "a long time"; int() of a huge one is not needed.
        seconds = float(value) if len(value) <= 10 else MAX_RETRY_AFTER_S
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _left(deadline: float) -> float:
    """The time left before the deadline; TimeoutError when there is none."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _connect(addresses: list[IPAddress], port: int, deadline: float) -> socket.socket:
    """A TCP connection to the first of the vetted addresses that answers.

    An address that does not answer may use half the time left when others follow it, so
    one unreachable address (IPv6 on a host without a route) does not use up the attempt.
    """
    failure: OSError = ConnectionError("no address")
    for index, address in enumerate(addresses):
        left = _left(deadline)
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(left if index == len(addresses) - 1 else left / 2)
            sock.connect((str(address), port))
        except OSError as exc:
            sock.close()
            failure = exc
        else:
            return sock
    raise failure


class _DeadlineSocket:
    """What http.client needs of a socket, each wait bounded by what is left of a deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        """Send everything; each send waits only for the time left."""
        view = memoryview(data)
        while view:
            self._sock.settimeout(_left(self._deadline))
            view = view[self._sock.send(view[:_SEND_CHUNK]) :]

    def recv_into(self, buffer: memoryview) -> int:
        """Read what has arrived, waiting only for the time left."""
        self._sock.settimeout(_left(self._deadline))
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str) -> io.BufferedReader:
        """The buffered reader http.client reads the answer from."""
        return io.BufferedReader(_Reader(self))

    def close(self) -> None:
        """http.client lets go of the socket early; the sender closes it when done."""


class _Reader(io.RawIOBase):
    """The raw stream under the answer's buffered reader."""

    def __init__(self, sock: _DeadlineSocket) -> None:
        super().__init__()
        self._sock = sock

    def readable(self) -> bool:
        """It is read from."""
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Fill `buffer` with what has arrived."""
        return self._sock.recv_into(buffer)


def _one_line(text: str) -> str:
    """`text` on one line of printable characters, cut to MAX_ERROR_CHARS."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"
