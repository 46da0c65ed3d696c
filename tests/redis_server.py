"""A redis-server of the tests' own: no other process on the machine shares its counts.

The Redis on 127.0.0.1:6379 is the machine's: another test run (a second checkout, a CI job)
would flush or fill the same database number, so a test counting in Redis starts its own.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from deploy.processes import free_port, spawn, stop, wait_listening


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
        assert executable is not None, "redis-server is missing: `make deploy-tools` installs it"
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
