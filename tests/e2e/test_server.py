"""The production server: several workers, metrics added up across them, graceful shutdown."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.live import BIN, live_server, login_token, server_env, server_process


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


@pytest.mark.slow
def test_sigterm_finishes_requests_in_flight_and_exits_zero() -> None:
    with tempfile.TemporaryDirectory() as instance:
        env = server_env(instance)
        subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
        with server_process(instance, env) as (base, proc):
            token = login_token(base)
            # Hold SQLite's write lock so the next write waits inside the server.
            lock = sqlite3.connect(Path(instance) / "storekeeper.db", isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            answers: list[int] = []

            def write() -> None:
                answer = requests.post(
                    f"{base}/store",
                    json={"name": "In flight"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
                answers.append(answer.status_code)

            writer = threading.Thread(target=write)
            writer.start()
            time.sleep(0.5)
            os.killpg(proc.pid, signal.SIGTERM)
            time.sleep(1.0)
            lock.execute("COMMIT")
            lock.close()
            writer.join(30)
            assert answers == [201]
            assert proc.wait(30) == 0
            with pytest.raises(requests.ConnectionError):
                requests.get(f"{base}/health", timeout=2)
