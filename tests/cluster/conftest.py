"""One cluster for the multi-instance tests: two `storekeeper serve` instances on one fresh
PostgreSQL database, a Redis server of the tests' own (so a test may stop it), and nginx in
front, run from the shipped site file (deploy/nginx/storekeeper.conf).

Every test talks from its own loopback address (127.0.0.N): the login limiter counts per
client address in the one shared Redis, and the default limit (10 a minute) stays in force.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from deploy.cluster import nginx_binary, write_nginx_config
from deploy.processes import free_port, spawn, stop, wait_listening
from tests.cluster.helpers import Cluster, new_source, session_from
from tests.e2e.live import BIN, server_env
from tests.helpers import postgres_available, postgres_database, require
from tests.redis_server import RedisServer

INSTANCES = 2
SECRET = "cluster-secret-" + "y" * 40


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The running cluster, shared by the tests of the `cluster` xdist group."""
    require(postgres_available(), "PostgreSQL")
    require(shutil.which("redis-server") is not None, "redis-server")
    try:
        nginx_binary()
    except RuntimeError:
        require(False, "nginx (make deploy-tools)")
    with (
        tempfile.TemporaryDirectory(prefix="storekeeper-cluster-") as raw,
        postgres_database() as url,
    ):
        folder = Path(raw)
        nginx_port = free_port()
        redis_server = RedisServer(folder)
        redis_server.start()
        shared = {
            "STOREKEEPER_DATABASE_URL": url,
            "STOREKEEPER_REDIS_URL": redis_server.url,
            "STOREKEEPER_SECRET_KEY": SECRET,
            "STOREKEEPER_PUBLIC_URL": f"http://127.0.0.1:{nginx_port}",
            "STOREKEEPER_TRUSTED_PROXIES": "127.0.0.1",
        }
        # Migrations are a release step: once, before any instance starts.
        subprocess.run(
            [BIN / "storekeeper", "db", "upgrade"],
            env=server_env(str(folder), **shared),
            check=True,
            timeout=120,
        )
        ports = [free_port() for _ in range(INSTANCES)]
        running = Cluster(folder, shared, ports, f"http://127.0.0.1:{nginx_port}", redis_server)
        running._stacks = [ExitStack() for _ in ports]
        running.procs = [None for _ in ports]
        nginx: subprocess.Popen[bytes] | None = None
        try:
            for index in range(INSTANCES):
                running.start_instance(index)
            command = write_nginx_config(
                ("127.0.0.1", nginx_port), [("127.0.0.1", port) for port in ports], folder
            )
            nginx = spawn(command, log=folder / "nginx.log")
            wait_listening(("127.0.0.1", nginx_port), nginx, "nginx", folder / "nginx.log")
            yield running
        finally:
            if nginx is not None:
                stop(nginx)
            running.close()
            redis_server.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A client talking from a loopback address of this test's own."""
    with session_from(new_source()) as session:
        yield session
