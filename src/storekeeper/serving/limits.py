"""How long and how much the server gives a client before it gives up on it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The server's bounds; docs/reliability.md lists what happens past each one."""

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
