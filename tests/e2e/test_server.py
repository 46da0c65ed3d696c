"""The production server: several workers, metrics added up across them, graceful shutdown."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.live import (
    BIN,
    address,
    live_server,
    login_token,
    read_response,
    server_env,
    server_process,
)


def _count(metrics: str, route: str) -> float:
    labels = rf'method="GET",route="{re.escape(route)}",status="200"'
    pattern = rf"^storekeeper_http_requests_total\{{{labels}\}} (\S+)$"
    return sum(float(m) for m in re.findall(pattern, metrics, re.M))


@pytest.mark.slow
def test_metrics_add_up_every_worker() -> None:
    with live_server(workers=2) as base:
        before = _count(requests.get(f"{base}/metrics", timeout=5).text, "/health")
        for _ in range(60):
            # A new connection each time, so both workers answer some of them.
            with requests.Session() as session:
                session.get(f"{base}/health", timeout=5)
        for _ in range(10):
            with requests.Session() as session:
                text = session.get(f"{base}/metrics", timeout=5).text
            assert _count(text, "/health") == before + 60
            assert "storekeeper_http_request_duration_seconds_bucket" in text
            assert "storekeeper_db_pool_size" in text


class _WriteInFlight:
    """A POST /store held up inside the server by holding SQLite's write lock from the test."""

    def __init__(self, instance: str, base: str, token: str) -> None:
        self.lock = sqlite3.connect(Path(instance) / "storekeeper.db", isolation_level=None)
        self.lock.execute("BEGIN IMMEDIATE")
        self.answers: list[int] = []
        self.thread = threading.Thread(target=self._write, args=(base, token))
        self.thread.start()
        time.sleep(0.5)  # the request reaches the server and waits for the lock

    def _write(self, base: str, token: str) -> None:
        answer = requests.post(
            f"{base}/store",
            json={"name": "In flight"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        self.answers.append(answer.status_code)

    def release(self) -> list[int]:
        """Let the write through; the status codes it was answered with."""
        self.lock.execute("COMMIT")
        self.lock.close()
        self.thread.join(30)
        return self.answers


@pytest.mark.slow
def test_sigterm_finishes_requests_in_flight_and_exits_zero() -> None:
    with tempfile.TemporaryDirectory() as instance:
        env = server_env(instance)
        subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
        with server_process(instance, env) as (base, proc):
            write = _WriteInFlight(instance, base, login_token(base))
            os.killpg(proc.pid, signal.SIGTERM)
            time.sleep(1.0)
            assert write.release() == [201]
            assert proc.wait(30) == 0
            with pytest.raises(requests.ConnectionError):
                requests.get(f"{base}/health", timeout=2)


@pytest.mark.slow
def test_ctrl_c_finishes_requests_in_flight_and_exits_zero_without_killing_workers() -> None:
    # Ctrl-C at a terminal: SIGINT to the whole process group, arbiter and workers alike.
    with tempfile.TemporaryDirectory() as instance:
        env = server_env(instance)
        subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
        with server_process(instance, env) as (base, proc):
            write = _WriteInFlight(instance, base, login_token(base))
            # An idle keep-alive connection (a browser on /docs) must not hold the stop up.
            idle = socket.create_connection(address(base), timeout=5)
            idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(idle.makefile("rb"))[0] == 200
            os.killpg(proc.pid, signal.SIGINT)
            time.sleep(1.0)
            assert write.release() == [201]
            # A hang detector, not a speed claim: the arbiter's own bound is 4 s.
            assert proc.wait(15) == 0
            assert idle.recv(1) == b""  # closed by the server, not left to its timeout
            idle.close()
        log = (Path(instance) / "server.log").read_text()
        # Nothing was cut short: no worker killed, no request dropped, no traceback.
        for sign in ("SIGKILL", "dropping requests", "Traceback", "graceful timeout"):
            assert sign not in log


@pytest.mark.slow
def test_sigquit_drops_requests_in_flight_at_once() -> None:
    # gunicorn's quick shutdown (also a second Ctrl-C): nothing in flight is waited for.
    with tempfile.TemporaryDirectory() as instance:
        env = server_env(instance)
        subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
        with server_process(instance, env) as (base, proc):
            token = login_token(base)
            # A request in flight: the app is reading a body that has not all arrived.
            upload = socket.create_connection(address(base), timeout=30)
            upload.sendall(
                b"POST /store HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n".encode()
                + b'{"name": "In fli'
            )
            time.sleep(1.0)  # the request reaches the app
            os.kill(proc.pid, signal.SIGQUIT)  # to the arbiter, which passes it to its workers
            # A hang detector, not a speed claim: waiting for the body would end in a 408
            # after the server's read timeout, and the upload below would get it.
            assert proc.wait(15) == 0
            with pytest.raises(ConnectionError), upload.makefile("rb") as stream:
                read_response(stream)
            upload.close()
        log = (Path(instance) / "server.log").read_text()
        assert "dropping requests still in flight" in log


def _responses_ready(sock: socket.socket) -> int:
    """How many complete answers have arrived on a socket so far (read without waiting)."""
    sock.setblocking(False)
    data = b""
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
    except BlockingIOError:
        pass
    return data.count(b"HTTP/1.1 ")


@pytest.mark.slow
def test_a_busy_connection_does_not_hold_up_the_others() -> None:
    # One worker; connection A pipelines many requests, so its next one is always there to be
    # read. B's single request, sent just after, must be answered in turn, not after all of
    # A's: the worker yields between requests. Counted, not timed: when B has its answer,
    # only a fraction of A's have been sent.
    pipelined = 1000
    with live_server(workers=1) as base:
        request = b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"
        with (
            socket.create_connection(address(base), timeout=10) as a,
            socket.create_connection(address(base), timeout=10) as b,
        ):
            a.sendall(request * pipelined)
            b.sendall(request)
            with b.makefile("rb") as stream:
                assert read_response(stream)[0] == 404
            ready = _responses_ready(a)
            assert ready < pipelined // 2, ready
