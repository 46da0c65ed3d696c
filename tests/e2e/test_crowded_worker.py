"""Password work never stalls a worker's other requests, and no one address locks a user out.

Over real sockets against one `storekeeper serve` worker (issue 18): argon2 hashing once ran
in the worker's event loop, so a burst of registrations or logins held up every other request
of that worker; and ten bad passwords from anyone made the owner's right one a 429.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from storekeeper.settings import PREFIX
from tests.e2e.live import BIN, address, read_response, server_env, server_process

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"
BURST = 50  # registrations, and as many logins
HEALTH_CHECKS = 20


@contextmanager
def one_worker(tmp_path_str: str, **settings: str) -> Iterator[str]:
    env = server_env(tmp_path_str, **{PREFIX + k: v for k, v in settings.items()})
    subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
    with server_process(tmp_path_str, env, workers=1) as (base, _):
        yield base


def _post(base: str, path: str, body: dict[str, str], source: str = "127.0.0.1") -> int:
    """One JSON POST from the loopback address `source`; its status."""
    host, port = address(base)
    conn = http.client.HTTPConnection(host, port, timeout=30, source_address=(source, 0))
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


def _raw_post(path: str, body: dict[str, str]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data


def _answered(sock: socket.socket) -> bool:
    """Whether the server has started answering on this socket (without waiting)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _health(host: str, port: int) -> int:
    """The status of one GET /health on a new connection."""
    health = socket.create_connection((host, port), timeout=30)
    with health, health.makefile("rb") as stream:
        health.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return read_response(stream)[0]


def test_health_is_answered_while_a_burst_of_hashing_is_in_flight(tmp_path: object) -> None:
    with one_worker(
        str(tmp_path), REGISTER_RATE_LIMIT="100000/hour", LOGIN_RATE_LIMIT="100000/minute"
    ) as base:
        host, port = address(base)
        assert _post(base, "/register", {"username": "ada", "password": PASSWORD}) == 201
        burst: list[socket.socket] = []
        try:
            # 50 registrations and 50 logins sent in full before /health is asked.
            for n in range(BURST):
                for request in (
                    _raw_post("/register", {"username": f"user{n:03}", "password": PASSWORD}),
                    _raw_post("/login", {"username": "ada", "password": PASSWORD}),
                ):
                    sock = socket.create_connection((host, port), timeout=30)
                    sock.sendall(request)
                    burst.append(sock)
            # /health, asked twenty times in a row while the burst is being worked through.
            # What counts is how much of the burst is done by then: with the hashing in the
            # event loop, every answer waits behind hashes, and the burst is all but done when
            # the last one comes (measured: 98 of 100); off the loop, the pool's threads are
            # still early in it (measured: 9 to 10, alone or under a full test run's load).
            # A generous hang bound (the socket's 30 s) on each answer, not a timing assertion.
            for _ in range(HEALTH_CHECKS):
                assert _health(host, port) == 200
            answered = sum(_answered(sock) for sock in burst)
            assert answered < BURST, f"{answered} of {2 * BURST} answered before 20 /health"
            for sock in burst:
                with sock.makefile("rb") as stream:
                    assert read_response(stream)[0] in (200, 201)
        finally:
            for sock in burst:
                sock.close()


def test_an_address_guessing_a_password_cannot_lock_its_owner_out(tmp_path: object) -> None:
    with one_worker(str(tmp_path), LOGIN_RATE_LIMIT="3/minute") as base:
        assert _post(base, "/register", {"username": "ada", "password": PASSWORD}) == 201
        wrong = {"username": "ada", "password": "not her password"}
        guesses = [_post(base, "/login", wrong, source="127.0.0.2") for _ in range(5)]
        assert guesses == [401, 401, 401, 429, 429]
        right = {"username": "ada", "password": PASSWORD}
        assert _post(base, "/login", right, source="127.0.0.3") == 200
        # Spread over enough addresses, guesses meet the username's ceiling: 5 x 3 failures,
        # the three from 127.0.0.2 among them.
        spread = [_post(base, "/login", wrong, f"127.0.1.{n // 2 + 1}") for n in range(12)]
        assert spread == [401] * 12
        assert _post(base, "/login", wrong, source="127.0.2.1") == 429
