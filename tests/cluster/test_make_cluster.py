"""`make cluster` (python -m deploy.cluster): it creates and migrates its database, starts the
instances and nginx, names each with its pid, keeps each instance's /metrics on its own
port, and stops everything on Ctrl-C.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from deploy.databases import database_url, drop_database
from deploy.processes import free_port, kill_groups, spawn, tail
from tests.e2e.live import server_env
from tests.helpers import PG_ADMIN_URL, postgres_available, require

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("make-cluster")]
ROOT = Path(__file__).resolve().parents[2]
_SHOWN = re.compile(r"instance \d+: |nginx: |logs in ")
# Hang detectors, not speed claims: the 5 s that Ctrl-C promises is the tool's own deadline
# (deploy.cluster.STOP_DEADLINE_S), after which it kills what is left (deploy.processes.stop_all,
# which tests/e2e/test_processes.py shows does).
HANG_S = 60
START_BOUND_S = 90


def _two_free_ports() -> int:
    """A port P such that P and P + 1 are both free right now.

    Taken below the kernel's ephemeral range (32768 and up on Linux), where every other
    test's free_port() and every outgoing connection get theirs: a P + 1 picked from inside
    it was once handed to a parallel test between this check and the cluster's bind.
    """
    for _ in range(200):
        port = random.randrange(20_000, 32_000)
        try:
            with socket.socket() as first, socket.socket() as second:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no two consecutive free ports")


def _shown(log: Path, tool: subprocess.Popen[bytes]) -> list[str]:
    """The tool's lines naming what it started, once it has named its logs' folder."""
    deadline = time.monotonic() + START_BOUND_S
    while time.monotonic() < deadline:
        # stderr shares the log: the migration's lines, "cluster: created database ...".
        lines = [line for line in log.read_text().splitlines() if _SHOWN.match(line)]
        if lines and lines[-1].startswith("logs in "):
            return lines
        assert tool.poll() is None, tail(log)
        time.sleep(0.2)
    raise AssertionError(f"make cluster did not start within {START_BOUND_S} s: {tail(log)}")


def test_make_cluster_starts_instances_and_nginx_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    require(postgres_available(), "PostgreSQL")
    name = f"storekeeper_make_cluster_{secrets.token_hex(4)}"
    base_port, nginx_port = _two_free_ports(), free_port()
    env = server_env(
        str(tmp_path),
        STOREKEEPER_DATABASE_URL=database_url(PG_ADMIN_URL, name),
        # Nothing listens there: login is not exercised, and the machine's Redis stays alone.
        STOREKEEPER_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    command = [sys.executable, "-m", "deploy.cluster", "--instances", "2"]
    command += ["--base-port", str(base_port), "--port", str(nginx_port)]
    log = tmp_path / "cluster.log"
    proc = spawn(command, env, log, ROOT)
    pids: list[int] = []
    folders: list[Path] = []  # the tool keeps its logs; the test does not
    try:
        shown = _shown(log, proc)
        pids += [int(pid) for line in shown for pid in re.findall(r" pid (\d+)", line)]
        assert len(shown) == 4, shown
        instances = [re.fullmatch(r"instance \d: (\S+) pid (\d+) .*", s) for s in shown[:2]]
        nginx = re.fullmatch(r"nginx: (\S+) pid (\d+)", shown[2])
        assert all(instances) and nginx, shown
        assert [m[1] for m in instances if m] == [
            f"http://127.0.0.1:{base_port}",
            f"http://127.0.0.1:{base_port + 1}",
        ]
        assert nginx[1] == f"http://127.0.0.1:{nginx_port}"
        logs = re.fullmatch(r"logs in (\S+); Ctrl-C stops everything", shown[3])
        assert logs is not None
        folders.append(Path(logs[1]))

        assert requests.get(f"{nginx[1]}/ready", timeout=10).status_code == 200
        for match in instances:
            assert match is not None
            assert requests.get(f"{match[1]}/metrics", timeout=10).status_code == 200

        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert proc.wait(HANG_S) == 0
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        # Whatever a failed run left behind: the tool and each process group it started.
        kill_groups(proc.pid, *pids)
        proc.wait()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        drop_database(PG_ADMIN_URL, name)
