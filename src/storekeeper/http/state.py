"""What the request lifecycle keeps about one request: every attribute, in one typed place."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flask import g

from storekeeper.domain.model import Actor
from storekeeper.security import Claims, TokenKind


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request's bearer token speaks for: its verified claims and the live actor."""

    claims: Claims
    actor: Actor


@dataclass(slots=True)
class RequestState:
    """One request's state, set by the hooks in the order app.py's lifecycle runs them."""

    # The client's X-Request-ID when well formed, else a new one: echoed on the answer and in
    # every log line of the request.
    request_id: str
    # When the request started (perf_counter), for the access log and the latency histogram.
    started: float = field(default_factory=time.perf_counter)
    # The bearer token's verified claims and kind (http/identity.py); None without a token.
    token: tuple[Claims, TokenKind] | None = None
    # Who the token speaks for, its session checked once before the handler; None without one.
    caller: Caller | None = None
    # The raw body, read once under its size and time limits (http/bodies.py): the
    # idempotency fingerprint and the parser share it.
    body: bytes | None = None
    # The (user id, Idempotency-Key) this POST claimed (http/idempotency.py): after the
    # handler, the claim is completed with the answer or released.
    idempotency: tuple[int, str] | None = None
    # Whether the handler stored its answer with the claim in its own transaction.
    idempotency_bound: bool = False


_KEY = "storekeeper_request"


def begin(request_id: str) -> RequestState:
    """Start the request's state (the first hook)."""
    state = RequestState(request_id)
    setattr(g, _KEY, state)
    return state


def current() -> RequestState | None:
    """The request's state; None when the request failed before the first hook ran."""
    state: RequestState | None = g.get(_KEY)
    return state


def state() -> RequestState:
    """The request's state, inside a request that the first hook has started."""
    found = current()
    if found is None:
        raise RuntimeError("the request state is used before the request started")
    return found
