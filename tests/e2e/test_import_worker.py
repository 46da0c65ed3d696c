"""A CSV import through real processes: `storekeeper serve` and `storekeeper worker`, the worker
SIGKILLed in the middle of it, the store's reads answering all along (both backends).

The lease is 2 s (tests/e2e/background.py's FAST_JOBS) and the import takes longer: the job is
kept by its heartbeat while it runs, freed by the kill, resumed by the next worker after its
last committed batch, and ends with every row applied once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.e2e.background import DELIVERY_S, Site, deployment, poll_until, register, sign_in
from tests.e2e.live import database_url
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("background")]

ROWS = 4_000
# Reads during the import: a hang detector, not a speed claim (a loaded 2-core machine).
READ_LIMIT_S = 5.0


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the embedded SQLite default, else a fresh PostgreSQL database."""
    with database_url(request.param) as url:
        yield url


def _committed_batches(site: Site) -> int:
    engine = create_engine(site.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM import_batches")).scalar_one())
    finally:
        engine.dispose()


def _reads(base: str, store_id: int, stop: threading.Event, slowest: list[float]) -> None:
    with requests.Session() as http:
        while not stop.is_set():
            started = time.monotonic()
            answer = http.get(f"{base}/store/{store_id}/item", timeout=READ_LIMIT_S * 2)
            assert answer.status_code == 200, answer.text
            slowest[0] = max(slowest[0], time.monotonic() - started)


def test_an_import_survives_a_killed_worker_while_reads_answer(
    tmp_path: Path, db_url: str | None
) -> None:
    with deployment(tmp_path, db_url, "smtp://127.0.0.1:9") as site, requests.Session() as http:
        base = site.base
        register(http, base, "importer", "importer@example.test", PASSWORD)
        token = sign_in(http, base, "importer", PASSWORD).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        shop = http.post(f"{base}/store", json={"name": "Depot"}, headers=headers).json()
        data = "name,price,quantity,tags\n" + "".join(
            f"Item {n},{n % 1000}.25,{n % 7},t{n % 5}\n" for n in range(ROWS)
        )
        answer = http.post(
            f"{base}/store/{shop['id']}/import",
            data=data.encode(),
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert answer.status_code == 202, answer.text
        job_url = base + answer.headers["Location"]
        stop, slowest = threading.Event(), [0.0]
        reader = threading.Thread(target=_reads, args=(base, shop["id"], stop, slowest))
        reader.start()
        try:
            worker = site.start_worker()
            poll_until(
                lambda: _committed_batches(site) >= 1,
                DELIVERY_S,
                lambda: f"no batch committed: {site.logs()}",
                alive=worker,
            )
            site.kill(worker)
            site.start_worker()

            def finished() -> bool:
                status: str = http.get(job_url, headers=headers).json()["status"]
                return status == "succeeded"

            poll_until(finished, DELIVERY_S * 4, lambda: f"not finished: {site.logs()}")
        finally:
            stop.set()
            reader.join()
        job = http.get(job_url, headers=headers).json()
        assert (job["result"]["created"], job["result"]["failed"]) == (ROWS, 0)
        assert [r["line"] for r in job["result"]["rows"]] == list(range(2, ROWS + 2))
        assert http.get(f"{base}/store/{shop['id']}").json()["item_count"] == ROWS
        export = http.get(f"{base}/store/{shop['id']}/item", headers={"Accept": "text/csv"})
        assert len(export.text.splitlines()) == ROWS + 1
        assert slowest[0] < READ_LIMIT_S, slowest
        assert [r.attempts for r in site.jobs() if r.kind == "items.import"] == [2]
