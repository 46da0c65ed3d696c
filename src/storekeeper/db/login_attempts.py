"""The login limiter in the database: exact across processes and instances, no other service."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from storekeeper.db import models
from storekeeper.db.session import Database
from storekeeper.settings import RateLimit

attempts: Table = cast(Table, models.LoginAttempt.__table__)


class SqlLoginLimiter:
    """A sliding window of attempts per key, counted in a write transaction of its own."""

    def __init__(self, database: Database, limit: RateLimit) -> None:
        self.database = database
        self.limit = limit

    def hit(self, keys: list[str]) -> int | None:
        """Record an attempt for each key; seconds to wait when any key is over its limit."""
        with self.database.unit_of_work(write=True) as conn:
            return self._hit(conn, keys)

    def _hit(self, conn: Connection, keys: list[str]) -> int | None:
        now = models.utcnow()
        window_start = now - timedelta(seconds=self.limit.period)
        postgres = conn.dialect.name == "postgresql"
        wait = 0.0
        for key in sorted(keys):
            if postgres:
                # SQLite's write transactions are serial already; PostgreSQL needs a lock per key.
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
            conn.execute(
                delete(attempts).where(attempts.c.key == key, attempts.c.at <= window_start)
            )
            count, oldest = conn.execute(
                select(func.count(), func.min(attempts.c.at)).where(attempts.c.key == key)
            ).one()
            if count >= self.limit.count and oldest is not None:
                wait = max(wait, (oldest - window_start).total_seconds())
        if wait > 0:
            return max(1, math.ceil(wait))
        conn.execute(insert(attempts), [{"key": k, "at": now} for k in keys])
        return None
