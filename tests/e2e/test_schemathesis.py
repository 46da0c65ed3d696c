"""A bounded Schemathesis run, every check and every phase on, against a live server.

The stateful phase follows the document's links (create -> read, change, delete) and the
hooks (schemathesis_hooks.py) give the requests the values only the run's history makes real:
cursors, idempotency keys, sessions, ETags. The run is bounded in time (the coverage pass,
then fuzzing and stateful passes until the budget is spent) and each pass in examples.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.e2e.live import BIN, database_url, live_server, login_token

HERE = Path(__file__).parent
# A fixed seed keeps CI reproducible as far as the stateful phase allows (it also draws from
# true randomness); set SCHEMATHESIS_SEED=random to explore further.
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261124")
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "20")
# Seconds for the whole run: about a minute per database with the server, on 2 busy cores.
MAX_TIME = os.environ.get("SCHEMATHESIS_MAX_TIME", "50")
USERNAME, PASSWORD = "fuzzer", "fuzzer-password"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_schemathesis_finds_nothing(backend: str, tmp_path: Path) -> None:
    with database_url(backend) as url:
        settings = {"STOREKEEPER_DATABASE_URL": url} if url else {}
        with live_server(
            workers=2, STOREKEEPER_LOGIN_RATE_LIMIT="100000/minute", **settings
        ) as base:
            token = login_token(base, USERNAME, PASSWORD)
            command = [
                str(BIN / "schemathesis"),
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-examples",
                MAX_EXAMPLES,
                "--max-time",
                MAX_TIME,
                # One worker: CPython 3.11.7's ast.parse is not thread-safe (SystemError
                # "AST constructor recursion depth mismatch", fixed in later 3.11 releases),
                # and hypothesis parses lambda sources while schemathesis runs threads.
                "--workers",
                "1",
                "--max-failures",
                "20",
                "--no-color",
            ]
            if SEED != "random":
                command += ["--seed", SEED]
            env = {
                **os.environ,
                "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
                "PYTHONPATH": str(HERE),
                # The hooks authenticate as this user (no --header: they change the token
                # of the requests that would end its session) and read the state from here.
                "FUZZ_BASE_URL": base,
                "FUZZ_USERNAME": USERNAME,
                "FUZZ_PASSWORD": PASSWORD,
                "FUZZ_TOKEN": token,
                "FUZZ_BACKEND": backend,
            }
            run = subprocess.run(
                command,
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=int(MAX_TIME) + 240,
            )
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert " passed" in run.stdout, report
    # The stateful phase ran and followed links: with a revoked token it would follow none.
    links = re.search(r"API Links:\s+(\d+) covered", run.stdout)
    assert links is not None and int(links.group(1)) >= 10, report
