"""The production server: several workers, metrics added up across them, stops in stages,
workers replaced, settings handed over once. docs/reliability.md maps each behaviour of the
server layer (storekeeper.serving) to the test that proves it.
"""

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def _served() -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """`storekeeper serve` on a freshly migrated instance: its folder, base URL and process."""
    with tempfile.TemporaryDirectory() as instance:
        env = server_env(instance)
        subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
        with server_process(instance, env) as (base, proc):
            yield instance, base, proc


def _workers(arbiter: int) -> list[int]:
    """The arbiter's worker processes, by pid."""
    found = subprocess.run(
        ["pgrep", "-P", str(arbiter)], capture_output=True, text=True, check=False
    ).stdout.split()
    return sorted(int(pid) for pid in found)


def _environ(pid: int) -> dict[str, str]:
    """A running process's environment (Linux /proc)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().partition("=")[::2] for item in raw if item)


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
    with _served() as (instance, base, proc):
        write = _WriteInFlight(instance, base, login_token(base))
        os.killpg(proc.pid, signal.SIGTERM)
        time.sleep(1.0)
        assert write.release() == [201]
        assert proc.wait(30) == 0
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{base}/health", timeout=2)


@pytest.mark.slow
@pytest.mark.parametrize(
    "send",
    # Ctrl-C at a terminal: SIGINT to the whole process group, arbiter and workers alike;
    # `kill -INT` of the arbiter alone, which passes it on to its workers.
    [os.killpg, os.kill],
    ids=["process-group", "arbiter-alone"],
)
def test_ctrl_c_finishes_requests_in_flight_and_exits_zero_without_killing_workers(
    send: Callable[[int, int], None],
) -> None:
    with _served() as (instance, base, proc):
        write = _WriteInFlight(instance, base, login_token(base))
        # An idle keep-alive connection (a browser on /docs) must not hold the stop up.
        idle = socket.create_connection(address(base), timeout=5)
        idle.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(idle.makefile("rb"))[0] == 200
        send(proc.pid, signal.SIGINT)
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
    with _served() as (instance, base, proc):
        upload = _upload_in_flight(base, login_token(base))
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


def _upload_in_flight(base: str, token: str) -> socket.socket:
    """A POST /store in flight: the app is reading a body that has not all arrived."""
    upload = socket.create_connection(address(base), timeout=30)
    upload.sendall(
        b"POST /store HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n".encode()
        + b'{"name": "In fli'
    )
    time.sleep(1.0)  # the request reaches the app
    return upload


@pytest.mark.slow
def test_a_second_ctrl_c_drops_requests_in_flight_at_once() -> None:
    with _served() as (instance, base, proc):
        upload = _upload_in_flight(base, login_token(base))
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(15) == 0  # a hang detector
        with pytest.raises(ConnectionError), upload.makefile("rb") as stream:
            read_response(stream)
        upload.close()
        log = (Path(instance) / "server.log").read_text()
        # gunicorn's quick shutdown dropped it, not the end of the first Ctrl-C's grace.
        assert "dropping requests still in flight at a quick shutdown" in log
        assert "after the grace" not in log


@pytest.mark.slow
def test_a_killed_worker_is_replaced_while_the_other_serves() -> None:
    with _served() as (instance, base, proc):
        before = _workers(proc.pid)
        assert len(before) == 2
        os.kill(before[0], signal.SIGKILL)
        assert requests.get(f"{base}/health", timeout=5).status_code == 200
        deadline = time.monotonic() + 30  # a hang detector
        # Until the arbiter reaps it, the killed worker is still its (zombie) child.
        while time.monotonic() < deadline:
            after = _workers(proc.pid)
            if before[0] not in after and len(after) == 2:
                break
            time.sleep(0.1)
        assert before[0] not in after and len(after) == 2
        log = Path(instance) / "server.log"
        while f"worker {max(after)} ready" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"worker {max(after)} ready" in log.read_text()


def _metrics_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("storekeeper-metrics-*"))


@pytest.mark.slow
def test_workers_share_a_metrics_folder_the_server_removes_when_it_exits() -> None:
    with _served() as (_, base, proc):
        for _ in range(4):
            with requests.Session() as session:
                assert session.get(f"{base}/health", timeout=5).status_code == 200
        workers = _workers(proc.pid)
        # Other servers may run on this machine: ours is the folder our workers write to.
        ours = [
            folder
            for folder in _metrics_folders()
            if {int(f.stem.rsplit("_", 1)[1]) for f in folder.glob("*_*.db")} & set(workers)
        ]
        assert len(ours) == 1
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 0
        assert not ours[0].exists()


@pytest.mark.slow
def test_workers_get_the_settings_serve_parsed_not_an_environment_to_parse() -> None:
    with _served() as (_, base, proc):
        token = login_token(base)
        auth = {"Authorization": f"Bearer {token}"}
        for name in ("One", "Two"):
            assert requests.post(f"{base}/store", json={"name": name}, headers=auth, timeout=10)
        # The public URL serve derived from its bind address reached the workers...
        link = requests.get(f"{base}/store?limit=1", timeout=10).headers["Link"]
        assert link.startswith(f"<{base}/store?")
        # ...inside the settings object, not through a variable written for them to parse.
        for pid in [proc.pid, *_workers(proc.pid)]:
            assert "STOREKEEPER_PUBLIC_URL" not in _environ(pid)
