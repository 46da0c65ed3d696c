"""`make test-fast` leaves out exactly the PostgreSQL variants of the unit and API tests.

Here, not in tests/unit, so that the quick loop does not pay for collecting itself again.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
RECIPE = re.compile(r"^test-fast:.*\n\t\$\(BIN\)/python -m pytest (.+)$", re.M)


def test_make_test_fast_leaves_out_only_the_runs_on_the_second_database() -> None:
    recipe = RECIPE.search((ROOT / "Makefile").read_text())
    assert recipe is not None, "make test-fast runs pytest"
    arguments = recipe.group(1).split()
    folders = [a for a in arguments if a.startswith("tests/")]
    assert folders == ["tests/unit", "tests/api"]
    assert recipe.group(1).endswith('-k "not postgresql"')
    # What `-k "not postgresql"` deselects is what `-k postgresql` selects.
    collect = ["-m", "pytest", "-p", "no:xdist", "--collect-only", "-q"]
    collected = subprocess.run(
        [sys.executable, *collect, *folders, "-k", "postgresql"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    left_out = [line for line in collected.splitlines() if "::" in line]
    assert left_out, "the API tests run on PostgreSQL too"
    # A test whose own name says postgresql would be lost from the quick loop unnoticed.
    assert [i for i in left_out if "[postgresql]" not in i and "[postgresql-" not in i] == []
