"""deploy/processes.py, the one way servers are started, waited for and stopped (by
`make cluster`, the benchmarks and the tests): on real processes and a real HTTP server.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from deploy.processes import (
    free_port,
    kill_groups,
    running,
    spawn,
    stop,
    stop_all,
    wait_healthy,
    wait_listening,
)

# Hang detectors, not speed claims.
HANG_S = 30.0
_IGNORES_SIGTERM = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(120)
"""
_SLEEPS = "import time; time.sleep(120)"
# A child left in the group when its parent (the group's leader) exits.
_LEAVES_A_CHILD = "sleep 120 & echo $!; exit 0"


def _wait_for(log: Path, text: str) -> str:
    """The log's content once it holds `text`."""
    deadline = time.monotonic() + HANG_S
    while text not in (content := log.read_text()):
        assert time.monotonic() < deadline, content
        time.sleep(0.05)
    return content


def _gone(pid: int) -> bool:
    """Whether `pid` has ended (gone, or a zombie nobody has reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


def test_a_server_is_healthy_once_its_health_path_answers_200_and_stopped_by_sigterm(
    tmp_path: Path,
) -> None:
    (tmp_path / "health").write_text("ok")
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    log = tmp_path / "server.log"
    with running(
        [*command, "--directory", str(tmp_path)], None, f"http://127.0.0.1:{port}", log
    ) as proc:
        assert proc.poll() is None
        wait_listening(("127.0.0.1", port), proc, "http.server")
    assert proc.returncode == -signal.SIGTERM
    assert "GET /health" in log.read_text()  # its output went to the log


def test_waiting_ends_with_the_log_tail_when_the_server_exits_first(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    proc = spawn([sys.executable, "-c", "import sys; sys.exit('no database here')"], log=log)
    with pytest.raises(RuntimeError, match=r"the server exited with 1: no database here"):
        wait_healthy(f"http://127.0.0.1:{free_port()}", proc, "the server", log)


def test_stop_all_kills_what_outlives_its_deadline(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    stubborn = spawn([sys.executable, "-c", _IGNORES_SIGTERM], log=log)
    polite = spawn([sys.executable, "-c", _SLEEPS])
    try:
        _wait_for(log, "ready\n")
        stop_all([stubborn, polite], deadline_s=0.5)
        assert stubborn.returncode == -signal.SIGKILL
        assert polite.returncode == -signal.SIGTERM
    finally:
        kill_groups(stubborn.pid, polite.pid)
        for proc in (stubborn, polite):
            proc.wait()


def test_kill_groups_reaches_what_a_leader_that_exited_left_behind(tmp_path: Path) -> None:
    log = tmp_path / "leader.log"
    leader = spawn(["sh", "-c", _LEAVES_A_CHILD], log=log)
    assert leader.wait(HANG_S) == 0
    child = int(_wait_for(log, "\n").split()[0])
    stop(leader)  # the leader is gone: a stop has nothing left to wait for
    assert not _gone(child)
    kill_groups(leader.pid)
    deadline = time.monotonic() + HANG_S
    while not _gone(child):
        assert time.monotonic() < deadline, f"{child} survived its group's SIGKILL"
        time.sleep(0.05)
    kill_groups(leader.pid)  # nothing left of the group: no error
