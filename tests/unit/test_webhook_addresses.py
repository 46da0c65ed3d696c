"""Where webhooks may go: URL rules, address rules, and what a refusal says."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from storekeeper.webhooks.addresses import (
    Destinations,
    RefusedDestination,
    Target,
    category,
)
from storekeeper.webhooks.sender import MAX_RETRY_AFTER_S, Outcome, parse_retry_after

PUBLIC = "93.184.216.34"
NOT_PUBLIC_NAME = "host name does not resolve, or resolves to a non-public address"


def resolving(*addresses: str) -> Destinations:
    """Rules without private addresses, whose DNS answers `addresses` for every name."""
    return Destinations(False, lambda host, port: addresses)


def nothing_resolves(host: str, port: int) -> Sequence[str]:
    """A resolver that knows no name."""
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.127.255.254", "shared (CGNAT)"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (judged, not bound)
        ("0.1.2.3", "unspecified"),
        ("192.0.0.9", "reserved"),
        ("192.0.2.1", "documentation"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.9", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("192.88.99.1", "reserved"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "private"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("2001::1", "reserved"),  # Teredo
        ("2001:2::1", "reserved"),  # benchmarking
        ("::7f00:1", "reserved"),  # IPv4-compatible, deprecated
        ("100::1", "reserved"),  # discard
        ("5f00::1", "reserved"),  # SRv6
        ("64:ff9b:1::1", "reserved"),  # local-use NAT64
        # IPv6 addresses that carry an IPv4 address are what that address is.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::127.0.0.1", "loopback"),
        ("64:ff9b::192.168.1.1", "private"),
        ("64:ff9b::100.64.0.1", "shared (CGNAT)"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a00:1::1", "private"),  # 6to4 of 10.0.0.1
        # Public unicast.
        (PUBLIC, None),
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("2606:4700:4700::1111", None),
        ("2a00:1450:4001:82b::200e", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::8.8.8.8", None),  # NAT64 of a public address: how IPv6-only hosts reach it
        ("2002:808:808::1", None),
    ],
)
def test_the_kind_of_each_address(address: str, kind: str | None) -> None:
    assert category(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://127.0.0.1:8443/hooks",
        # The other spellings of 127.0.0.1 that resolvers and browsers accept.
        "https://127.1/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://0x7f000001/",
        "https://0177.0.0.1/",
        "https://017700000001/",
        "https://127.0.0.1./",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://[::1]/",
        "https://[0:0:0:0:0:0:0:1]/",
        "https://[64:ff9b::7f00:1]/",
        "https://[2002:7f00:1::]/",
    ],
)
def test_loopback_in_any_spelling_is_refused_whatever_dns_would_say(url: str) -> None:
    # The resolver would answer a public address: the URL names an address, so it is not asked.
    assert resolving(PUBLIC).check(url) == (
        "host is a loopback address; webhooks go to public addresses only"
    )


@pytest.mark.parametrize(
    "url",
    ["https://2130706433/", "https://0x7f.1/", "https://127.1/", "https://[::ffff:127.0.0.1]/"],
)
def test_odd_spellings_are_refused_with_the_system_resolver_too(url: str) -> None:
    assert Destinations(False).check(url) is not None


def test_localhost_resolved_by_the_system_is_refused() -> None:
    assert Destinations(False).check("https://localhost/hooks") == NOT_PUBLIC_NAME
    assert Destinations(True).check("http://localhost/hooks") is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.0.0.1/", "host is a private address; webhooks go to public addresses only"),
        ("https://169.254.169.254/latest/meta-data", "host is a link-local address; webhooks go"),
        ("https://100.64.0.1/", "host is a shared (CGNAT) address; webhooks go"),
        ("https://[fd00::1]/", "host is a private address; webhooks go"),
        ("https://0.0.0.0/", "host is an unspecified address; webhooks go"),
    ],
)
def test_a_url_naming_a_non_public_address_says_what_it_is(url: str, reason: str) -> None:
    refusal = resolving(PUBLIC).check(url)
    assert refusal is not None and refusal.startswith(reason)


def test_a_name_is_refused_when_any_of_its_addresses_is_not_public() -> None:
    assert resolving(PUBLIC, "2606:4700:4700::1111").check("https://hooks.example/") is None
    assert resolving(PUBLIC, "10.0.0.7").check("https://hooks.example/") == NOT_PUBLIC_NAME
    assert resolving("::ffff:10.0.0.7").check("https://hooks.example/") == NOT_PUBLIC_NAME


def test_a_refusal_for_a_name_tells_nothing_of_the_network() -> None:
    # Unknown and internal names read the same, and no resolved address is shown.
    internal = resolving("10.20.30.40").check("https://db.internal/")
    unknown = Destinations(False, nothing_resolves).check("https://db.internal/")
    nothing = resolving().check("https://db.internal/")
    assert internal == unknown == nothing == NOT_PUBLIC_NAME
    assert "10.20" not in internal


def test_resolve_allowed_gives_every_address_once() -> None:
    rules = resolving(PUBLIC, "2606:4700:4700::1111", PUBLIC)
    assert rules.resolve_allowed("hooks.example", 443) == [
        ipaddress.ip_address(PUBLIC),
        ipaddress.ip_address("2606:4700:4700::1111"),
    ]
    with pytest.raises(RefusedDestination) as refused:
        resolving("127.0.0.1").resolve_allowed("hooks.example", 443)
    assert refused.value.reason == NOT_PUBLIC_NAME == str(refused.value)


def test_the_resolver_is_asked_for_the_idna_name_and_port() -> None:
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> Sequence[str]:
        asked.append((host, port))
        return [PUBLIC]

    assert Destinations(False, resolve).check("https://BÜCHER.example:8443/x") is None
    assert asked == [("xn--bcher-kva.example", 8443)]


@pytest.mark.parametrize(
    ("allow_private", "url", "reason"),
    [
        (False, "http://hooks.example/", "must be an https URL"),
        (False, "ftp://hooks.example/", "must be an https URL"),
        (True, "ftp://hooks.example/", "must be an http or https URL"),
        (False, "hooks.example/path", "must be an https URL"),
        (False, "https://user@hooks.example/", "must not contain a user name or password"),
        (False, "https://user:pw@hooks.example/", "must not contain a user name or password"),
        (False, "https://:pw@hooks.example/", "must not contain a user name or password"),
        (False, "https://hooks.example:0/", "port must be between 1 and 65535"),
        (False, "https://hooks.example:65536/", "must be a URL like https://example.com/hooks"),
        (False, "https://hooks.example:http/", "must be a URL like https://example.com/hooks"),
        (False, "https:///hooks", "must have a host name"),
        (False, "https:hooks.example", "must have a host name"),
        (False, "https://hooks.example/a b", "must not contain spaces, backslashes or control"),
        (False, "https://hooks\t.example/", "must not contain spaces, backslashes or control"),
        (False, "https://hooks.example\n/", "must not contain spaces, backslashes or control"),
        (False, "https://evil.example\\@hooks.example/", "must not contain spaces, backslashes"),
        (False, "https://hooks.example/" + "a" * 2048, "must be at most 2048 characters"),
        (False, "https://[::1/", "must be a URL like https://example.com/hooks"),
        (False, "https://[::1]x/", "host is not a valid host name or IP address"),
        (False, "https://[fe80::1%25eth0]/", "host is not a valid host name or IP address"),
        (False, "https://-hooks.example/", "host is not a valid host name or IP address"),
        (False, "https://hooks..example/", "host is not a valid host name or IP address"),
        (False, "https://" + "a" * 64 + ".example/", "host is not a valid host name"),
        (False, "https://hooks.123/", "host is not a valid host name or IP address"),
        (False, "https://1.2.3.4.5/", "host is not a valid host name or IP address"),
        (False, "https://4294967296/", "host is not a valid host name or IP address"),
        (False, "https://hooks!.example/", "host is not a valid host name or IP address"),
        (False, "https://straße.example/", "host name must be written in its ASCII (xn--) form"),
        (True, "http://[ff02::1]/", "host is a multicast address, which cannot receive webhooks"),
        (True, "http://0.0.0.0/", "host is an unspecified address, which cannot receive"),
        (True, "http://255.255.255.255/", "host is a broadcast address, which cannot receive"),
    ],
)
def test_urls_that_are_refused_say_why(allow_private: bool, url: str, reason: str) -> None:
    rules = Destinations(allow_private, lambda host, port: [PUBLIC])
    refusal = rules.check(url)
    assert refusal is not None and refusal.startswith(reason), refusal


def test_with_private_addresses_allowed_http_and_private_networks_pass() -> None:
    rules = Destinations(True, lambda host, port: ["10.0.0.5"])
    assert rules.check("http://hooks.lan:8080/in") is None
    assert rules.check("https://192.168.1.20/in") is None
    assert rules.check("http://[::1]:9000/") is None
    assert Destinations(True, nothing_resolves).check("http://x.lan/") == (
        "host name does not resolve"
    )
    multicast = Destinations(True, lambda host, port: ["10.0.0.5", "224.0.0.1"])
    assert multicast.check("http://hooks.lan/") == (
        "host name resolves to an address that cannot receive webhooks"
    )


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://hooks.example", Target("https", "hooks.example", 443, "/")),
        ("HTTPS://Hooks.Example./in#top", Target("https", "hooks.example", 443, "/in")),
        ("https://hooks.example:8443/a?b=1&c", Target("https", "hooks.example", 8443, "/a?b=1&c")),
        ("http://hooks.example/", Target("http", "hooks.example", 80, "/")),
        ("https://hooks.example/ä?q=ü", Target("https", "hooks.example", 443, "/%C3%A4?q=%C3%BC")),
        ("https://hooks.example/a%20b", Target("https", "hooks.example", 443, "/a%20b")),
        ("https://bücher.example/", Target("https", "xn--bcher-kva.example", 443, "/")),
        ("https://xn--bcher-kva.example/", Target("https", "xn--bcher-kva.example", 443, "/")),
        ("https://my_hooks.example/", Target("https", "my_hooks.example", 443, "/")),
        ("https://[2606:4700:0::1111]:8443/", Target("https", "2606:4700::1111", 8443, "/")),
        ("https://0x08.0x08.0x08.0x08/", Target("https", "8.8.8.8", 443, "/")),
    ],
)
def test_a_url_taken_apart(url: str, target: Target) -> None:
    assert Destinations(True).parse(url) == target


def test_a_target_knows_whether_it_names_an_address() -> None:
    assert Target("https", "8.8.8.8", 443, "/").address == ipaddress.ip_address("8.8.8.8")
    assert Target("https", "hooks.example", 443, "/").address is None


NOW = datetime(2026, 12, 7, 3, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("120", 120.0),
        (" 0 ", 0.0),
        ("86400", 86400.0),
        ("86401", MAX_RETRY_AFTER_S),
        ("9" * 40, MAX_RETRY_AFTER_S),
        ("Mon, 07 Dec 2026 04:00:00 GMT", 3600.0),
        ("Monday, 07-Dec-26 04:00:00 GMT", 3600.0),  # RFC 850, which HTTP still accepts
        ("Mon Dec  7 03:00:30 2026", 30.0),  # asctime
        ("Mon, 07 Dec 2026 02:00:00 GMT", 0.0),  # already past
        ("Mon, 07 Dec 2099 02:00:00 GMT", MAX_RETRY_AFTER_S),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        ("\u0661\u0662", None),  # Arabic-Indic digits are not HTTP's
    ],
)
def test_retry_after_read_both_ways_and_bounded(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_an_outcome_succeeds_on_a_2xx_without_error() -> None:
    assert Outcome(200).succeeded and Outcome(299, duration_ms=5).succeeded
    assert not Outcome(302, error="the receiver answered 302").succeeded
    assert not Outcome(500).succeeded and not Outcome(None, error="timed out").succeeded
