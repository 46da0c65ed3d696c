"""The client's address, trusting X-Forwarded-For only from configured proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, an IPv4-mapped IPv6 one (`::ffff:10.0.0.5`) as the IPv4 address it is.

    A dual-stack listener reports IPv4 peers that way: unmapped, they match no IPv4 network of
    the trusted proxies, and count twice over under two spellings.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(address: str, proxies: Sequence[IPNetwork]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in net for net in proxies)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: Sequence[IPNetwork]
) -> str:
    """The first address, walking back from the socket peer, that is not a trusted proxy."""
    peer_ip = _ip(peer or "")
    address = str(peer_ip) if peer_ip is not None else peer or "unknown"
    if not proxies or not forwarded_for or not _trusted(address, proxies):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        ip = _ip(hop)
        if ip is None:
            # Not an address (garbage a proxy passed on): the last hop we could trust is the
            # best identity there is, and nothing unbounded becomes a rate-limit key.
            break
        address = str(ip)
        if not _trusted(hop, proxies):
            break
    return address
