"""The production server: gunicorn's arbiter supervising gevent workers, safe to expose directly.

Why this server (measured, see docs/reliability.md): every slow or idle client costs a
greenlet, not a thread, so a flood of idle sockets or half-sent requests cannot starve the
workers; gunicorn reads the request line and headers under a deadline (the keep-alive
timeout, which also closes idle connections), its parser refuses ambiguous framing, and its
arbiter replaces a worker that dies or stops answering its heartbeat.

`python -m storekeeper.serving` is what `storekeeper serve` execs. This module imports none
of the application: workers are forked from this process, and each must import SQLAlchemy,
psycopg and the app only after gevent has patched the standard library in that worker.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import Any

import gevent
from gevent.pool import Pool
from gevent.server import StreamServer
from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter as GunicornArbiter
from gunicorn.http import errors
from gunicorn.http.body import ChunkedReader
from gunicorn.workers.ggevent import GeventWorker

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
log = logging.getLogger("storekeeper.server")


@dataclass(frozen=True)
class Limits:
    """How long and how much the server gives a client before it gives up on it."""

    # Time to send a complete request line and headers, and how long an idle connection
    # (new or kept alive) is kept: gunicorn uses one setting for both.
    header_timeout_s: int = 5
    # Longest silence while reading a body or writing a response (per socket operation);
    # the body reader in the app also bounds the whole body (bodies.BODY_DEADLINE_S).
    io_timeout_s: float = 10.0
    # Concurrent connections per worker; past that the worker stops accepting and new
    # connections wait in the listen backlog, then are refused.
    connections_per_worker: int = 1000
    backlog: int = 2048
    # A worker whose event loop is blocked this long (its heartbeat stops) is killed and
    # replaced by the arbiter.
    heartbeat_timeout_s: int = 30
    # On SIGTERM (an orchestrator stopping us), requests in flight get this long to finish.
    graceful_timeout_s: int = 20
    # On SIGINT (Ctrl-C at a terminal, sent to the arbiter and its workers alike), a person
    # is waiting: requests in flight get this long, then a worker drops what is left...
    interrupt_grace_s: float = 2.5
    # ...and the arbiter kills any worker still alive after this long and exits, so Ctrl-C
    # always returns within 5 s. Larger than interrupt_grace_s plus the worker's own 1 s
    # of dropping connections, so a healthy worker is never killed.
    interrupt_timeout_s: int = 4
    max_request_line: int = 8190
    max_header_fields: int = 100
    max_header_field: int = 8190


LIMITS = Limits()


def _problem(status: int, title: str, detail: str) -> bytes:
    body = (
        f'{{"type":"about:blank","title":"{title}","status":{status},"detail":"{detail}"}}'
    ).encode()
    head = (
        f"HTTP/1.1 {status} {title}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    return head + body


# gunicorn's own refusals, answered in the contract's problem+json like every other error.
# The detail never echoes what the client sent.
_REFUSALS: tuple[tuple[type[BaseException], int, str, str], ...] = (
    (errors.LimitRequestLine, 414, "URI Too Long", "The request line is too long."),
    (
        errors.LimitRequestHeaders,
        431,
        "Request Header Fields Too Large",
        "The request has too many or too large header fields.",
    ),
    (
        errors.UnsupportedTransferCoding,
        501,
        "Not Implemented",
        "Only the chunked transfer coding is supported.",
    ),
    (
        errors.ExpectationFailed,
        417,
        "Expectation Failed",
        "Only 'Expect: 100-continue' is supported.",
    ),
    (errors.ParseException, 400, "Bad Request", "The request is not well-formed HTTP/1.1."),
)


# Subclasses of ParseException that are the server's or the application's fault.
_OWN_FAULTS = (
    errors.InvalidResponseHeader,
    errors.InvalidResponseHeaderName,
    errors.ConfigurationProblem,
)


def is_client_error(exc: BaseException) -> bool:
    """Whether gunicorn refused what the client sent (rather than failing itself)."""
    return isinstance(exc, errors.ParseException) and not isinstance(exc, _OWN_FAULTS)


def refusal(exc: BaseException) -> bytes:
    """The problem+json answer to a request the HTTP parser refused (500 for anything else)."""
    if not is_client_error(exc):
        return _problem(500, "Internal Server Error", "The server could not answer this request.")
    # The last refusal is ParseException itself, so every client error finds one.
    _, status, title, detail = next(r for r in _REFUSALS if isinstance(exc, r[0]))
    return _problem(status, title, detail)


class ChunkedBody:
    """A chunked request body whose broken framing is the client's 400, not the app's 500.

    gunicorn decodes chunked framing while the application reads the body, so a chunk size
    that is not hexadecimal (or a missing terminator) surfaces as a parser exception inside
    the application. Here it becomes werkzeug's BadRequest, which the application answers as
    a 400 problem; `broken` then tells the worker to close the connection, since nothing
    after a broken frame can be trusted to start the next request.
    """

    def __init__(self, body: Any) -> None:
        self._body = body
        self.broken = False

    def _guarded(self, read: Callable[[int | None], bytes], size: int | None) -> bytes:
        try:
            return read(size)
        except errors.ParseException:
            # Imported here: the worker imports werkzeug only after gevent has patched it.
            from werkzeug.exceptions import BadRequest

            self.broken = True
            raise BadRequest("The chunked request body is not well-formed.") from None

    def read(self, size: int | None = None) -> bytes:
        return self._guarded(self._body.read, size)

    def readline(self, size: int | None = None) -> bytes:
        return self._guarded(self._body.readline, size)

    def readlines(self, hint: int | None = None) -> list[bytes]:
        return list(self)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


# Linux only (macOS has TCP_NOPUSH, with other semantics): elsewhere an answer goes out in
# the writes gunicorn makes, which costs a packet, not correctness.
TCP_CORK: int | None = getattr(socket, "TCP_CORK", None)

# How often a stopping worker looks whether its requests in flight have finished.
_DRAIN_TICK_S = 0.1


class Worker(GeventWorker):  # type: ignore[misc]
    """gunicorn's gevent worker with socket timeouts, problem+json refusals and stops in stages.

    SIGTERM, SIGINT and SIGQUIT all stop accepting at once and close connections waiting
    for their next request; they differ in how long requests in flight may take: SIGTERM
    LIMITS.graceful_timeout_s, SIGINT (Ctrl-C) LIMITS.interrupt_grace_s, SIGQUIT (the
    arbiter's quick shutdown, e.g. a second Ctrl-C) none.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # When requests still in flight are dropped; None while the worker serves.
        self._drop_at: float | None = None
        # Connections waiting for their next request, and the timeout that ends each wait.
        self._waiting: dict[Any, gevent.Timeout] = {}

    def init_signals(self) -> None:
        super().init_signals()
        # gunicorn makes SIGINT a quick exit (sys.exit in a greenlet, which also prints a
        # SystemExit traceback per worker); Ctrl-C must let requests in flight finish.
        signal.signal(signal.SIGINT, self._on_interrupt)
        signal.siginterrupt(signal.SIGINT, False)

    def _stop_by(self, grace_s: float) -> None:
        # Signals can arrive in any order (the terminal's SIGINT, then the arbiter's SIGTERM):
        # the shortest grace asked for wins.
        drop_at = time.monotonic() + grace_s
        self._drop_at = drop_at if self._drop_at is None else min(self._drop_at, drop_at)
        self.alive = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._stop_by(self.cfg.graceful_timeout)

    def _on_interrupt(self, sig: int, frame: FrameType | None) -> None:
        self._stop_by(LIMITS.interrupt_grace_s)

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:
        self._stop_by(0)

    @contextlib.contextmanager
    def timeout_ctx(self) -> Iterator[None]:
        # gunicorn waits for each request line and headers inside this context (bounded by
        # the keep-alive timeout); registered here, a stopping worker can end those waits
        # at once instead of letting idle connections hold it up.
        timeout = gevent.Timeout(self.cfg.keepalive, False)
        current = gevent.getcurrent()
        self._waiting[current] = timeout
        try:
            with timeout:
                yield
        finally:
            self._waiting.pop(current, None)

    def _close_waiting(self) -> None:
        # Ending a wait with its own timeout is what the keep-alive timeout does: the
        # connection closes cleanly, as after any idle period (a request half-sent is not
        # yet in flight). The hub delivers it, after checking that the connection is still
        # waiting: one whose request arrived meanwhile is in flight and must not be touched.
        loop = gevent.get_hub().loop
        for greenlet in list(self._waiting):
            loop.run_callback(self._end_wait, greenlet)

    def _end_wait(self, greenlet: Any) -> None:
        timeout = self._waiting.get(greenlet)
        if timeout is not None:
            greenlet.throw(timeout)

    def run(self) -> None:
        # GeventWorker.run, except that it notices a stop within _DRAIN_TICK_S rather than
        # a second, closes idle connections, and drops requests at self._drop_at.
        servers = []
        for listener in self.sockets:
            listener.setblocking(1)
            server = StreamServer(
                listener, handle=partial(self.handle, listener), spawn=Pool(self.worker_connections)
            )
            if self.cfg.workers > 1:
                server.max_accept = 1
            server.start()
            servers.append(server)
        beat = 0.0
        while self.alive:
            if time.monotonic() - beat >= 1.0:
                beat = time.monotonic()
                self.notify()
            gevent.sleep(_DRAIN_TICK_S)
        for server in servers:
            server.close()
        drop_at = self._drop_at if self._drop_at is not None else time.monotonic()
        while any(server.pool.free_count() != server.pool.size for server in servers):
            self._close_waiting()
            if time.monotonic() >= drop_at:
                log.warning("dropping requests still in flight at shutdown (pid %s)", self.pid)
                for server in servers:
                    server.stop(timeout=1)
                return
            if time.monotonic() - beat >= 1.0:
                beat = time.monotonic()
                self.notify()
            gevent.sleep(_DRAIN_TICK_S)

    def handle(self, listener: socket.socket, client: socket.socket, addr: Any) -> None:
        # GeventWorker.handle makes the socket blocking with no timeout; a bounded timeout
        # instead means a client that stops sending a body or reading a response is dropped.
        client.settimeout(LIMITS.io_timeout_s)
        super(GeventWorker, self).handle(listener, client, addr)

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> bool:
        loop = gevent.get_hub().loop
        # libev's count of loop iterations: it moves only when a greenlet waits.
        waits = getattr(loop, "iteration", None)
        chunked = isinstance(getattr(req.body, "reader", None), ChunkedReader)
        if chunked:
            req.body = ChunkedBody(req.body)
        corked = TCP_CORK is not None and sock.family in (socket.AF_INET, socket.AF_INET6)
        if corked:
            # One segment per answer: gunicorn sends a response's head and body apart.
            sock.setsockopt(socket.IPPROTO_TCP, TCP_CORK, 1)
        try:
            keep: bool = super().handle_request(listener_name, req, sock, addr)
            return keep and not (chunked and req.body.broken)
        finally:
            if corked:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, TCP_CORK, 0)
            if waits is None or getattr(loop, "iteration", None) == waits:
                # The request never waited (a read from SQLite runs in C, start to end):
                # let the other connections with a request ready go first. A client that
                # sends its next request as soon as it has an answer finds it already read
                # by the time this loop asks, so one connection could otherwise be served
                # again and again while the others waited, which was the long tail of
                # every answer (docs/performance.md). A request that waited for the
                # database has let the others run already, and yielding again then costs
                # PostgreSQL reads half their throughput.
                gevent.sleep(0)

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        if isinstance(exc, gevent.GreenletExit):
            return  # a connection dropped on purpose at shutdown: nobody to answer
        if is_client_error(exc):
            log.info("refused a malformed request: %s", type(exc).__name__)
        else:
            log.error("error outside the application", exc_info=exc)
        with contextlib.suppress(OSError):
            util.write_nonblock(client, refusal(exc))


