"""Where webhooks may be sent: a minimal stand-in with the shared interface (webhooks design).

Helper wh-sender writes the full module (IDNA, legacy IPv4 spellings, special-purpose ranges);
the lead takes that version at merge. This one keeps the same names and behaviour in outline.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv6Address
from urllib.parse import urlsplit

IPAddress = IPv4Address | IPv6Address
# host, port -> the addresses it resolves to, as text.
Resolve = Callable[[str, int], Sequence[str]]
DEFAULT_PORTS = {"https": 443, "http": 80}
_NOT_PUBLIC_NAME = "host name does not resolve, or resolves to a non-public address"


class RefusedDestination(Exception):
    """A URL or an address webhooks may not be sent to; `reason` says why, in a phrase."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for a host name (getaddrinfo)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class Destinations:
    """The rules for webhook URLs; with allow_private, loopback and private networks too."""

    def __init__(self, allow_private: bool, resolve: Resolve = system_resolve) -> None:
        self.allow_private = allow_private
        self._resolve = resolve

    def check(self, url: str) -> str | None:
        """None when webhooks may be sent to `url`, else the reason (for a 422 on `url`)."""
        try:
            parts = urlsplit(url)
            schemes = ("https", "http") if self.allow_private else ("https",)
            if parts.scheme not in schemes:
                raise RefusedDestination("scheme must be " + " or ".join(schemes))
            if parts.username is not None or parts.password is not None or "@" in parts.netloc:
                raise RefusedDestination("must not hold a user name or password")
            if not parts.hostname:
                raise RefusedDestination("must name a host")
            port = parts.port or DEFAULT_PORTS[parts.scheme]
            self.resolve_allowed(parts.hostname, port)
        except ValueError:
            return "is not a valid URL"
        except RefusedDestination as refused:
            return refused.reason
        return None

    def resolve_allowed(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to for `host`; RefusedDestination if any is not allowed."""
        literal = _literal(host)
        if literal is not None:
            found = [literal]
        else:
            try:
                found = [ipaddress.ip_address(a.split("%")[0]) for a in self._resolve(host, port)]
            except (OSError, UnicodeError, ValueError):
                raise RefusedDestination(_NOT_PUBLIC_NAME) from None
            if not found:
                raise RefusedDestination(_NOT_PUBLIC_NAME)
        for address in found:
            if address.is_multicast or address.is_unspecified:
                raise RefusedDestination("address is not a unicast address")
            if not self.allow_private and not address.is_global:
                raise RefusedDestination(
                    "address is not public" if literal is not None else _NOT_PUBLIC_NAME
                )
        return found
