"""Retries with backoff for answers that mean "not done, try again": 503 and 429."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

RETRIED_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before sending a refused request again.

    A 503 or 429 means the server did nothing, and every create carries an Idempotency-Key,
    so resending is safe for every method. The wait is the server's Retry-After when it sent
    one, else an exponential backoff with jitter; a Retry-After above `max_wait` is not waited
    for: the answer goes back to the caller (as RetryLater) at once. The default waits out a
    spent request budget of a minute (its 429 says when its window ends).
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_wait: float = 60.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before try number `attempt + 1`; None to stop trying."""
        if attempt >= self.attempts:
            return None
        advice = response.headers.get("Retry-After", "") if response is not None else ""
        if advice.isdigit():
            wait = float(advice)
            return wait if wait <= self.max_wait else None
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


NO_RETRIES = RetryPolicy(attempts=1)


class RetryTransport(httpx.BaseTransport):
    """Resends a request the server refused with 503/429, or could not be connected to."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self.sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send, and send again while the policy allows."""
        attempt = 1
        while True:
            try:
                response = self.inner.handle_request(request)
            except httpx.ConnectError:
                # Nothing reached the server: sending again cannot do anything twice.
                wait = self.policy.delay(attempt, None)
                if wait is None:
                    raise
            else:
                if response.status_code not in RETRIED_STATUSES:
                    return response
                wait = self.policy.delay(attempt, response)
                if wait is None:
                    return response
                response.close()
            self.sleep(wait)
            attempt += 1

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()
