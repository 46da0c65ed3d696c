"""The paths users take to a running server, outside the dev environment every other test
runs in: the built wheel in a fresh venv with only the runtime lock, and `make run` in a
fresh clone. A package that only the dev lock brings (issue 18: `packaging`, which gunicorn's
gevent worker imports) or a file the wheel leaves out fails here, not on a user's machine.

Both install from the package index (pip's cache makes a second run quicker) and serve on
SQLite, the default: what they check does not depend on the database, which the rest of the
suite covers on PostgreSQL too. The fresh venvs have no coverage, so nothing they run is
measured.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import zipfile
from pathlib import Path

import pytest
import requests

from deploy.processes import free_port, kill_groups, spawn, tail, wait_healthy
from tests.e2e.live import (
    base_python,
    processes_running_from,
    round_trip,
    server_env,
    server_process,
)
from tests.e2e.walkthrough import assert_walkthrough_ran, run_walkthrough

ROOT = Path(__file__).parents[2]
RUNTIME_LOCK = ROOT / "requirements.lock"
# Hang detectors, not expectations: installing from a cold cache takes a minute or two.
INSTALL_TIMEOUT_S = 600
HANG_S = 30
# Every module of the installed package, imported in the venv: the names walked, and any
# that failed with the exception's text. `__main__` modules run their program when
# imported (storekeeper.serving's would start a server), so they are left out.
IMPORT_ALL = """
import importlib, json, pkgutil, traceback
import storekeeper
walked, failed = [], {}
def note(name):
    failed[name] = traceback.format_exc(limit=1)
for info in pkgutil.walk_packages(storekeeper.__path__, "storekeeper.", onerror=note):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue
    walked.append(info.name)
    try:
        importlib.import_module(info.name)
    except Exception:
        failed[info.name] = traceback.format_exc(limit=1)
print(json.dumps({"file": storekeeper.__file__, "walked": walked, "failed": failed}))
"""


def _run(
    args: list[str | Path], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A step that must succeed; its output is the assertion's message when it does not."""
    done = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
    return done


def _fresh_venv(venv: Path) -> Path:
    """A venv as the Makefile makes one (`$(PYTHON) -m venv`, then pip>=24.3); its python."""
    _run([base_python(), "-m", "venv", venv], venv.parent)
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=24.3"], venv.parent)
    return python


def _tracked_files() -> list[Path]:
    """The checkout's files as git sees them (tracked or new, not ignored), relative paths."""
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT)
    names = [Path(name) for name in listed.stdout.split("\0") if name]
    return [name for name in names if (ROOT / name).is_file()]  # deleted, not yet committed


def _source_copy(dest: Path) -> list[Path]:
    """Copy the checkout's files to `dest`; the package's files among them, relative to src/."""
    # Building in the checkout would leave setuptools' build/ there, whose stale copies of
    # deleted modules a later wheel would still contain.
    package = []
    for name in _tracked_files():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes((ROOT / name).read_bytes())
        if name.parts[:2] == ("src", "storekeeper"):
            package.append(name.relative_to("src"))
    return package


