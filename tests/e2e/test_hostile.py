"""Hostile requests against the real server: refused cleanly, nothing lost, server healthy."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.live import live_server, login_token

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, dict[str, str]]]:
    """A live server with a user and one store."""
    with live_server(workers=2) as base:
        headers = {"Authorization": f"Bearer {login_token(base)}"}
        assert requests.post(f"{base}/store", json={"name": "Kept"}, headers=headers, timeout=10).ok
        yield base, headers


def _raw(base: str, payload: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        try:
            while data := sock.recv(65536):
                chunks.append(data)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


@pytest.mark.slow
def test_oversized_body_is_413(server: tuple[str, dict[str, str]]) -> None:
    base, headers = server
    body = b'{"name": "' + b"x" * (2 * MIB) + b'"}'
    answer = requests.post(
        f"{base}/store",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 413
    assert answer.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.slow
def test_oversized_chunked_body_is_413(server: tuple[str, dict[str, str]]) -> None:
    base, headers = server

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    answer = requests.post(
        f"{base}/store",
        data=chunks(),
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 413


@pytest.mark.slow
@pytest.mark.parametrize(
    "body",
    [
        b'{"name": NaN}',
        b"\xef\xbb\xbf{}",
        b'{"name": "\\ud800"}',
        b"[" * 100_000,
        b'{"name": "a", "name": "b"}',
        b"\xff\xfe",
    ],
)
def test_malformed_json_is_400(server: tuple[str, dict[str, str]], body: bytes) -> None:
    base, headers = server
    answer = requests.post(
        f"{base}/store",
        data=body,
        headers={**headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["status"] == 400


@pytest.mark.slow
def test_garbage_on_the_socket_does_not_hurt(server: tuple[str, dict[str, str]]) -> None:
    base, _ = server
    _raw(base, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 500)
    _raw(base, b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    _raw(base, b"POST /store HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
    assert requests.get(f"{base}/health", timeout=5).status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize(
    "framing",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # a chunk size that is not hexadecimal
        b"2\r\n{}XX0\r\n\r\n",  # a chunk without its CRLF
    ],
)
def test_broken_chunked_framing_is_400_and_closes(
    server: tuple[str, dict[str, str]], framing: bytes
) -> None:
    """gunicorn finds broken chunks only while the app reads them: still the client's 400."""
    base, headers = server
    head = (
        "POST /store HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: {headers['Authorization']}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    # What follows the broken frame would be a second request on a kept-alive connection.
    after = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = _raw(base, head.encode() + framing + after)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"application/problem+json" in answer
    assert answer.count(b"HTTP/1.1 ") == 1, answer  # closed: nothing after it is trusted
    assert requests.get(f"{base}/health", timeout=5).status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize("path", [b"/store/1", b"//store/1", b"/store//1", b"//x/store/1"])
def test_one_url_per_resource_on_the_wire(server: tuple[str, dict[str, str]], path: bytes) -> None:
    base, _ = server
    answer = _raw(base, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status = answer.split(b"\r\n", 1)[0].split()[1]
    assert status == (b"200" if path == b"/store/1" else b"404")


@pytest.mark.slow
def test_nothing_was_lost(server: tuple[str, dict[str, str]]) -> None:
    base, _ = server
    names = [store["name"] for store in requests.get(f"{base}/store", timeout=10).json()]
    assert names == ["Kept"]
