"""What the hooks around every request keep about it, in one typed place."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from flask import g

from storekeeper.domain.budgets import Verdict


@dataclass(slots=True)
class RequestState:
    """One request's id, start and user: for its answer's headers, log line and metrics."""

    # The client's X-Request-ID when well formed, else a new one: echoed on the answer and in
    # every log line of the request.
    request_id: str
    # When the request started (perf_counter), for the access log and the latency histogram.
    started: float = field(default_factory=time.perf_counter)
    # Whose live session made the request (http/pipeline.py), for the access log.
    user_id: int | None = None
    # Where the client stands in its request budgets (http/budgets.py), for the answer's
    # RateLimit header fields; None on an exempt path or with the budgets off.
    budget: Verdict | None = None


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
