"""Server processes started, waited for and stopped one way, by `make cluster`, the
benchmarks and the tests alike.

A server runs in a process group of its own, so that stopping it reaches the workers it
forked and a Ctrl-C meant for its parent does not; it is stopped with SIGTERM (requests in
flight finish) and SIGKILLed when it outlives its deadline. Only the standard library is
used: `make cluster` runs with the runtime lock alone.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Protocol

# Hang detectors, not speed claims: a loaded 2-core machine starts a server in a few seconds.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.1
# How much of a server's log an error message carries.
LOG_TAIL = 2000
Address = tuple[str, int]
Command = Sequence[str | Path]


class Watched(Protocol):
    """Something that runs until it exits: a process, or a container seen through podman."""

    def poll(self) -> int | None:
        """None while it runs, else its exit code."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def spawn(
    command: Command,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start `command` in a process group of its own with no stdin; its output appended to
    `log` (so a restarted server keeps its history), or discarded without one.
    """
    if log is None:
        return _popen(command, env, subprocess.DEVNULL, cwd)
    with log.open("ab") as out:  # the child holds its own descriptor of the file
        return _popen(command, env, out, cwd)


def _popen(
    command: Command, env: Mapping[str, str] | None, out: int | IO[bytes], cwd: Path | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(part) for part in command],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def tail(log: Path | None) -> str:
    """The end of a log, for an error message (empty without one)."""
    if log is None or not log.exists():
        return ""
    return log.read_text(errors="replace")[-LOG_TAIL:]


def answers(url: str) -> bool:
    """Whether `url` answers 200 right now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except (http.client.HTTPException, OSError):
        # Refused, reset, timed out, or a status urllib raises for (HTTPError): not yet.
        return False


def wait_healthy(
    base: str,
    server: Watched,
    what: str = "server",
    log: Path | None = None,
    path: str = "/health",
    timeout_s: float = START_TIMEOUT_S,
    poll_s: float = POLL_S,
) -> None:
    """Return once `base` + `path` answers 200; RuntimeError, with the log's tail, when the
    server exits first or `timeout_s` passes.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (code := server.poll()) is not None:
            raise RuntimeError(_with_log(f"{what} exited with {code}", log))
        # The listening socket exists before the workers do: a connection may wait.
        if answers(base + path):
            return
        time.sleep(poll_s)
    raise RuntimeError(_with_log(f"{what} did not become healthy at {base}", log))


def wait_listening(
    address: Address,
    server: Watched,
    what: str,
    log: Path | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> None:
    """Return once `address` accepts connections; RuntimeError, with the log's tail, when
    `server` exits first or `timeout_s` passes.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (code := server.poll()) is not None:
            raise RuntimeError(_with_log(f"{what} exited with {code}", log))
        try:
            socket.create_connection(address, timeout=1).close()
            return
        except OSError:
            time.sleep(POLL_S)
    raise RuntimeError(_with_log(f"{what} did not listen on {address[0]}:{address[1]}", log))


def _with_log(message: str, log: Path | None) -> str:
    return f"{message}: {tail(log)}" if log is not None else message


def stop(proc: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the process's group; SIGKILL it if it has not exited after `timeout_s`."""
    stop_all([proc], timeout_s)


def stop_all(procs: Sequence[subprocess.Popen[bytes]], deadline_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM every process group at once (requests in flight finish), SIGKILL what has not
    exited `deadline_s` later.
    """
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + deadline_s
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT_S)


def kill_groups(*pids: int) -> None:
    """SIGKILL whatever is left in these process groups, even once their leaders are gone:
    the clean-up after a run that failed half-way.
    """
    for pid in pids:
        with suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


@contextmanager
def running(
    command: Command,
    env: Mapping[str, str] | None,
    base: str,
    log: Path | None = None,
    cwd: Path | None = None,
    path: str = "/health",
    start_timeout_s: float = START_TIMEOUT_S,
    stop_timeout_s: float = STOP_TIMEOUT_S,
) -> Iterator[subprocess.Popen[bytes]]:
    """A server started by `command`, healthy at `base` + `path`; stopped on exit."""
    proc = spawn(command, env, log, cwd)
    try:
        wait_healthy(base, proc, log=log, path=path, timeout_s=start_timeout_s)
        yield proc
    finally:
        stop(proc, stop_timeout_s)
