"""The tutorial notebook runs top to bottom against a live server, twice, and has no outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.e2e.background import deployment

NOTEBOOKS = sorted((Path(__file__).parents[2] / "docs/tutorial").glob("*.ipynb"))
# The tests' fast-job settings put back to the defaults a learner's `make run` has. The request
# budgets stay the tests' generous ones (tests/e2e/live.py): the notebook's polling loops are
# not what this test measures.
AS_MAKE_RUN = {
    "STOREKEEPER_LOGIN_RATE_LIMIT": "10/minute",
    "STOREKEEPER_REGISTER_RATE_LIMIT": "1000/hour",
    "STOREKEEPER_JOB_LEASE": "120",
    "STOREKEEPER_JOB_RETRY_DELAY": "10",
    "STOREKEEPER_JOB_MAX_ATTEMPTS": "10",
    # `make run` lets webhooks go to loopback: section 13's receiver runs in the notebook.
    "STOREKEEPER_WEBHOOK_ALLOW_PRIVATE": "true",
}
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("tutorial")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {number} has outputs: clear them before committing"
            assert cell.execution_count is None, f"cell {number} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_cell_runs_against_a_live_server_and_again(
    path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The default login limit (10 a minute from one address), as under `make run`: two runs
    # in a row must fit in it, as a learner's would. A worker runs beside the server, as
    # `make run` starts one: the photo's sizes and the import are its work.
    with deployment(tmp_path / "site", None, None, settings=AS_MAKE_RUN) as site:
        site.start_worker()
        monkeypatch.setenv("STOREKEEPER_URL", site.base)  # the kernel inherits it
        for _ in range(2):
            notebook = nbformat.read(path, as_version=4)
            # Raises CellExecutionError, naming the cell, on the first error.
            NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
            printed = "".join(
                output.get("text", "")
                for cell in notebook.cells
                if cell.cell_type == "code"
                for output in cell.outputs
            )
            assert "status line: HTTP/1.1 200 OK" in printed
            assert "Allow" in printed or "allow: " in printed
            assert "stock value: 29.94" in printed
            assert "4 passed" in printed
            assert "- verified: False" in printed
            assert "the old password is refused: 422" in printed
            assert "owner:   delete an item: 204, add staff: 201" in printed
            assert "manager: delete an item: 204, add staff: 201" in printed
            assert "staff:   delete an item: 403, add staff: 403" in printed
            assert "the httpx session has ended: 401" in printed
            # A reset link asked for, for any address; an import checked, then applied.
            assert printed.count("HTTP/1.1 202 ") == 4
            assert "thumbnail: (256, 192)" in printed
            assert "asked again with its ETag: 304" in printed
            assert "'created': 2, 'updated': 1, 'unchanged': 0, 'failed': 0" in printed
            # A webhook's delivery reached the notebook's receiver, signed with its secret.
            assert "signature verified: item.updated" in printed
            assert "a changed body is refused: no signature matches" in printed
            assert "delivery log: item.updated succeeded 204" in printed
            assert "ping: succeeded 204 - ping_" in printed
