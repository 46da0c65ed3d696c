"""deploy/Containerfile, built and run with podman as its header and docs/deploy.md say.

The image is built on a Debian bookworm base made from the machine's apt mirror
(deploy/container.py: no registry is reachable here); both are cached, so only the first run
pays for them. The data lives on a named volume: a second container on it serves what the
first one wrote, and neither container's writable layer holds any of the database.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from deploy.container import available, build, podman
from tests.container.helpers import (
    DATA,
    IMAGE_TAG,
    STOP_GRACE_S,
    Deployment,
    deploy_md_block,
    deployment,
    documented_steps,
    inspect,
    logs,
    volume_files,
    wait_healthy,
    writable_layer,
)
from tests.e2e.live import round_trip
from tests.helpers import require

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("container")]

UID = 10001


@pytest.fixture(scope="module")
def image() -> str:
    """The id of the image built from the working tree's deploy/Containerfile."""
    problem = available()
    require(problem is None, f"podman ({problem})")
    return build(IMAGE_TAG)


@pytest.fixture
def run(image: str, tmp_path: Path) -> Iterator[Deployment]:
    with deployment(image, tmp_path) as made:
        yield made


def settings(run: Deployment) -> dict[str, str]:
    return {
        "STOREKEEPER_SECRET_KEY": secrets.token_urlsafe(48),
        "STOREKEEPER_PUBLIC_URL": run.base,
    }


def test_the_documented_commands_are_the_same_in_both_places() -> None:
    steps = documented_steps()
    assert list(steps) == ["build", "volume", "migrate", "run", "stop"]
    assert deploy_md_block() == list(steps.values())


def stop(run: Deployment, command: str, name: str) -> None:
    """The documented stop: SIGTERM, and a clean exit (0) before the engine resorts to SIGKILL."""
    stopped = run.step(command, name)
    assert stopped.returncode == 0, stopped.stderr
    assert "SIGKILL" not in stopped.stderr, stopped.stderr
    assert f"-t {STOP_GRACE_S}" in command
    state = inspect(name, "{{.State.Status}} {{.State.ExitCode}}")
    assert state == "exited 0", f"{state}: {logs(name)}"


def test_data_lives_on_the_volume_across_containers(image: str, run: Deployment) -> None:
    steps = documented_steps()
    declared = podman("image", "inspect", "--format", "{{json .Config.Volumes}}", image).stdout
    assert DATA in declared
    run.write_env(**settings(run))

    made = run.step(steps["volume"])
    assert made.returncode == 0, made.stderr
    migrated = run.step(steps["migrate"])
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "database schema is now up to date" in migrated.stderr

    first = run.container_name(1)
    started = run.step(steps["run"], first)
    assert started.returncode == 0, started.stderr
    wait_healthy(run.base, first)
    assert podman("exec", first, "id", "-u").stdout.strip() == str(UID)
    health = podman("healthcheck", "run", first, check=False)
    assert health.returncode == 0, health.stdout + health.stderr

    headers, store = round_trip(run.base, "ada", "Ada's")

    stop(run, steps["stop"], first)

    second = run.container_name(2)
    started = run.step(steps["run"], second)
    assert started.returncode == 0, started.stderr
    wait_healthy(run.base, second)
    with requests.Session() as http:
        again = http.get(f"{run.base}/store/{store['id']}", timeout=10)
        assert again.status_code == 200, again.text
        assert again.json() == store
        # The user, and the token signed with the same secret, outlived the first container.
        me = http.get(f"{run.base}/user/me", headers=headers, timeout=10)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "ada"
    stop(run, steps["stop"], second)

    for name in (first, second):
        changed = writable_layer(name)
        assert not [path for path in changed if path.startswith(DATA)], changed
        assert not [path for path in changed if "storekeeper.db" in path], changed
    files = volume_files(run.volume)
    assert files.get("storekeeper.db") == UID, files


def test_serving_refuses_an_unmigrated_volume_and_a_missing_secret(
    image: str, run: Deployment
) -> None:
    steps = documented_steps()
    run.write_env(**settings(run))
    assert run.step(steps["volume"]).returncode == 0

    # `run` without `migrate` first: the server names the step and exits.
    started = run.step(steps["run"], run.container_name(1))
    assert started.returncode == 0, started.stderr
    name = run.container_name(1)
    assert podman("wait", name, timeout=90).stdout.strip() == "2", logs(name)
    assert "run: storekeeper db upgrade" in logs(name)

    # Production mode (the image's default) refuses to start without the secret.
    run.write_env(STOREKEEPER_PUBLIC_URL=run.base)
    migrated = run.step(steps["migrate"])
    assert migrated.returncode == 2, migrated.stdout + migrated.stderr
    assert "STOREKEEPER_SECRET_KEY" in migrated.stderr
