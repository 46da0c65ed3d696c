"""What the server does on a request's connection, around the application.

`served` wraps the application in each worker; `after_request` runs from gunicorn's
post_request hook once the answer is written. gunicorn hands every WSGI call its
connection's socket as environ["gunicorn.socket"], which is what makes these per-request
settings possible without overriding the worker's request handling.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterable
from typing import Any

import gevent

from storekeeper.serving.limits import LIMITS
from storekeeper.serving.refusals import ChunkedBody

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

SOCKET = "gunicorn.socket"
# libev's count of event-loop iterations when the request reached the app: it moves only
# when a greenlet waits.
_LOOP_AT_START = "storekeeper.loop_iteration"
# How long a request that never waited steps aside. Any time above zero is a libev timer,
# which fires only after the loop has polled for every other connection's readiness: each
# connection then gets one request a turn. gevent.sleep(0) is no turn at all under load: it
# queues a callback, and gevent runs the callbacks queued while it runs callbacks in that same
# pass (up to its switch interval, checked every 50), so the greenlets that had just answered
# were served again and again while those whose request had arrived since waited for a poll:
# the loop lagged ~40 ms for a SQLite read, 90 ms for a list page, and p99s were 10x the
# median (docs/performance.md, "The tail").
_TURN_S = 1e-6
# Linux only (macOS has TCP_NOPUSH, with other semantics): elsewhere an answer goes out in
# the writes gunicorn makes, which costs a packet, not correctness.
TCP_CORK: int | None = getattr(socket, "TCP_CORK", None)


def served(app: WsgiApp) -> WsgiApp:
    """The application, with the server's settings put on each request's connection first."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        before_request(environ)
        return app(environ, start_response)

    return serve


def _corkable(sock: Any) -> bool:
    return TCP_CORK is not None and sock.family in (socket.AF_INET, socket.AF_INET6)


def before_request(environ: dict[str, Any]) -> None:
    """Bound the socket's silences, cork it, and guard a chunked body."""
    sock = environ[SOCKET]
    # gevent's worker leaves a connection blocking with no timeout; a bounded one drops a
    # client that stops sending a body or reading an answer.
    sock.settimeout(LIMITS.io_timeout_s)
    if _corkable(sock):
        # One segment per answer: gunicorn sends a response's head and body apart.
        sock.setsockopt(socket.IPPROTO_TCP, TCP_CORK, 1)
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        environ["wsgi.input"] = ChunkedBody(environ["wsgi.input"])
    environ[_LOOP_AT_START] = getattr(gevent.get_hub().loop, "iteration", None)


def after_request(environ: dict[str, Any]) -> None:
    """Send what the cork holds, then give the other connections a turn if this one had none."""
    if _LOOP_AT_START not in environ:
        return  # the application never ran: nothing was corked
    sock = environ[SOCKET]
    if _corkable(sock):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, TCP_CORK, 0)
    waits = environ[_LOOP_AT_START]
    if waits is None or getattr(gevent.get_hub().loop, "iteration", None) == waits:
        # The request never waited (a read from SQLite runs in C, start to end): let the
        # other connections with a request ready go first. A client that sends its next
        # request as soon as it has an answer finds it already read by the time this loop
        # asks, so one connection could otherwise be served again and again while the others
        # waited (docs/performance.md). A request that waited for the database has let the
        # others run already, and yielding again then costs PostgreSQL reads half their
        # throughput.
        gevent.sleep(_TURN_S)
