"""The cluster the multi-instance tests share: `storekeeper serve` instances that can be
stopped and started one by one, a Redis server of the tests' own, and clients that talk from
loopback addresses of their own.
"""

from __future__ import annotations

import itertools
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from tests.e2e.live import server_env, server_process
from tests.redis_server import RedisServer

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
