"""An import job cut short by a dead worker resumes after its last committed batch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from storekeeper.background.imports import ItemImports
from storekeeper.background.runner import Runner
from storekeeper.db.unit_of_work import SqlUnitsOfWork, SqlWork
from storekeeper.domain.jobs import JOBS, RetryPolicy
from storekeeper.domain.transfer import BATCH_ROWS
from storekeeper.services import Services
from tests.helpers import User, store

POLICY = RetryPolicy(max_attempts=5, lease_s=60)


class Died(BaseException):
    """What a SIGKILL leaves: nothing after it runs, not even the runner's failure record."""


class DyingUnits:
    """The worker's units of work, dying right after its `writes`th commit."""

    def __init__(self, units: SqlUnitsOfWork, writes: int) -> None:
        self.units = units
        self.writes = writes

    @contextmanager
    def __call__(self, write: bool = False, deadline_s: float = 4.0) -> Iterator[SqlWork]:
        with self.units(write, deadline_s) as work:
            yield work
        if write:
            self.writes -= 1
            if self.writes == 0:
                raise Died

    def hold(self) -> None:
        pass

    def release(self) -> None:
        pass


def _runner(units: Any, clock: Any = None) -> Runner:
    imports = ItemImports(units, partial(units, write=True, deadline_s=60.0))
    if clock is None:
        return Runner(units, imports.handlers(), POLICY)
    return Runner(units, imports.handlers(), POLICY, clock)


def test_an_import_cut_short_resumes_without_applying_a_row_twice(
    client: FlaskClient, app: Flask, alice: User
) -> None:
    shop = store(client, alice)
    total = BATCH_ROWS * 2 + 7
    data = "name,price\n" + "".join(f"Item {n},{n}.50\n" for n in range(total))
    answer = client.post(
        f"/store/{shop['id']}/import", data=data, content_type="text/csv", headers=alice.headers
    )
    job_id = answer.get_json()["id"]
    units: SqlUnitsOfWork = app.extensions["storekeeper"].units
    # The claim is the first write, the first batch the second: the worker dies after it.
    with suppress(Died):
        _runner(DyingUnits(units, writes=2)).run(job_id)
    assert client.get(f"/store/{shop['id']}").get_json()["item_count"] == BATCH_ROWS
    # Its lease over, another worker takes the job and goes on from the second batch.
    later = datetime.now(UTC) + timedelta(seconds=POLICY.lease_s + 1)
    assert _runner(units, lambda: later).run(job_id) == "succeeded"
    with units() as work:
        job = work[JOBS].get(job_id)
    assert job is not None and job.attempts == 2 and job.result is not None
    # The first attempt's rows keep their outcome: created, not "unchanged" on the rerun.
    assert (job.result["created"], job.result["unchanged"]) == (total, 0)
    assert client.get(f"/store/{shop['id']}").get_json()["item_count"] == total


def test_an_import_whose_end_was_not_recorded_keeps_its_result(
    client: FlaskClient, app: Flask, alice: User
) -> None:
    """Killed between the import's last transaction and the runner's record of success."""
    shop = store(client, alice)
    answer = client.post(
        f"/store/{shop['id']}/import",
        data="name,price\nA,1\n",
        content_type="text/csv",
        headers=alice.headers,
    )
    job_id = answer.get_json()["id"]
    found: Services = app.extensions["storekeeper"]
    units = found.units
    assert isinstance(units, SqlUnitsOfWork)
    with suppress(Died):  # claim, batch, finish: dead before the success is written
        _runner(DyingUnits(units, writes=3)).run(job_id)
    later = datetime.now(UTC) + timedelta(seconds=POLICY.lease_s + 1)
    assert _runner(units, lambda: later).run(job_id) == "succeeded"
    job = client.get(f"/job/{job_id}", headers=alice.headers).get_json()
    assert (job["result"]["created"], job["result"]["unchanged"]) == (1, 0)


def test_a_running_import_shows_its_progress(client: FlaskClient, app: Flask, alice: User) -> None:
    shop = store(client, alice)
    data = "name,price\n" + "".join(f"Item {n},1\n" for n in range(BATCH_ROWS + 1))
    answer = client.post(
        f"/store/{shop['id']}/import", data=data, content_type="text/csv", headers=alice.headers
    )
    job_id = answer.get_json()["id"]
    units: SqlUnitsOfWork = app.extensions["storekeeper"].units
    with suppress(Died):  # the claim, then the first batch: dead after it
        _runner(DyingUnits(units, writes=2)).run(job_id)
    job = client.get(f"/job/{job_id}", headers=alice.headers).get_json()
    assert job["status"] == "running"
    assert job["result"] == {"progress": {"rows_done": BATCH_ROWS, "rows": BATCH_ROWS + 1}}
