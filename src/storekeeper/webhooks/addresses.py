"""Where webhook deliveries may go (STAND-IN until helper wh-sender's module is merged).

The interface of docs webhooks.md: `Destinations(allow_private, resolve)` with `check(url)` and
`resolve_allowed(host, port)`. This minimal version checks the scheme, the host and that
every resolved address is global unless private ones are allowed; wh-sender's replaces it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[..., list[tuple[Any, ...]]]


class RefusedDestination(Exception):
    """A delivery's destination that the rules refuse; the message says why."""


class Destinations:
    """The rules for a delivery's URL and the addresses its host resolves to."""

    def __init__(self, allow_private: bool, resolve: Resolve = socket.getaddrinfo) -> None:
        self.allow_private = allow_private
        self.resolve = resolve

    def check(self, url: str) -> str | None:
        """None when the URL may receive deliveries, else why not."""
        parts = urlsplit(url)
        schemes = ("https", "http") if self.allow_private else ("https",)
        if parts.scheme not in schemes:
            return "must be an https URL" if not self.allow_private else "must be http(s)"
        if parts.username or parts.password:
            return "must not hold a user name or password"
        if not parts.hostname:
            return "must name a host"
        try:
            self.resolve_allowed(parts.hostname, parts.port or 443)
        except RefusedDestination as exc:
            return str(exc)
        return None

    def resolve_allowed(self, host: str, port: int) -> list[IPAddress]:
        """The host's addresses, all of them allowed; RefusedDestination otherwise."""
        try:
            found = self.resolve(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise RefusedDestination(f"the host does not resolve: {exc}") from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in found]
        if not addresses:
            raise RefusedDestination("the host does not resolve")
        if not self.allow_private and not all(a.is_global for a in addresses):
            raise RefusedDestination("must not resolve to a private or loopback address")
        return addresses
