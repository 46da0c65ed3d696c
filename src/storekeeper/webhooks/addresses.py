"""Where webhooks may be sent: the URL's rules and the addresses its host may resolve to.

The same rules run when a webhook is saved (`Destinations.check`, a 422 reason) and at every
delivery (the sender calls `parse` and `resolve_allowed`, then connects to an address they
returned, so a DNS answer that changes in between cannot point a delivery anywhere else).

Reasons are short phrases for a 422's `errors.url` and the delivery log. They never show what
the user did not write: a host name that resolves to an internal address and one that does not
resolve at all get the same reason, so the check cannot be used to map the operator's network.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import quote, urlsplit

IPAddress = IPv4Address | IPv6Address
# host, port -> the addresses it resolves to, as text ("192.0.2.7", "2001:db8::1").
Resolve = Callable[[str, int], Sequence[str]]

MAX_URL_CHARS = 2048
DEFAULT_PORTS = {"https": 443, "http": 80}

# What ipaddress's is_global gets wrong or leaves out (it varies between Python releases), in
# the order they are looked up: the IANA special-purpose registries' ranges that are not
# ordinary public unicast. The name is what a reason says about a literal address.
_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), name)
    for net, name in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)
_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), name)
    for net, name in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("ff00::/8", "multicast"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "private"),
        ("fc00::/7", "private"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        # IETF protocol assignments: Teredo (2001::/32), ORCHIDs, benchmarking (2001:2::/48).
        ("2001::/23", "reserved"),
    )
)
# Only 2000::/3 is allocated as global unicast; everything outside it (IPv4-compatible ::/96,
# discard 100::/64, SRv6 5f00::/16, ...) is refused, except the two prefixes below that carry
# an IPv4 address, which are judged by that address.
_GLOBAL_UNICAST = IPv6Network("2000::/3")
_NAT64 = IPv6Network("64:ff9b::/96")
# No receiver can be at these, even on a private network the operator allows.
_NEVER = frozenset({"unspecified", "multicast", "broadcast"})
# One reason for both, so nobody learns which internal names exist.
_NOT_PUBLIC_NAME = "host name does not resolve, or resolves to a non-public address"

_NAME_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)", re.ASCII)
# The legacy IPv4 spellings inet_aton (and so getaddrinfo) accepts: 127.1, 2130706433, 0x7f.1,
# 0177.0.0.1. A host whose last label is a number is read as one of these or refused, as the
# WHATWG URL standard (browsers) does, so no resolver can read it some other way.
_NUMBER_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+", re.ASCII)
# IDNA 2003 (Python's codec) maps these to other letters ("ß" -> "ss"); IDNA 2008 and browsers
# keep them. Sending to the 2003 spelling could reach another owner's host, so they must be
# written in their xn-- form.
_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")
# Everything printable in ASCII stays as written on the request line; other characters of the
# path and query are sent percent-encoded as UTF-8, as a browser does.
_PATH_SAFE = string.punctuation


class RefusedDestination(Exception):
    """A URL or an address webhooks may not be sent to; `reason` says why, in a phrase."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: what the sender connects to and what it asks for."""

    scheme: str
    # An ASCII host name in lower case (IDNA applied), or an IP address in its usual form.
    host: str
    port: int
    # The path and query as they go on the request line.
    path: str

    @property
    def address(self) -> IPAddress | None:
        """The IP address when the URL names one instead of a host name."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for a host name (getaddrinfo)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def category(address: IPAddress) -> str | None:
    """What kind of non-public address this is ("loopback", "private", ...), None if public."""
    if isinstance(address, IPv4Address):
        for network, name in _V4:
            if address in network:
                return name
        return None if address.is_global else "reserved"
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return category(embedded)
    for v6network, name in _V6:
        if address in v6network:
            return name
    if address not in _GLOBAL_UNICAST or not address.is_global:
        return "reserved"
    return None


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: IPv4-mapped, NAT64 (RFC 6052) or 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


class Destinations:
    """The rules for webhook URLs; with allow_private, loopback and private networks too."""

    def __init__(self, allow_private: bool, resolve: Resolve = system_resolve) -> None:
        self.allow_private = allow_private
        self._resolve = resolve

    def check(self, url: str) -> str | None:
        """None when webhooks may be sent to `url`, else the reason (for a 422 on `url`)."""
        try:
            target = self.parse(url)
            self.resolve_allowed(target.host, target.port)
        except RefusedDestination as refused:
            return refused.reason
        return None

    def parse(self, url: str) -> Target:
        """The URL's parts, checked without any DNS look-up; RefusedDestination if bad."""
        if len(url) > MAX_URL_CHARS:
            raise RefusedDestination(f"must be at most {MAX_URL_CHARS} characters")
        # urlsplit quietly drops tabs and line breaks, and servers read a backslash as a slash:
        # refused, so the URL means one thing to everybody.
        if any(ord(char) <= 0x20 or 0x7F <= ord(char) <= 0x9F or char == "\\" for char in url):
            raise RefusedDestination("must not contain spaces, backslashes or control characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            # The port, or brackets that hold no IPv6 address.
            raise RefusedDestination(
                "must be a URL like https://example.com/hooks (port 1 to 65535)"
            ) from None
        schemes = ("https", "http") if self.allow_private else ("https",)
        if parts.scheme.lower() not in schemes:
            raise RefusedDestination(
                "must be an http or https URL" if self.allow_private else "must be an https URL"
            )
        if "@" in parts.netloc:
            raise RefusedDestination("must not contain a user name or password")
        if port == 0:
            raise RefusedDestination("port must be between 1 and 65535")
        host = _host(parts.netloc, parts.hostname or "")
        scheme = parts.scheme.lower()
        path = quote(parts.path or "/", safe=_PATH_SAFE)
        if parts.query:
            path += "?" + quote(parts.query, safe=_PATH_SAFE)
        return Target(scheme, host, port or DEFAULT_PORTS[scheme], path)

    def resolve_allowed(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to for `host`; RefusedDestination if any is not allowed.

        `host` is a Target's host: a host name is looked up (once), an IP address is judged
        as it is. One refused address refuses them all, as the connection could go to any.
        """
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return [self._allowed(literal, literal=True)]
        try:
            found = [ipaddress.ip_address(text) for text in self._resolve(host, port)]
        except (OSError, UnicodeError, ValueError):
            found = []
        if not found:
            raise RefusedDestination(
                "host name does not resolve" if self.allow_private else _NOT_PUBLIC_NAME
            )
        return list(dict.fromkeys(self._allowed(address, literal=False) for address in found))

    def _allowed(self, address: IPAddress, literal: bool) -> IPAddress:
        kind = category(address)
        if kind is None or (self.allow_private and kind not in _NEVER):
            return address
        if not literal:
            raise RefusedDestination(
                "host name resolves to an address that cannot receive webhooks"
                if self.allow_private
                else _NOT_PUBLIC_NAME
            )
        article = "an" if kind[0] in "aeiou" else "a"
        if self.allow_private:
            raise RefusedDestination(
                f"host is {article} {kind} address, which cannot receive webhooks"
            )
        raise RefusedDestination(
            f"host is {article} {kind} address; webhooks go to public addresses only"
        )


def _host(netloc: str, hostname: str) -> str:
    """The URL's host, normalised: an IP address in its usual form, or an ASCII name."""
    if not hostname:
        raise RefusedDestination("must have a host name")
    invalid = RefusedDestination("host is not a valid host name or IP address")
    if netloc.startswith("["):
        # urlsplit has already refused brackets around anything but an IPv6 address; a zone
        # (fe80::1%25eth0) names an interface of this machine, never a receiver.
        if "%" in hostname or not re.fullmatch(r"\[[^\]]*\](:[0-9]*)?", netloc):
            raise invalid
        return str(IPv6Address(hostname))
    name = hostname.removesuffix(".")
    if _DEVIATIONS & set(name):
        raise RefusedDestination("host name must be written in its ASCII (xn--) form")
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise invalid from None
    labels = name.split(".")
    if _NUMBER_LABEL.fullmatch(labels[-1]):
        if len(labels) > 4 or not all(_NUMBER_LABEL.fullmatch(label) for label in labels):
            raise invalid
        try:
            return str(IPv4Address(socket.inet_aton(name)))
        except OSError:
            raise invalid from None
    if len(name) > 253 or not all(_NAME_LABEL.fullmatch(label) for label in labels):
        raise invalid
    return name
