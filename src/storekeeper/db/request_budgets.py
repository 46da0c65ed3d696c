"""The request budgets' shared counts in the database (storekeeper/budgets.py batches them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from storekeeper.db import models
from storekeeper.db.session import Database
from storekeeper.domain.budgets import Tally

budgets: Table = cast(Table, models.RequestBudget.__table__)


class SqlBudgetStore:
    """Counts per tally, each sync one write transaction (rows locked in one order)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def sync(
        self, adds: Mapping[Tally, int], take: Sequence[tuple[Tally, int]] = ()
    ) -> tuple[bool, dict[str, int]]:
        """Add each count; then one more to every `take` tally when all are under their limit."""
        tallies = {t.key: t for t in adds} | {t.key: t for t, _ in take}
        counts = {t.key: n for t, n in adds.items()}
        with self.database.unit_of_work(write=True) as conn:
            if conn.dialect.name == "postgresql":
                # Counts lost in a crash cost nothing: the commit need not wait for the disk.
                conn.execute(text("SET LOCAL synchronous_commit = off"))
            # One order for every transaction, so that two never wait for each other's rows.
            totals = {key: _add(conn, tallies[key], counts.get(key, 0)) for key in sorted(tallies)}
            if not take or any(totals[t.key] >= limit for t, limit in take):
                return not take, totals
            for tally, _ in take:
                conn.execute(
                    update(budgets)
                    .where(budgets.c.key == tally.key)
                    .values(count=budgets.c.count + 1)
                )
                totals[tally.key] += 1
            return True, totals

    def sweep(self, now: int) -> None:
        """Delete the rows of windows that ended before `now`."""
        with self.database.unit_of_work(write=True) as conn:
            conn.execute(delete(budgets).where(budgets.c.expires_at < now))


def _add(conn: Connection, tally: Tally, count: int) -> int:
    """Add `count` to the tally's row (made when missing, locked until the commit): its total."""
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(budgets).values(key=tally.key, count=count, expires_at=tally.expires)
    statement = statement.on_conflict_do_update(
        index_elements=[budgets.c.key], set_={"count": budgets.c.count + count}
    ).returning(budgets.c.count)
    total: int = conn.execute(statement).scalar_one()
    return total