def _child_exit(server: Any, worker: Any) -> None:
    # A dead worker's live gauges must not be added up any more.
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def _on_exit(server: Any) -> None:
    folder = os.environ.get(MULTIPROC_ENV)
    if folder and os.path.basename(folder).startswith("storekeeper-metrics-"):
        shutil.rmtree(folder, ignore_errors=True)


def options(host: str, port: int, workers: int) -> dict[str, object]:
    """gunicorn's settings for Storekeeper (also used for the benchmark floors)."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "worker_class": "storekeeper.serving.Worker",
        "worker_connections": LIMITS.connections_per_worker,
        "backlog": LIMITS.backlog,
        "keepalive": LIMITS.header_timeout_s,
        "timeout": LIMITS.heartbeat_timeout_s,
        "graceful_timeout": LIMITS.graceful_timeout_s,
        "limit_request_line": LIMITS.max_request_line,
        "limit_request_fields": LIMITS.max_header_fields,
        "limit_request_field_size": LIMITS.max_header_field,
        # Client addresses and schemes are the app's business (STOREKEEPER_TRUSTED_PROXIES):
        # gunicorn trusts no forwarding header from anyone.
        "forwarded_allow_ips": "",
        "proxy_allow_ips": "",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "storekeeper",
        "child_exit": _child_exit,
        "on_exit": _on_exit,
    }


class Arbiter(GunicornArbiter):  # type: ignore[misc]
    """gunicorn's arbiter, with Ctrl-C (SIGINT) a short graceful stop instead of a kill.

    SIGTERM keeps gunicorn's meaning (graceful, LIMITS.graceful_timeout_s), for
    orchestrators; SIGQUIT, or a second SIGINT while stopping, is gunicorn's quick shutdown.
    """

    def handle_int(self) -> None:
        # The terminal sent SIGINT to the workers too; sending it again covers `kill -INT`
        # of the arbiter alone. Then the graceful stop, bounded by the shorter timeout.
        self.cfg.set("graceful_timeout", LIMITS.interrupt_timeout_s)
        self.kill_workers(signal.SIGINT)
        raise StopIteration


class Server(BaseApplication):  # type: ignore[misc]
    """A WSGI target served with Storekeeper's settings."""

    def __init__(self, target: str, factory: bool, settings: dict[str, object]) -> None:
        self._target = target
        self._factory = factory
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._settings.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Any]:
        module, _, name = self._target.partition(":")
        loaded: Callable[..., Any] = getattr(importlib.import_module(module), name)
        return loaded() if self._factory else loaded

    def run(self) -> None:
        # BaseApplication.run with this module's Arbiter.
        try:
            Arbiter(self).run()
        except RuntimeError as exc:
            print(f"storekeeper: {exc}", file=sys.stderr)
            sys.exit(1)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a WSGI target (`module:name`); what `storekeeper serve` execs."""
    parser = argparse.ArgumentParser(prog="python -m storekeeper.serving")
    parser.add_argument("target")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--factory", action="store_true", help="call the target to get the app")
    args = parser.parse_args(argv)
    Server(args.target, args.factory, options(args.host, args.port, args.workers)).run()
    return 0
