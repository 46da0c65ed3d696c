"""The README's curl walkthrough works as written against a live server."""

from __future__ import annotations

import pytest

from tests.e2e.live import live_server
from tests.e2e.walkthrough import assert_walkthrough_ran, run_walkthrough


@pytest.mark.slow
def test_readme_walkthrough_runs_as_written() -> None:
    with live_server(workers=2) as base:
        run = run_walkthrough(base)
    assert_walkthrough_ran(run)
