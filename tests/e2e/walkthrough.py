"""The README's curl walkthrough: the block itself, a run of it against a live server, and
what its output must show.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"
# The address the walkthrough names: `make run`'s default.
README_API = "http://127.0.0.1:8000"


def walkthrough() -> str:
    """The shell block between the walkthrough markers."""
    text = README.read_text()
    block = text.split("<!-- walkthrough:start -->")[1].split("<!-- walkthrough:end -->")[0]
    match = re.search(r"```sh\n(.*?)```", block, re.S)
    assert match, "README has no walkthrough block"
    return match.group(1)


def run_walkthrough(base: str) -> subprocess.CompletedProcess[str]:
    """The walkthrough as written, in bash with errors fatal, against the server at `base`."""
    script = walkthrough()
    assert f"API={README_API}" in script
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace(README_API, base)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_walkthrough_ran(run: subprocess.CompletedProcess[str]) -> None:
    """Every step answered as the README says: created, replayed, updated, refused, logged out."""
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[-3:] == ["412", "204", "401"], run.stdout
    assert '"price":17.5' in run.stdout
    assert sum("201" in line for line in lines if line.startswith("HTTP/")) == 2
    assert sum(line.lower().startswith("idempotent-replayed: true") for line in lines) == 1
    assert '"username":"ada"' in run.stdout
    assert 'rel="next"' in run.stdout
