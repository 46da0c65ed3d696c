"""What CSV export and import cost: the export's peak memory by store size, an import's time.

The figures behind docs/performance.md §7 (`python -m bench.transfer_cost`, from the
repository's root; PostgreSQL at 127.0.0.1:5432, user postgres, trust auth, when it answers):

    python -m bench.transfer_cost export --items 10000,100000      # peak RSS per store size
    python -m bench.transfer_cost export --items 1000000           # the long run (a few minutes)
    python -m bench.transfer_cost import --rows 50000               # seconds per import mode

export  seeds a store with N items (5 tags, each item linked to one) straight through SQL in
        this process, then streams `GET /store/{id}/item` with `Accept: text/csv` through the
        app in a fresh child process, reading the answer a chunk at a time: the child's peak
        RSS (ru_maxrss) before and after the export. Flat memory means the growth does not
        grow with N.
import  starts one import of a file of N new items (name, price, quantity, tags; 10 tags),
        then runs its job in process as the worker does, and again the same file (every row
        unchanged then), then the same file as an atomic import and as a dry run: seconds each.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from bench.run import database
from bench.seed import seed
from storekeeper.app import create_app
from storekeeper.background.runner import Runner
from storekeeper.background.worker import imports
from storekeeper.db import migrate
from storekeeper.db.session import Database
from storekeeper.db.unit_of_work import SqlUnitsOfWork
from storekeeper.domain.jobs import JOBS, RetryPolicy
from storekeeper.settings import Settings, normalise_database_url

SECRET = "bench-secret-" + "x" * 40
PASSWORD = "bench password 1"  # noqa: S105 - a throwaway account


@contextmanager
def _app(backend: str, folder: Path) -> Iterator[tuple[Flask, str]]:
    with database(backend) as url:
        found = normalise_database_url(url or f"sqlite:///{folder}/transfer.db")
        db = Database(found)
        migrate.upgrade(db.engine)
        db.dispose()
        settings = Settings(database_url=found, secret_key=SECRET, instance_path=folder)
        yield create_app(settings), found


def _token(app: Flask) -> dict[str, str]:
    client = app.test_client()
    client.post("/register", json={"username": "bencher", "password": PASSWORD})
    tokens = client.post("/login", json={"username": "bencher", "password": PASSWORD}).get_json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_child(url: str, folder: str) -> None:
    """In a fresh process: stream one export, print its figures as JSON."""
    settings = Settings(database_url=url, secret_key=SECRET, instance_path=Path(folder))
    client = create_app(settings).test_client()
    client.get("/store/1/item?limit=5")  # the app warmed up: imports, statements, pools
    before = _rss_mib()
    started = time.perf_counter()
    size = lines = 0
    with client.get("/store/1/item", headers={"Accept": "text/csv"}, buffered=False) as answer:
        for chunk in answer.response:
            data = chunk if isinstance(chunk, bytes) else chunk.encode()
            size += len(data)
            lines += data.count(b"\n")
    seconds = time.perf_counter() - started
    after = _rss_mib()
    print(
        json.dumps(
            {
                "rows": lines - 1,
                "mib": round(size / 2**20, 1),
                "seconds": round(seconds, 2),
                "rss_before_mib": round(before, 1),
                "rss_peak_mib": round(after, 1),
            }
        )
    )


def export(backend: str, sizes: list[int]) -> None:
    """Peak RSS of an export per store size."""
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder, _app(backend, Path(folder)) as (app, url):
            _token(app)
            seed(url, 1, 1, size)
            out = (
                subprocess.run(
                    [sys.executable, "-m", "bench.transfer_cost", "export-child", url, folder],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            print(backend, "export", size, "items:", out, flush=True)


def _run_job(
    app: Flask, headers: dict[str, str], store_id: int, data: bytes, query: str
) -> tuple[float, Any]:
    client = app.test_client()
    answer = client.post(
        f"/store/{store_id}/import?{query}", data=data, content_type="text/csv", headers=headers
    )
    assert answer.status_code == 202, answer.get_data(as_text=True)
    job_id = answer.get_json()["id"]
    units = app.extensions["storekeeper"].units
    assert isinstance(units, SqlUnitsOfWork)
    runner = Runner(units, imports(units).handlers(), RetryPolicy(max_attempts=1))
    started = time.perf_counter()
    assert runner.run(job_id) == "succeeded"
    seconds = time.perf_counter() - started
    with units() as work:
        job = work[JOBS].get(job_id)
    assert job is not None
    assert job.result is not None
    counts = {k: job.result[k] for k in ("created", "updated", "unchanged", "failed")}
    return seconds, counts


def import_(backend: str, rows: int) -> None:
    """Seconds of one import of `rows` rows, in each mode."""
    data = (
        "name,price,quantity,tags\n"
        + "".join(f"Item {n},{n % 1000}.99,{n % 50},tag {n % 10}\n" for n in range(rows))
    ).encode()
    with tempfile.TemporaryDirectory() as folder, _app(backend, Path(folder)) as (app, _):
        headers = _token(app)
        for name in ("Depot", "Annex"):
            app.test_client().post("/store", json={"name": name}, headers=headers)
        for label, store_id, query in (
            ("new items", 1, ""),
            ("every row unchanged", 1, ""),
            ("dry run, new items", 2, "dry_run=true"),
            ("atomic, new items", 2, "atomic=true"),
        ):
            seconds, counts = _run_job(app, headers, store_id, data, query)
            print(
                backend,
                "import",
                rows,
                "rows,",
                label + ":",
                f"{seconds:.1f} s",
                counts,
                flush=True,
            )


def main() -> None:
    """Run the measurement asked for on each backend."""
    if sys.argv[1:2] == ["export-child"]:
        export_child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("export", "import"))
    parser.add_argument("--items", default="10000,100000", help="store sizes to export")
    parser.add_argument("--rows", type=int, default=50_000, help="rows of the imported file")
    parser.add_argument("--db", default="sqlite,postgresql", help="backends to run")
    args = parser.parse_args()
    for backend in args.db.split(","):
        if args.what == "export":
            export(backend, [int(n) for n in args.items.split(",")])
        else:
            import_(backend, args.rows)


if __name__ == "__main__":
    main()
