"""The cluster the multi-instance tests share: `storekeeper serve` instances that can be
stopped and started one by one, a Redis server of the tests' own, and clients that talk from
loopback addresses of their own.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests
from requests.adapters import HTTPAdapter

from deploy.processes import free_port, spawn, stop, wait_listening
from tests.e2e.live import server_env, server_process

_sources = itertools.count(10)


class _SourceAddress(HTTPAdapter):
    """Connections that leave from one loopback address."""

    def __init__(self, source: str) -> None:
        self._source = source  # set first: HTTPAdapter.__init__ builds the pool manager
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(source: str) -> requests.Session:
    """A requests session whose connections come from `source`."""
    http = requests.Session()
    http.mount("http://", _SourceAddress(source))
    return http


def new_source() -> str:
    """A loopback address no other test of this run talks from."""
    number = next(_sources)
    return f"127.0.{number // 250}.{number % 250 + 2}"


@dataclass
class RedisServer:
    """A redis-server of the tests' own, on a fixed port so it can be stopped and started."""

    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL, for STOREKEEPER_REDIS_URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (no persistence: a restart forgets every count) and wait for PONG."""
        executable = shutil.which("redis-server")
        assert executable is not None
        log = self.folder / "redis.log"
        self.proc = spawn(
            [
                *(executable, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.folder)),
            ],
            log=log,
        )
        wait_listening(("127.0.0.1", self.port), self.proc, "redis-server", log)
        client = redis.Redis(port=self.port, socket_timeout=2)
        try:
            deadline = time.monotonic() + 10
            while not client.ping():
                assert time.monotonic() < deadline, "redis-server does not answer"
                time.sleep(0.1)
        finally:
            client.close()

    def stop(self) -> None:
        """Stop it and wait until it is gone."""
        if self.proc is not None:
            stop(self.proc)
        self.proc = None


@dataclass
class Cluster:
    """Running instances (restartable one by one), nginx in front, and the shared Redis."""

    folder: Path
    env: dict[str, str]
    ports: list[int]
    nginx: str
    redis: RedisServer
    _stacks: list[ExitStack] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes] | None] = field(default_factory=list)

    @property
    def bases(self) -> list[str]:
        """Every instance's own base URL."""
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    @property
    def targets(self) -> list[str]:
        """Every way in: each instance directly, and nginx."""
        return [*self.bases, self.nginx]

    def start_instance(self, index: int) -> None:
        """Start instance `index` on its port and wait until it is healthy."""
        folder = self.folder / f"instance-{index}"
        folder.mkdir(exist_ok=True)
        stack = ExitStack()
        _, proc = stack.enter_context(
            server_process(str(folder), server_env(str(folder), **self.env), 1, self.ports[index])
        )
        self._stacks[index] = stack
        self.procs[index] = proc

    def stop_instance(self, index: int) -> None:
        """SIGTERM instance `index` and wait for it to exit (requests in flight finish)."""
        self._stacks[index].close()
        self.procs[index] = None

    def close(self) -> None:
        """Stop every instance."""
        for stack in self._stacks:
            stack.close()
