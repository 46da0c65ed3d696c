"""The attempt limiter in the database: exact across processes and instances, no other service."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from storekeeper.db import models
from storekeeper.db.session import Database
from storekeeper.domain.ports import Counter

attempts: Table = cast(Table, models.LoginAttempt.__table__)


class SqlAttemptLimiter:
    """Sliding windows of attempts per key, each call one write transaction of its own."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def hit(self, counted: Sequence[Counter], watched: Sequence[Counter] = ()) -> int | None:
        """Seconds to wait when any counter is full; else record an attempt in the counted."""
        with self.database.unit_of_work(write=True) as conn:
            wait = max((self._wait(conn, c) for c in _ordered([*counted, *watched])), default=0.0)
            if wait > 0:
                return max(1, math.ceil(wait))
            _record(conn, counted)
            return None

    def add(self, counted: Sequence[Counter]) -> None:
        """Record an attempt in each counter."""
        with self.database.unit_of_work(write=True) as conn:
            for counter in _ordered(counted):
                self._wait(conn, counter)  # trims and, on PostgreSQL, locks the key
            _record(conn, counted)

    def _wait(self, conn: Connection, counter: Counter) -> float:
        """Seconds until the counter has room (0 when it has): trims its window first."""
        window_start = models.utcnow() - timedelta(seconds=counter.limit.period)
        if conn.dialect.name == "postgresql":
            # SQLite's write transactions are serial already; PostgreSQL needs a lock per key.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": counter.key})
        conn.execute(
            delete(attempts).where(attempts.c.key == counter.key, attempts.c.at <= window_start)
        )
        count, oldest = conn.execute(
            select(func.count(), func.min(attempts.c.at)).where(attempts.c.key == counter.key)
        ).one()
        if count >= counter.limit.count and oldest is not None:
            return float((oldest - window_start).total_seconds())
        return 0.0


def _ordered(counters: Sequence[Counter]) -> list[Counter]:
    # One order for every transaction, so that two never wait for each other's key locks.
    return sorted(counters, key=lambda c: c.key)


def _record(conn: Connection, counted: Sequence[Counter]) -> None:
    if counted:
        now = models.utcnow()
        conn.execute(insert(attempts), [{"key": c.key, "at": now} for c in counted])
