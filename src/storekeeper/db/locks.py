"""Row locks held to the end of a transaction."""

from __future__ import annotations

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection


def lock_row(conn: Connection, table: Table, row_id: int) -> None:
    """Hold a row until the transaction ends (SQLite's write transactions are serial already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(table.c.id).where(table.c.id == row_id).with_for_update())
