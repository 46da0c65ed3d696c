"""Queries for imports: the uploaded file and the outcomes of the batches committed so far."""

from __future__ import annotations

from typing import Any, cast

import orjson
from sqlalchemy import Table, delete, insert, select, text, update
from sqlalchemy.engine import Connection

from storekeeper.db import models

files: Table = cast(Table, models.ImportFile.__table__)
batches: Table = cast(Table, models.ImportBatch.__table__)
jobs: Table = cast(Table, models.Job.__table__)


class ImportRepository:
    """Imports in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_file(self, job_id: int, store_id: int, data: bytes) -> None:
        self.conn.execute(
            insert(files).values(
                job_id=job_id, store_id=store_id, data=data, created_at=models.utcnow()
            )
        )

    def file(self, job_id: int) -> bytes | None:
        data = self.conn.execute(select(files.c.data).where(files.c.job_id == job_id)).scalar()
        return None if data is None else bytes(data)

    def batches(self, job_id: int) -> dict[int, list[dict[str, Any]]]:
        rows = self.conn.execute(
            select(batches.c.number, batches.c.rows).where(batches.c.job_id == job_id)
        )
        return {int(row.number): orjson.loads(row.rows) for row in rows}

    def add_batch(self, job_id: int, number: int, rows: list[dict[str, Any]]) -> None:
        self.conn.execute(
            insert(batches).values(job_id=job_id, number=number, rows=orjson.dumps(rows).decode())
        )

    def finish(self, job_id: int, result: dict[str, Any]) -> None:
        # The result goes on the job with the file's deletion: an attempt that dies before the
        # runner marks the job done leaves the next one the result, not a missing file.
        self.conn.execute(
            update(jobs).where(jobs.c.id == job_id).values(result=orjson.dumps(result).decode())
        )
        self.conn.execute(delete(batches).where(batches.c.job_id == job_id))
        self.conn.execute(delete(files).where(files.c.job_id == job_id))

    def refresh_statistics(self) -> None:
        # PostgreSQL only: ANALYZE samples the tables (a bounded sample, not a scan) and takes a
        # lock that blocks neither reads nor writes. SQLite's planner needs none here: it picks
        # the unique (store_id, name_key) index for these lookups without statistics.
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("ANALYZE items, item_tags, tags"))

    def progress(self, job_id: int, done: int, total: int) -> None:
        # Only while it runs: the final result (finish) replaces it, and a finished job keeps it.
        progress = orjson.dumps({"progress": {"rows_done": done, "rows": total}}).decode()
        self.conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == "running")
            .values(result=progress)
        )
