"""Hostile clients against the real server: idle floods, slow requests, malformed HTTP.

Every bound here is a hang detector, not a speed claim: HANG_S is far above what a loaded
2-core machine needs, and only a server that stopped answering exceeds it.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.live import address, live_server, login_token, read_response

HANG_S = 30.0
# The server's own bounds (storekeeper.serving.Limits), plus slack for a loaded machine.
CLOSED_WITHIN_S = 60.0


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, str]]:
    """A live 2-worker server and an access token."""
    with live_server(workers=2) as base:
        token = login_token(base)
        created = requests.post(
            f"{base}/store",
            json={"name": "Faults"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=HANG_S,
        )
        assert created.status_code == 201
        yield base, token


def _connect(base: str) -> socket.socket:
    return socket.create_connection(address(base), timeout=HANG_S)


def _health(base: str) -> None:
    # A fresh connection each time: the point is that new clients still get in.
    with requests.Session() as session:
        assert session.get(f"{base}/health", timeout=HANG_S).status_code == 200


def _wait_all_closed(socks: list[socket.socket]) -> int:
    """Read each socket until the server closes it; how many it closed within the bound."""
    open_socks = set(socks)
    deadline = time.monotonic() + CLOSED_WITHIN_S
    while open_socks and time.monotonic() < deadline:
        readable, _, _ = select.select(list(open_socks)[:500], [], [], 1.0)
        for sock in readable:
            try:
                if not sock.recv(65536):
                    open_socks.discard(sock)
            except OSError:
                open_socks.discard(sock)
    return len(socks) - len(open_socks)


def _hold(base: str, count: int, payload: bytes) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = _connect(base)
        if payload:
            sock.sendall(payload)
        socks.append(sock)
    return socks


def _close(socks: list[socket.socket]) -> None:
    for sock in socks:
        sock.close()


@pytest.mark.slow
def test_idle_connection_flood_leaves_the_server_serving(server: tuple[str, str]) -> None:
    base, _ = server
    socks = _hold(base, 600, b"")
    try:
        _health(base)
        # Idle connections are closed by the server after its header timeout.
        assert _wait_all_closed(socks) == len(socks)
        _health(base)
    finally:
        _close(socks)


@pytest.mark.slow
def test_half_sent_headers_are_dropped(server: tuple[str, str]) -> None:
    base, _ = server
    socks = _hold(base, 200, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    try:
        _health(base)
        assert _wait_all_closed(socks) == len(socks)
    finally:
        _close(socks)


def _answers(socks: list[socket.socket]) -> list[int | None]:
    """The final status each socket got (None: closed without an answer)."""
    statuses: list[int | None] = []
    for sock in socks:
        sock.settimeout(CLOSED_WITHIN_S)
        try:
            with sock.makefile("rb") as stream:
                statuses.append(read_response(stream)[0])
        except (ConnectionError, OSError):
            statuses.append(None)
    return statuses


def _post_head(token: str, length: int, extra: str = "") -> bytes:
    return (
        f"POST /store HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


@pytest.mark.slow
def test_bodies_that_never_arrive_get_408_and_the_server_keeps_serving(
    server: tuple[str, str],
) -> None:
    base, token = server
    socks = _hold(base, 40, _post_head(token, 1000) + b'{"name": "')
    try:
        _health(base)
        assert set(_answers(socks)) <= {408, None}
        _health(base)
    finally:
        _close(socks)


@pytest.mark.slow
def test_expect_100_continue_without_a_body(server: tuple[str, str]) -> None:
    base, token = server
    socks = _hold(base, 40, _post_head(token, 20, "Expect: 100-continue\r\n"))
    try:
        _health(base)
        assert set(_answers(socks)) <= {408, None}
    finally:
        _close(socks)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400),
        (b"POST /store HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST /store HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST /store HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400),
        (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20_000 + b"\r\n\r\n", 431),
        (b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 500 + b"\r\n\r\n", 400),
    ],
    ids=[
        "folded-header",
        "negative-length",
        "two-lengths",
        "unknown-coding",
        "long-url",
        "huge-header",
        "bad-version",
        "tls-hello",
    ],
)
def test_malformed_http_gets_a_problem(
    server: tuple[str, str], request_bytes: bytes, status: int
) -> None:
    base, _ = server
    with _connect(base) as sock, sock.makefile("rb") as stream:
        sock.sendall(request_bytes)
        answer, headers, body = read_response(stream)
    assert answer == status
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == status
    _health(base)


def _request(token: str | None, method: str, path: str, content_type: str, body: bytes) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signed_in", "method", "path", "content_type", "body", "status"),
    [
        (False, "POST", "/store", "application/json", b'{"name": "x"}', 401),
        (True, "POST", "/store", "text/plain", b"hello there", 415),
        (True, "POST", "/nowhere", "application/json", b'{"name": "x"}', 404),
        (True, "PUT", "/store", "application/json", b'{"name": "x"}', 405),
        (True, "POST", "/store", "application/json", b"x" * (2 * 1024 * 1024), 413),
        (True, "POST", "/store/999999/item", "application/json", b'{"name": "x", "price": 1}', 404),
    ],
    ids=["401", "415", "404", "405", "413", "404-store"],
)
def test_keep_alive_survives_a_refusal_that_left_the_body_unread(
    server: tuple[str, str],
    signed_in: bool,
    method: str,
    path: str,
    content_type: str,
    body: bytes,
    status: int,
) -> None:
    base, token = server
    with _connect(base) as sock, sock.makefile("rb") as stream:
        sock.sendall(_request(token if signed_in else None, method, path, content_type, body))
        assert read_response(stream)[0] == status
        # The same connection serves the next request: the unread body was drained.
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer, _, health = read_response(stream)
    assert answer == 200
    assert json.loads(health) == {"status": "ok"}


@pytest.mark.slow
def test_next_link_names_the_served_address_whatever_host_the_client_sends(
    server: tuple[str, str],
) -> None:
    base, token = server
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.post(f"{base}/store", json={"name": "Second"}, headers=auth, timeout=HANG_S).ok
    answer = requests.get(f"{base}/store?limit=1", headers={"Host": "evil.example"}, timeout=HANG_S)
    assert answer.headers["Link"].startswith(f"<{base}/store?")
