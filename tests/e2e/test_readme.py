"""The README's curl walkthrough works as written against a live server."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.live import live_server

README = Path(__file__).parents[2] / "README.md"


def walkthrough() -> str:
    """The shell block between the walkthrough markers."""
    text = README.read_text()
    block = text.split("<!-- walkthrough:start -->")[1].split("<!-- walkthrough:end -->")[0]
    match = re.search(r"```sh\n(.*?)```", block, re.S)
    assert match, "README has no walkthrough block"
    return match.group(1)


@pytest.mark.slow
def test_readme_walkthrough_runs_as_written() -> None:
    script = walkthrough()
    assert "API=http://127.0.0.1:8000" in script
    with live_server(workers=2) as base:
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script.replace("http://127.0.0.1:8000", base)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[-3:] == ["412", "204", "401"], run.stdout
    assert '"price":17.5' in run.stdout
    assert sum("201" in line for line in lines if line.startswith("HTTP/")) == 2
    assert sum(line.lower().startswith("idempotent-replayed: true") for line in lines) == 1
    assert '"username":"ada"' in run.stdout
    assert 'rel="next"' in run.stdout
