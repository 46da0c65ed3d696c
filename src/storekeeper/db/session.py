"""Engines (SQLite pragmas, PostgreSQL pool) and the unit of work: one transaction per use."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

WRITE_OPTION = "storekeeper_write"
# An unreachable database must turn into a 503 within 5 seconds: connecting, waiting for a
# pooled connection and waiting for a lock each give up well before that.
CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_MS = 4000
SQLITE_BUSY_STEP_MS = 20


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        # The database holds password hashes: its folder is for the server alone.
        Path(database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": CONNECT_TIMEOUT_S, "check_same_thread": False},
        pool_size=8,
        max_overflow=8,
        pool_timeout=CONNECT_TIMEOUT_S,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's begin event emit BEGIN itself, so writes can ask for IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            f"busy_timeout={SQLITE_BUSY_STEP_MS}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A write takes the write lock up front: a deferred transaction that reads and then
        # upgrades can fail with SQLITE_BUSY without waiting, whatever the busy timeout says.
        # Reads run in autocommit: each is one statement (embedded lists are folded into it),
        # and WAL gives every statement a consistent snapshot.
        if conn.get_execution_options().get(WRITE_OPTION, False):
            _begin_immediate(conn)

    return engine


def _begin_immediate(conn: Any) -> None:
    """BEGIN IMMEDIATE, retried in short steps until the write lock is ours or time is up.

    SQLite's own busy handler sleeps in growing steps (up to 100 ms) and is not fair between
    processes: a worker whose threads keep taking the lock starves the other one, which
    made a p99 of over a second for writes under load. A short busy timeout and our own retry
    loop keep every waiter polling at a fine grain until the 5-second deadline.
    """
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if "locked" not in str(exc.orig) or time.monotonic() > deadline:
                raise


def _postgres_engine(url: str, pool_size: int) -> Engine:
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=CONNECT_TIMEOUT_S,
        # No pre-ping: it costs a round trip on every request. A connection that turns out to
        # be dead fails its request with a 503, and SQLAlchemy then recycles the whole pool.
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} "
            f"-c lock_timeout={STATEMENT_TIMEOUT_MS}",
            # Unacknowledged data (a database host gone from the network) ends the connection.
            "tcp_user_timeout": CONNECT_TIMEOUT_S * 1000,
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 2,
        },
    )


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine for the URL, safe to use in forked worker processes."""
    engine = _sqlite_engine(url) if url.startswith("sqlite") else _postgres_engine(url, pool_size)
    ref = weakref.ref(engine)

    def _after_fork() -> None:
        # A pooled connection must never be shared by two processes.
        alive = ref()
        if alive is not None:
            alive.dispose(close=False)

    os.register_at_fork(after_in_child=_after_fork)
    return engine


class DatabaseUnavailable(Exception):
    """The database cannot be reached or is too busy to answer in time."""


# What PostgreSQL and the network say, and how to put it to an operator.
_POSTGRES_PROBLEMS = (
    ("connection refused", "nothing is listening there (connection refused); is it running?"),
    ("timeout expired", f"no answer within {CONNECT_TIMEOUT_S} s"),
    ("password authentication failed", "the password is wrong"),
    ("no password supplied", "it asks for a password and the URL has none"),
)


def connection_problem(url: str, exc: BaseException) -> str:
    """One line naming why a connection to the database failed, for an operator; no secrets.

    The URL's password is never shown: only the host, port, database and user are named.
    """
    parsed = make_url(url)
    orig = getattr(exc.__cause__, "orig", None) or getattr(exc, "orig", None) or exc
    # psycopg: "connection failed: connection to server at ..., port ... failed: FATAL:  ..."
    said = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    said = said.rsplit("failed: ", 1)[-1].removeprefix("FATAL:").strip()
    if parsed.get_backend_name() == "sqlite":
        return f"cannot open the SQLite database {parsed.database}: {said}"
    where = f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}"
    for sign, meaning in _POSTGRES_PROBLEMS:
        if sign in said.lower():
            said = meaning
            break
    else:
        if "does not exist" in said and f'database "{parsed.database}"' in said:
            said = f"{said}; create it (createdb {parsed.database}) or fix the URL"
    return f"cannot connect to {where} as user {parsed.username!r}: {said}"


class Database:
    """The engine and the transactions made from it."""

    def __init__(self, url: str, pool_size: int = 5) -> None:
        self.engine = make_engine(url, pool_size)
        # SQLite lets one writer in at a time, and a waiting writer sleeps in ever longer steps
        # (its busy handler): with many threads that makes a long tail. Queuing this process's
        # writers on a lock leaves the busy handler only the other processes to wait for.
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        self._write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        # Reads are single statements: no BEGIN/COMMIT round trips around them.
        self._read_engine = (
            self.engine
            if self.engine.dialect.name == "sqlite"
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @contextmanager
    def unit_of_work(self, write: bool) -> Iterator[Connection]:
        """One transaction: committed when the block ends normally, rolled back on any error.

        Plain Core connections: the repositories run Core statements only, and an ORM session
        around them would cost more than the reads themselves.
        """
        lock = self._write_lock if write else None
        if lock is not None and not lock.acquire(timeout=CONNECT_TIMEOUT_S):
            raise DatabaseUnavailable("write lock timeout")
        try:
            with (self._write_engine if write else self._read_engine).begin() as conn:
                yield conn
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            raise DatabaseUnavailable(type(getattr(exc, "orig", None) or exc).__name__) from exc
        finally:
            if lock is not None:
                lock.release()

    def ping(self) -> None:
        """Raise when the database does not answer."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            raise DatabaseUnavailable(type(exc).__name__) from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
