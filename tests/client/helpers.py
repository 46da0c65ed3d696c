"""The client tests' helpers: a transport that records what went over the wire, unique names."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import httpx


@dataclass
class Exchange:
    """One request as the server saw it, and its status."""

    method: str
    path: str
    status: int
    headers: httpx.Headers
    query: str


class Recorder(httpx.HTTPTransport):
    """A real HTTP transport that notes every exchange (retries included) and may react."""

    def __init__(self, on_response: Callable[[httpx.Response], None] | None = None) -> None:
        super().__init__()
        self.on_response = on_response
        self.seen: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send for real, then note it."""
        response = super().handle_request(request)
        self.seen.append(
            Exchange(
                request.method,
                request.url.path,
                response.status_code,
                request.headers,
                request.url.query.decode(),
            )
        )
        if self.on_response is not None:
            self.on_response(response)
        return response

    def calls(self, method: str, path: str) -> list[int]:
        """The statuses of every exchange of `method path`, in order."""
        return [e.status for e in self.seen if (e.method, e.path) == (method, path)]


def unique(prefix: str) -> str:
    """A name no other test on the shared server uses."""
    return f"{prefix}_{secrets.token_hex(4)}"
