"""The gevent worker: gunicorn's, with a main loop that stops in stages and problem+json refusals.

Two methods are overridden, each the narrowest place for its behaviour:

- `run`, the worker's main loop, which gunicorn's base Worker documents as the method a
  worker class overrides. GeventWorker.run notices a stop once a second, waits for idle
  keep-alive connections to time out and gives every signal the same grace; this one
  notices a stop within _TICK_S, closes idle connections at once, and drops requests
  still in flight at the deadline of the signal that stopped it.
- `handle_error`, through which gunicorn answers every request its parser refuses: gunicorn
  has no setting for those answers' bodies, which the contract says are problem+json.

Everything else (the connection's timeouts, TCP_CORK, the fair turn, which requests are in
flight) goes through gunicorn's server hooks and the WSGI environ (`hooks`, `connection`).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import time
from functools import partial
from types import FrameType
from typing import Any

import gevent
from gevent.pool import Pool
from gevent.server import StreamServer
from gunicorn.workers.ggevent import GeventWorker

from storekeeper.serving.limits import LIMITS
from storekeeper.serving.refusals import is_client_error, refusal

log = logging.getLogger("storekeeper.server")

# How often a worker looks whether it should stop, and whether its requests have finished.
_TICK_S = 0.1
_HEARTBEAT_S = 1.0


class Worker(GeventWorker):  # type: ignore[misc]
    """gunicorn's gevent worker; SIGTERM, SIGINT and SIGQUIT stop it in stages.

    All three stop accepting at once and close connections waiting for their next request;
    they differ in how long requests in flight may take: SIGTERM the graceful timeout
    (LIMITS.graceful_timeout_s), SIGINT (Ctrl-C) LIMITS.interrupt_grace_s, SIGQUIT (the
    arbiter's quick shutdown, e.g. a second Ctrl-C) none: gunicorn's own quick exit.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The greenlets whose request is between gunicorn's pre_request and post_request
        # hooks (hooks.py): every other connection is waiting for its next request.
        self.in_flight: set[gevent.Greenlet] = set()
        # When a stop asked for requests in flight to be dropped; None while serving.
        self._drop_at: float | None = None
        self._beat = 0.0

    def run(self) -> None:
        """Serve until told to stop, then let requests in flight finish within the stop's grace."""
        # gunicorn makes SIGINT a quick exit; Ctrl-C must let requests in flight finish.
        # Installed here, in the loop that honours it, after gunicorn's init_signals.
        signal.signal(signal.SIGINT, self._on_interrupt)
        signal.siginterrupt(signal.SIGINT, False)
        servers = [self._listen(listener) for listener in self.sockets]
        while self.alive:
            self._heartbeat()
            gevent.sleep(_TICK_S)
        for server in servers:
            server.close()
        self._drain(servers, time.monotonic() + self.cfg.graceful_timeout)

    def _listen(self, listener: socket.socket) -> StreamServer:
        # As GeventWorker.run: at most worker_connections at once, one accept per wake-up
        # when several workers share the listener. More at once filled a crowd of new
        # connections faster (256 in the first second instead of 4 s) but let one worker take
        # all 32 of a burst while the other idled (docs/performance.md, "The tail").
        listener.setblocking(True)
        handle = partial(self.handle, listener)
        server = StreamServer(listener, handle=handle, spawn=Pool(self.worker_connections))
        if self.cfg.workers > 1:
            server.max_accept = 1
        server.start()
        return server

    def _drain(self, servers: list[StreamServer], give_up_at: float) -> None:
        while any(len(server.pool) for server in servers):
            self._close_idle(servers)
            drop_at = give_up_at if self._drop_at is None else min(give_up_at, self._drop_at)
            if time.monotonic() >= drop_at:
                log.warning("dropping requests still in flight after the grace (pid %s)", self.pid)
                for server in servers:
                    server.stop(timeout=1)
                return
            self._heartbeat()
            gevent.sleep(_TICK_S)

    def _close_idle(self, servers: list[StreamServer]) -> None:
        # A connection with no request in flight is waiting for its next one (or for the
        # rest of a half-sent one, not yet in flight): ended now, as its keep-alive timeout
        # would end it, so it does not hold the stop up. The kill lands when the hub next
        # runs, where such a greenlet can only be waiting to read.
        for server in servers:
            for greenlet in list(server.pool):
                if greenlet not in self.in_flight:
                    greenlet.kill(block=False)

    def _heartbeat(self) -> None:
        if time.monotonic() - self._beat >= _HEARTBEAT_S:
            self._beat = time.monotonic()
            self.notify()

    def _on_interrupt(self, sig: int, frame: FrameType | None) -> None:
        # Signals can arrive in any order (the terminal's SIGINT, then the arbiter's SIGTERM):
        # the shortest grace asked for wins.
        drop_at = time.monotonic() + LIMITS.interrupt_grace_s
        self._drop_at = drop_at if self._drop_at is None else min(self._drop_at, drop_at)
        self.alive = False

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        """Answer a request gunicorn could not serve with the contract's problem+json."""
        if isinstance(exc, gevent.GreenletExit):
            return  # a connection closed on purpose at shutdown: nobody to answer
        if is_client_error(exc):
            log.info("refused a malformed request: %s", type(exc).__name__)
        else:
            log.error("error outside the application", exc_info=exc)
        # Never blocks: a client that reads nothing must not hold the greenlet.
        with contextlib.suppress(OSError):
            client.setblocking(False)
            client.sendall(refusal(exc))
