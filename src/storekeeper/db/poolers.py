"""Connection poolers between the app and PostgreSQL (PgBouncer in transaction mode)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event


def without_prepared_statements(engine: Engine) -> None:
    """Make every new connection of `engine` run its statements unprepared.

    psycopg prepares a statement on the server once it has run 5 times on a connection. Behind
    a transaction-mode pooler, the next transaction may get another server connection, where
    that statement does not exist. The app keeps no other session state: settings go in the
    database's own defaults, and its locks are transaction-scoped (pg_advisory_xact_lock).
    """
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "connect")
    def _unprepared(dbapi_conn: Any, _record: object) -> None:
        dbapi_conn.prepare_threshold = None
