"""The server layer's parts that need no live server: its refusals, and the settings it is handed.

tests/e2e/test_faults.py sends the malformed requests to a live server; here every kind of
failure is met, including the server's own faults that no client can provoke.
docs/reliability.md lists every behaviour of the server layer and the test that proves it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from gunicorn.http import errors
from werkzeug.exceptions import BadRequest

from storekeeper.problem_details import problem_body
from storekeeper.serving.application import maker
from storekeeper.serving.handoff import hand_over, take_over
from storekeeper.serving.refusals import ChunkedBody, is_client_error, refusal
from storekeeper.settings import Settings, load_settings
from tests.helpers import PROBLEM


def parsed(answer: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The status, headers and JSON body of a raw HTTP/1.1 answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    assert int(headers["Content-Length"]) == len(body)
    problem: dict[str, Any] = json.loads(body)
    return int(status_line.split()[1]), headers, problem


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.LimitRequestLine(9000, 8190), 414),
        (errors.LimitRequestHeaders("too many headers"), 431),
        (errors.UnsupportedTransferCoding("gzip"), 501),
        (errors.ExpectationFailed("102-processing"), 417),
        (errors.InvalidHeader("X-Bad\x00"), 400),
        (errors.ObsoleteFolding("X-Folded"), 400),
        (errors.InvalidRequestLine("GET"), 400),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_a_malformed_request_is_refused_with_its_own_problem(exc: Exception, status: int) -> None:
    assert is_client_error(exc)
    code, headers, body = parsed(refusal(exc))
    assert code == body["status"] == status
    assert headers["Content-Type"] == PROBLEM
    assert headers["Connection"] == "close"
    assert {"type", "title", "status", "detail"} <= set(body)


def test_a_refusal_carries_the_same_problem_body_the_app_renders() -> None:
    answer = refusal(errors.LimitRequestLine(9000, 8190))
    assert answer.endswith(b"\r\n\r\n" + problem_body(414, "The request line is too long."))


@pytest.mark.parametrize(
    "exc",
    [
        errors.InvalidResponseHeader("X-Secret: s3cret\r\n"),
        errors.InvalidResponseHeaderName("X-Secret\x00"),
        errors.ConfigurationProblem("s3cret misconfigured"),
        RuntimeError("s3cret went wrong"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_the_servers_own_faults_are_a_500_that_names_nothing(exc: Exception) -> None:
    assert not is_client_error(exc)
    answer = refusal(exc)
    code, headers, body = parsed(answer)
    assert code == body["status"] == 500
    assert headers["Connection"] == "close"
    assert b"s3cret" not in answer


class _Body:
    """gunicorn's chunked body over lines, the last of them broken framing."""

    def __init__(self, lines: list[bytes]) -> None:
        self._lines = lines

    def _next(self, _size: int | None = None) -> bytes:
        if not self._lines:
            raise errors.InvalidChunkSize(b"zz")
        return self._lines.pop(0)

    read = readline = _next


def test_a_chunked_body_reads_through_until_its_framing_breaks() -> None:
    body = ChunkedBody(_Body([b"a\n", b"b\n"]))
    assert body.readline() == b"a\n"
    with pytest.raises(BadRequest, match="chunked request body is not well-formed"):
        body.readlines()


@pytest.mark.parametrize("method", ["read", "readline"])
def test_broken_chunked_framing_is_a_bad_request(method: str) -> None:
    with pytest.raises(BadRequest):
        getattr(ChunkedBody(_Body([])), method)(10)


def _production_settings(tmp_path: Path) -> Settings:
    env = {
        "STOREKEEPER_ENV": "production",
        "STOREKEEPER_SECRET_KEY": "s" * 48,
        "STOREKEEPER_INSTANCE_PATH": str(tmp_path),
        "STOREKEEPER_TRUSTED_PROXIES": "10.0.0.0/8",
        "STOREKEEPER_PUBLIC_URL": "https://api.example.com",
    }
    return load_settings(env)


def test_the_settings_serve_parsed_cross_the_exec_unchanged(tmp_path: Path) -> None:
    settings = _production_settings(tmp_path)
    fd = hand_over(settings)
    assert os.get_inheritable(fd)
    assert take_over(fd) == settings
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(fd)  # read once, then closed


def made_with(settings: Settings) -> Settings:
    """A stand-in app factory for `maker`: what a worker would build the app from."""
    return settings


def test_each_worker_calls_the_factory_with_the_handed_settings(tmp_path: Path) -> None:
    settings = _production_settings(tmp_path)
    make = maker(f"{__name__}:made_with", factory=False, settings_fd=hand_over(settings))
    made: object = make()
    assert made == settings