@pytest.mark.slow
def test_the_wheel_with_only_the_runtime_lock_imports_everything_and_serves(
    tmp_path: Path,
) -> None:
    python = _fresh_venv(tmp_path / "venv")
    pip: list[str | Path] = [python, "-m", "pip", "--quiet"]
    # `make install`'s first step, word for word.
    _run([*pip, "install", "--require-hashes", "--no-deps", "-r", RUNTIME_LOCK], tmp_path)

    source = tmp_path / "source"
    package_files = _source_copy(source)
    _run([*pip, "wheel", "--no-deps", "--wheel-dir", tmp_path / "wheels", source], tmp_path)
    (wheel,) = (tmp_path / "wheels").glob("storekeeper-*.whl")
    # An editable install reads src/ itself; a wheel has only what pyproject.toml packs.
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert sorted(str(name) for name in package_files if str(name) not in in_wheel) == []
    # pyproject.toml says MIT: the wheel carries the license's text.
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in in_wheel), in_wheel
    _run([*pip, "install", "--no-deps", wheel], tmp_path)
    # pip check ignores what an extra requires (gunicorn[gevent]'s packaging): it passed with
    # issue 18's lock, and the imports below are what fail on it.
    _run([python, "-m", "pip", "check"], tmp_path)

    # -I: nothing from this environment (PYTHONPATH, the working directory) on sys.path.
    imported = json.loads(_run([python, "-I", "-c", IMPORT_ALL], tmp_path).stdout)
    assert Path(imported["file"]).is_relative_to(tmp_path / "venv"), imported["file"]
    assert {"storekeeper.serving", "storekeeper.wsgi", "storekeeper.cli"} <= set(imported["walked"])
    failed = imported["failed"]
    assert failed == {}, "\n".join(f"{name}: {text}" for name, text in failed.items())

    instance = tmp_path / "instance"
    instance.mkdir()
    env = server_env(str(instance))
    bin_dir = tmp_path / "venv" / "bin"
    _run([bin_dir / "storekeeper", "db", "upgrade"], tmp_path, env)  # migrations: package data
    with server_process(str(instance), env, workers=2, bin_dir=bin_dir) as (base, proc):
        assert requests.get(f"{base}/", timeout=10).status_code == 200  # the console's page
        round_trip(base, "wheel", "Wheel Shop")
    # server_process stopped it with SIGTERM (SIGKILL only if that hung): a graceful stop.
    assert proc.returncode == 0, tail(instance / "server.log")
    assert "Traceback" not in (instance / "server.log").read_text()


def _user_env() -> dict[str, str]:
    """This environment as a user's terminal has it: no settings, no enclosing make's flags."""
    # Under `make test`, MAKEFLAGS and MAKELEVEL would make the clone's make a sub-make.
    inherited = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("STOREKEEPER_") and name not in inherited
    }


@pytest.mark.slow
def test_make_run_in_a_fresh_clone_serves_the_readme_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    clone = tmp_path / "storekeeper"
    # The committed HEAD: what a user clones. Uncommitted changes are not in it.
    _run(["git", "clone", "--quiet", ROOT, clone], tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "make-run.log"
    command = ["make", "run", f"PORT={port}", f"PYTHON={base_python()}"]
    # Its own process group, like a terminal's foreground job, for Ctrl-C below.
    make = spawn(command, _user_env(), log, clone)
    try:
        wait_healthy(base, make, "make run", log, timeout_s=INSTALL_TIMEOUT_S)
        assert_walkthrough_ran(run_walkthrough(base))

        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            make.wait(HANG_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"make run still runs {HANG_S} s after Ctrl-C: {tail(log)}")
        # GNU make waits for the server to exit, then ends itself by the same signal (a
        # shell shows 130); the server has waited for its workers.
        assert make.returncode == -signal.SIGINT, tail(log)
        with pytest.raises(ProcessLookupError):
            os.killpg(make.pid, 0)
        assert processes_running_from(clone) == []
        assert "Traceback" not in log.read_text()
    finally:
        kill_groups(make.pid)
        make.wait()


def test_the_dev_install_never_counts_as_the_runtime_install(tmp_path: Path) -> None:
    # Every step `make install-dev` (and so `make test`) would take from nothing: -B makes
    # all of them, -n runs none. Were the runtime stamp among them, `make run` would serve
    # from the dev lock's packages without ever installing the runtime lock.
    venv = tmp_path / "venv"
    command: list[str | Path] = ["make", "-B", "-n", "install-dev", f"VENV={venv}"]
    planned = _run(command, ROOT, _user_env()).stdout.split()
    assert f"{venv}/.installed-dev" in planned
    assert f"{venv}/.installed" not in planned
