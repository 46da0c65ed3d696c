"""The real `storekeeper` command for end-to-end tests: one-off runs, and the server it runs
(`storekeeper serve`, several worker processes).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import psycopg
import requests

from deploy.processes import free_port, running
from tests.e2e.tcp_proxy import TcpProxy
from tests.helpers import (
    GENEROUS_BUDGET,
    PASSWORD,
    PG_ADMIN_URL,
    missing,
    postgres_available,
    postgres_database,
)

BIN = Path(sys.executable).parent
# Request budgets no test trips by accident (a budget test passes its own).
GENEROUS_BUDGETS = f"{GENEROUS_BUDGET}/minute"


def server_env(instance: str, **extra: str) -> dict[str, str]:
    """The environment of a server: this one's, less any STOREKEEPER_* the caller has set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREKEEPER_")}
    env["STOREKEEPER_INSTANCE_PATH"] = instance
    # Request budgets no test trips by accident (the budget tests set their own).
    env["STOREKEEPER_RATE_LIMIT"] = GENEROUS_BUDGETS
    env["STOREKEEPER_WRITE_RATE_LIMIT"] = GENEROUS_BUDGETS
    env.update(extra)
    return env


def run(args: list[str], instance: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """`storekeeper ARGS` with no terminal on stdin, in its own instance folder."""
    return subprocess.run(
        [BIN / "storekeeper", *args],
        env=server_env(str(instance), **extra),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line_refusal(answer: subprocess.CompletedProcess[str], *named: str) -> None:
    """A refusal: exit code 2 and one `storekeeper: ...` line naming each of `named`."""
    assert answer.returncode == 2, answer.stderr
    assert "Traceback" not in answer.stderr
    lines = answer.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("storekeeper: "), answer.stderr
    for words in named:
        assert words in lines[0]


@contextmanager
def proxied_postgres_database() -> Iterator[tuple[TcpProxy, str]]:
    """A fresh PostgreSQL database reached through a loopback proxy the test can cut or silence.

    Skips the test (fails it in CI) when PostgreSQL is not reachable.
    """
    if not postgres_available():
        missing("PostgreSQL")
    info = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_URL)
    port = str(info.get("port") or 5432)
    proxy = TcpProxy((str(info.get("host") or "127.0.0.1"), int(port)))
    try:
        with postgres_database() as url:
            yield proxy, url.replace(f":{port}/", f":{proxy.port}/")
    finally:
        proxy.close()


@contextmanager
def database_url(backend: str) -> Iterator[str | None]:
    """None for the embedded SQLite default, else a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield None
        return
    if not postgres_available():
        missing("PostgreSQL")
    with postgres_database() as url:
        yield url


@contextmanager
def server_process(
    instance: str,
    env: dict[str, str],
    workers: int = 2,
    port: int | None = None,
    bin_dir: Path = BIN,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`storekeeper serve` on `port` (a free one by default); its base URL and process,
    stopped on exit. The log is appended to, so a restarted server keeps its history.
    `bin_dir` holds the `storekeeper` to run: this environment's by default.
    """
    port = free_port() if port is None else port
    base = f"http://127.0.0.1:{port}"
    command: list[str | Path] = [bin_dir / "storekeeper", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    with running(command, env, base, log=Path(instance) / "server.log") as proc:
        yield base, proc


@contextmanager
def live_server(workers: int = 2, **settings: str) -> Iterator[str]:
    """Upgrade the schema, serve on a free port, and yield the base URL; stop on exit."""
    with tempfile.TemporaryDirectory() as instance:
        env = server_env(instance, **settings)
        subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
        with server_process(instance, env, workers) as (base, _):
            yield base


def round_trip(base: str, username: str, store: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Register, log in, create a store and read it back over real HTTP, checking each
    answer; the session's Authorization header and the store as read back.
    """
    with requests.Session() as http:
        body = {"username": username, "password": PASSWORD}
        registered = http.post(f"{base}/register", json=body, timeout=10)
        assert registered.status_code == 201, registered.text
        assert registered.json()["username"] == username
        login = http.post(f"{base}/login", json=body, timeout=10)
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = http.post(f"{base}/store", json={"name": store}, headers=headers, timeout=10)
        assert created.status_code == 201, created.text
        read = http.get(f"{base}/store/{created.json()['id']}", timeout=10)
        assert read.status_code == 200, read.text
        assert read.json()["name"] == store
        return headers, read.json()


def base_python() -> Path:
    """The interpreter this test environment's venv was made from: a user's `python3`."""
    # A venv's sys.executable is its own link; the base is what `python3 -m venv` ran.
    return Path(getattr(sys, "_base_executable", sys.executable))


def processes_running_from(folder: Path) -> list[str]:
    """Running processes (pid: command line) whose command line or working directory lies
    in `folder` (Linux /proc).
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            cwd = os.readlink(entry / "cwd")
        except OSError:  # it exited while we looked
            continue
        # A zombie's command line is empty and its cwd unreadable: only what runs is found.
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        if str(folder) in command or Path(cwd).is_relative_to(folder):
            found.append(f"{entry.name}: {command}")
    return found


def login_token(
    base: str,
    username: str = "fuzzer",
    password: str = "fuzzer-password",
    http: requests.Session | None = None,
) -> str:
    """Register a user on a live server and return an access token (through `http` if given)."""
    post = http.post if http is not None else requests.post
    body = {"username": username, "password": password}
    assert post(f"{base}/register", json=body, timeout=10).status_code == 201
    answer = post(f"{base}/login", json=body, timeout=10)
    assert answer.status_code == 200
    token: str = answer.json()["access_token"]
    return token


def address(base: str) -> tuple[str, int]:
    """The (host, port) of a live server's base URL."""
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def read_response(stream: BinaryIO) -> tuple[int, dict[str, str], bytes]:
    """The next final HTTP/1.1 response on a socket's stream: status, headers (lower-case names)
    and body; interim (1xx) answers are skipped. ConnectionError when the server closed first.
    """
    while True:
        status_line = stream.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if status >= 200:
            break
    body = stream.read(int(headers.get("content-length", "0")))
    return status, headers, body
