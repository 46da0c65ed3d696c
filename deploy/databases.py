"""PostgreSQL databases created and dropped one way, by `make cluster`, the benchmarks and
the tests alike.

Each function takes the URL of a database on the server to work on (the maintenance
database `postgres`, say): CREATE and DROP DATABASE run outside any transaction, from a
connection to another database than the one they name.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

MAINTENANCE_DATABASE = "postgres"
CONNECT_TIMEOUT_S = 5
POSTGRES_SCHEMES = ("postgres://", "postgresql://", "postgresql+psycopg://")


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server `server_url` reaches, with its options."""
    return urlsplit(server_url)._replace(path=f"/{name}").geturl()


def database_name(url: str) -> str:
    """The database a PostgreSQL URL names (empty when it names none)."""
    return urlsplit(url).path.lstrip("/")


def create_database(server_url: str, name: str) -> None:
    """Create the empty database `name`."""
    _run(server_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name` if it exists, closing the connections still open to it."""
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    _run(server_url, statement.format(sql.Identifier(name)))


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database `url` names when it does not exist (a URL of another
    kind of database is left alone); whether it was created.
    """
    if not url.startswith(POSTGRES_SCHEMES):
        return False
    name = database_name(url)
    if not name:
        raise RuntimeError("the database URL names no database")
    server = database_url(url, MAINTENANCE_DATABASE)
    with _connect(server) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if found is not None:
        return False
    create_database(server, name)
    return True


@contextmanager
def fresh_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new database named `prefix` and a random suffix; its URL; dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    create_database(server_url, name)
    try:
        yield database_url(server_url, name)
    finally:
        drop_database(server_url, name)


def _connect(url: str) -> psycopg.Connection[TupleRow]:
    # libpq does not know SQLAlchemy's driver suffix.
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    return psycopg.connect(libpq, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)


def _run(server_url: str, statement: sql.Composed) -> None:
    with _connect(server_url) as conn:
        conn.execute(statement)
