"""The documented container steps, run with podman as an operator would: the commands of
deploy/Containerfile's header (docs/deploy.md shows the same lines), with this test's own
names, port and settings file put in place of the examples.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from deploy import processes
from deploy.container import CONTAINERFILE, ROOT, podman

DEPLOY_MD = ROOT / "docs" / "deploy.md"
# The image the tests build, one name per working tree: a rebuild removes the image its tag
# named before, which must never be one that another checkout's run is about to start.
IMAGE_TAG = f"localhost/storekeeper:test-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]}"
DATA = "/var/lib/storekeeper"
# The example names of the documented commands, which a run replaces with its own.
EXAMPLE_IMAGE = "storekeeper"
EXAMPLE_VOLUME = "storekeeper-data"
EXAMPLE_ENV_FILE = "storekeeper.env"
EXAMPLE_PORT = "8001"
START_TIMEOUT_S = 90
STOP_GRACE_S = 25
_STEP = re.compile(r"^#\s+(?P<step>[a-z]+):\s+(?P<command>podman .*?)(?:\s{2,}\(.*\))?$")


def documented_steps() -> dict[str, str]:
    """The header's `step: podman ...` lines of deploy/Containerfile, by step."""
    steps = {}
    for line in CONTAINERFILE.read_text().splitlines():
        if not line.startswith("#"):
            break
        match = _STEP.match(line)
        if match:
            steps[match["step"]] = match["command"]
    return steps


def deploy_md_block() -> list[str]:
    """The command lines of docs/deploy.md's container block (between its markers)."""
    text = DEPLOY_MD.read_text()
    block = text.split("<!-- container:start -->")[1].split("<!-- container:end -->")[0]
    match = re.search(r"```sh\n(.*?)```", block, re.S)
    assert match, "docs/deploy.md has no container block"
    return [line for line in match.group(1).splitlines() if line.startswith("podman ")]


@dataclass
class Deployment:
    """One run's names for the documented steps, and what it made (removed by `cleanup`)."""

    image: str
    tmp: Path
    token: str = field(default_factory=lambda: secrets.token_hex(4))
    port: int = field(default_factory=processes.free_port)
    containers: list[str] = field(default_factory=list)

    @property
    def volume(self) -> str:
        return f"storekeeper-test-{self.token}-data"

    @property
    def env_file(self) -> Path:
        return self.tmp / "storekeeper.env"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_env(self, **settings: str) -> None:
        """storekeeper.env as docs/deploy.md describes it: the secret and the public URL."""
        lines = [f"{name}={value}" for name, value in settings.items()]
        self.env_file.write_text("\n".join(lines) + "\n")

    def adapt(self, command: str, name: str | None = None) -> list[str]:
        """A documented command's arguments for podman() with this run's names.

        The image, the volume, the settings file and the published port are replaced where
        they stand; `name` replaces the container's (--name, or `stop`'s argument).
        """
        words = shlex.split(command)
        assert words[0] == "podman", command
        words = words[1:]
        out: list[str] = []
        positional = 0
        i = 0
        while i < len(words):
            word = words[i]
            if word in ("--env-file", "-v", "--volume", "-p", "--publish", "--name", "-t"):
                value = words[i + 1]
                if word == "--env-file":
                    assert value == EXAMPLE_ENV_FILE, command
                    value = str(self.env_file)
                elif word in ("-v", "--volume"):
                    source, target = value.split(":", 1)
                    assert source == EXAMPLE_VOLUME and target == DATA, command
                    value = f"{self.volume}:{target}"
                elif word in ("-p", "--publish"):
                    host, port, inner = value.split(":")
                    assert (host, port) == ("127.0.0.1", EXAMPLE_PORT), command
                    value = f"{host}:{self.port}:{inner}"
                elif word == "--name":
                    assert name is not None, command
                    value = name
                out += [word, value]
                i += 2
                continue
            if not word.startswith("-"):
                positional += 1
                if words[0] == "run" and positional == 2:  # run's first argument: the image
                    assert word == EXAMPLE_IMAGE, command
                    word = self.image
                elif words[0] == "stop" and positional == 2:
                    assert name is not None, command
                    word = name
                elif words[:2] == ["volume", "create"] and positional == 3:
                    assert word == EXAMPLE_VOLUME, command
                    word = self.volume
            out.append(word)
            i += 1
        return out

    def step(self, command: str, name: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a documented command (adapted); its result, whatever the exit code."""
        args = self.adapt(command, name)
        if args[0] == "run" and "-d" in args:
            # No systemd here to run the health check's timer; the test runs it itself
            # (`podman healthcheck run`).
            args[1:1] = ["--health-interval", "disable"]
        if name is not None and name not in self.containers:
            self.containers.append(name)
        return podman(*args, check=False, timeout=STOP_GRACE_S + 60)

    def container_name(self, n: int) -> str:
        return f"storekeeper-test-{self.token}-{n}"

    def cleanup(self) -> None:
        """Remove every container and the volume this run made."""
        if self.containers:
            podman("rm", "--force", "--ignore", *self.containers, check=False)
        podman("volume", "rm", "--force", self.volume, check=False)


@contextmanager
def deployment(image: str, tmp: Path) -> Iterator[Deployment]:
    """A Deployment of `image`, cleaned up however the test ends."""
    run = Deployment(image, tmp)
    try:
        yield run
    finally:
        run.cleanup()


def inspect(container: str, template: str) -> str:
    """One field of `podman inspect` for a container."""
    return podman("inspect", "--format", template, container).stdout.strip()


def logs(container: str) -> str:
    """A container's output (stdout and stderr), for failure messages."""
    done = podman("logs", container, check=False)
    return (done.stdout + done.stderr)[-4000:]


@dataclass(frozen=True)
class Container:
    """A container seen as deploy.processes watches a process: running, or its exit code."""

    name: str

    def poll(self) -> int | None:
        """None while the container runs, else its exit code."""
        if inspect(self.name, "{{.State.Running}}") == "true":
            return None
        return int(inspect(self.name, "{{.State.ExitCode}}"))


def wait_healthy(base: str, container: str) -> None:
    """Wait until /health answers 200; RuntimeError with the logs if the container stops."""
    try:
        processes.wait_healthy(
            base, Container(container), container, timeout_s=START_TIMEOUT_S, poll_s=0.2
        )
    except RuntimeError as stopped:
        raise RuntimeError(f"{stopped}: {logs(container)}") from None


def writable_layer(container: str) -> list[str]:
    """The paths `podman diff` lists as changed in a container's own layer."""
    lines = podman("diff", container).stdout.splitlines()
    return [line.split(None, 1)[1] for line in lines if line.strip()]


def volume_files(volume: str) -> dict[str, int]:
    """The volume's files on the host, with the uid that owns each."""
    found = podman("volume", "inspect", "--format", "{{.Mountpoint}}", volume).stdout
    mountpoint = Path(found.strip())
    return {
        path.relative_to(mountpoint).as_posix(): path.stat().st_uid
        for path in mountpoint.rglob("*")
    }
