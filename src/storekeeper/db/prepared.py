"""The hottest reads, compiled to SQL once per dialect and run on the DBAPI cursor.

SQLAlchemy's execution of a cached statement (an execution context, parameter and result
processing) costs 25 µs on SQLite and about 90 µs on PostgreSQL per statement, several
times the database's own work for a read by primary key (docs/performance.md). The few
statements every request runs (the session check, an item, a store) skip it: the SQL is
the one SQLAlchemy compiles, the parameters go straight to the driver, and the row comes
back as a mapping of column names to values, timestamps made UTC datetimes as the column
type would make them.

What SQLAlchemy's execution would have done is kept: statement events fire (the tests
count statements with them), a driver error that means the connection is gone invalidates
it and closes the idle pool (the next requests connect afresh), and an operational error
is the database being unavailable, as it is for every other statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Dialect, Select
from sqlalchemy.engine import Connection

from storekeeper.db.models import UTCDateTime, utc_datetime
from storekeeper.db.session import DatabaseUnavailable

# Compiled statements by (statement, dialect, driver); the statement is kept with them, so
# its id cannot be reused while the entry lives. Statements are module-level or cached.
_PREPARED: dict[tuple[int, str, str], tuple[Select[Any], Prepared]] = {}


class Prepared:
    """A read statement compiled once for one dialect, and where each column of its rows is."""

    __slots__ = ("_defaults", "_names", "_order", "_timestamps", "sql")

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        self.sql = compiled.string
        # Values bound when the statement was built (a LIMIT, say), then the caller's.
        self._defaults = dict(compiled.params)
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None
        columns = list(statement.selected_columns)
        self._names = tuple(statement.selected_columns.keys())
        self._timestamps = tuple(
            i for i, c in enumerate(columns) if isinstance(c.type, UTCDateTime)
        )

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters: a tuple for positional styles, else a mapping."""
        merged = {**self._defaults, **values}
        return merged if self._order is None else tuple(merged[name] for name in self._order)

    def row(self, values: tuple[Any, ...]) -> dict[str, Any]:
        """A driver's row by column name, its timestamps as the column type reads them."""
        found = dict(zip(self._names, values, strict=True))
        for i in self._timestamps:
            found[self._names[i]] = utc_datetime(values[i])
        return found


def prepare(statement: Select[Any], dialect: Dialect) -> Prepared:
    """`statement` compiled for `dialect`, once per process."""
    key = (id(statement), dialect.name, dialect.driver)
    entry = _PREPARED.get(key)
    if entry is None:
        entry = _PREPARED[key] = (statement, Prepared(statement, dialect))
    return entry[1]


def fetch_one(conn: Connection, statement: Select[Any], **values: Any) -> dict[str, Any] | None:
    """The first row of a read by column name; None when there is none."""
    prepared = prepare(statement, conn.dialect)
    parameters = prepared.parameters(values)
    dbapi_conn = conn.connection.dbapi_connection
    if dbapi_conn is None:  # pragma: no cover - a Connection always has one once connected
        raise DatabaseUnavailable("no connection")
    cursor = dbapi_conn.cursor()
    try:
        if conn.dispatch.before_cursor_execute:
            conn.dispatch.before_cursor_execute(conn, cursor, prepared.sql, parameters, None, False)
        cursor.execute(prepared.sql, parameters)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return None if row is None else prepared.row(row)
    except conn.dialect.loaded_dbapi.Error as exc:
        dbapi = conn.dialect.loaded_dbapi
        if not isinstance(exc, dbapi.OperationalError | dbapi.InterfaceError):
            raise
        if conn.dialect.is_disconnect(exc, dbapi_conn, cursor):
            conn.invalidate(exc)
            conn.engine.pool.dispose()
        raise DatabaseUnavailable(type(exc).__name__) from exc
    finally:
        cursor.close()
