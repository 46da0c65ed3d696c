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
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.http import errors
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
    # On SIGTERM, requests in flight get this long to finish.
    graceful_timeout_s: int = 20
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
    for kind, status, title, detail in _REFUSALS:
        if isinstance(exc, kind):
            return _problem(status, title, detail)
    return _problem(500, "Internal Server Error", "The server could not answer this request.")


class Worker(GeventWorker):  # type: ignore[misc]
    """gunicorn's gevent worker with socket timeouts and problem+json refusals."""

    def handle(self, listener: socket.socket, client: socket.socket, addr: Any) -> None:
        # GeventWorker.handle makes the socket blocking with no timeout; a bounded timeout
        # instead means a client that stops sending a body or reading a response is dropped.
        client.settimeout(LIMITS.io_timeout_s)
        super(GeventWorker, self).handle(listener, client, addr)

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
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
