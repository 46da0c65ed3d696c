"""`make cluster` (python -m deploy.cluster): it creates and migrates its database, starts the
instances and nginx, names each with its pid, keeps each instance's /metrics on its own
port, and stops everything on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import psycopg
import pytest
import requests

from deploy.cluster import stop_all
from tests.e2e.live import free_port, server_env
from tests.helpers import PG_ADMIN_URL, postgres_available, postgres_url, require

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("make-cluster")]
ROOT = Path(__file__).resolve().parents[2]
# Hang detectors, not speed claims: the 5 s that Ctrl-C promises is the tool's own deadline
# (deploy.cluster.STOP_DEADLINE_S), after which it kills what is left; the last test here
# shows that it does.
HANG_S = 60
START_BOUND_S = 90


def _two_free_ports() -> int:
    """A port P such that P and P + 1 are both free right now."""
    for _ in range(50):
        port = free_port()
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no two consecutive free ports")


def _lines(stream: IO[str] | None, into: queue.Queue[str]) -> None:
    assert stream is not None
    for line in iter(stream.readline, ""):
        into.put(line)


def test_make_cluster_starts_instances_and_nginx_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    require(postgres_available(), "PostgreSQL")
    name = f"storekeeper_make_cluster_{secrets.token_hex(4)}"
    base_port, nginx_port = _two_free_ports(), free_port()
    env = server_env(
        str(tmp_path),
        STOREKEEPER_DATABASE_URL=postgres_url(name),
        # Nothing listens there: login is not exercised, and the machine's Redis stays alone.
        STOREKEEPER_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    command = [sys.executable, "-m", "deploy.cluster", "--instances", "2"]
    command += ["--base-port", str(base_port), "--port", str(nginx_port)]
    with (tmp_path / "cluster.err").open("w") as err:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            start_new_session=True,
        )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True)
    reader.start()
    pids: list[int] = []
    folders: list[Path] = []  # the tool keeps its logs; the test does not
    try:
        shown: list[str] = []
        while not shown or not shown[-1].startswith("nginx:"):
            shown.append(lines.get(timeout=START_BOUND_S))
            pids += [int(pid) for pid in re.findall(r" pid (\d+)", shown[-1])]
        instances = [re.fullmatch(r"instance \d: (\S+) pid (\d+) .*\n", s) for s in shown[:2]]
        nginx = re.fullmatch(r"nginx: (\S+) pid (\d+)\n", shown[2])
        assert all(instances) and nginx, shown
        assert [m[1] for m in instances if m] == [
            f"http://127.0.0.1:{base_port}",
            f"http://127.0.0.1:{base_port + 1}",
        ]
        assert nginx[1] == f"http://127.0.0.1:{nginx_port}"
        logs = re.fullmatch(r"logs in (\S+); Ctrl-C stops everything\n", lines.get(timeout=10))
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
        for pid in (proc.pid, *pids):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        proc.wait()
        reader.join(10)
        assert proc.stdout is not None
        proc.stdout.close()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_IGNORES_SIGTERM = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(120)
"""
_SLEEPS = "import time; time.sleep(120)"


def test_stop_all_kills_what_outlives_its_deadline() -> None:
    stubborn = subprocess.Popen(
        [sys.executable, "-c", _IGNORES_SIGTERM], stdout=subprocess.PIPE, start_new_session=True
    )
    polite = subprocess.Popen([sys.executable, "-c", _SLEEPS], start_new_session=True)
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline() == b"ready\n"
        stop_all([stubborn, polite], deadline_s=0.5)
        assert stubborn.returncode == -signal.SIGKILL
        assert polite.returncode == -signal.SIGTERM
    finally:
        for proc in (stubborn, polite):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if stubborn.stdout is not None:
            stubborn.stdout.close()
