"""A write waiting for SQLite's lock waits alone: its worker goes on serving everyone else."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.live import BIN, login_token, server_env, server_process

pytestmark = pytest.mark.slow


def test_a_worker_answers_others_while_one_of_its_writes_waits_for_the_lock(
    tmp_path: Path,
) -> None:
    instance = str(tmp_path)
    env = server_env(instance)
    subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
    # One worker: a worker blocked in SQLite's busy wait would have no other to hide behind.
    with server_process(instance, env, workers=1) as (base, _):
        token = login_token(base)
        holder = sqlite3.connect(tmp_path / "storekeeper.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        answers: list[int] = []
        write = threading.Thread(
            target=lambda: answers.append(
                requests.post(
                    f"{base}/store",
                    json={"name": "Waits"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                ).status_code
            )
        )
        write.start()
        # Give the write time to reach the lock; were it slower, the checks below still hold.
        time.sleep(0.5)
        health = requests.get(f"{base}/health", timeout=30)
        assert health.status_code == 200
        holder.execute("COMMIT")
        write.join(30)
        holder.close()
        # The lock was given up only once /health had answered. Had the waiting write held
        # its worker, /health would have been answered only after the write gave up (a 503
        # at its 4 s deadline); it was answered while the write waited, which then went on.
        assert answers == [201]
