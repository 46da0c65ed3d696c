"""Engines (SQLite pragmas, PostgreSQL pool) and the unit of work: one transaction per use."""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.abc import PQGen
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import QueuePool

from storekeeper.db.turns import Turns
from storekeeper.domain.errors import Unavailable

WRITE_OPTION = "storekeeper_write"
# The contract: a database that refuses, is too busy, or stops answering without closing the
# connection makes a request a 503 within 5 seconds. Every wait has its own bound, and the
# bounds of one unit of work add up to less than that (docs/reliability.md):
# - the whole unit of work (every statement, COMMIT and ROLLBACK, on the client's clock),
UNIT_DEADLINE_S = 4.0
# - waiting for a pooled connection, and opening a new one (libpq's smallest timeout): the two
#   together fit in the unit's deadline, which then leaves the statements no time at all,
POOL_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 2
# - SQLite: waiting behind this process's other writers (BEGIN IMMEDIATE, which waits for the
#   other processes, runs until the unit's deadline),
WRITE_LOCK_TIMEOUT_S = 2.0
# - PostgreSQL's own bound on a statement and a lock wait, shorter than the client's: when the
#   server answers, it cancels the statement itself and the connection stays usable.
STATEMENT_TIMEOUT_MS = 3000
# SQLite waits for a lock inside its C code, which a gevent worker cannot switch away from: the
# wait is kept short, and the waiter pauses cooperatively between its tries (_begin_immediate).
SQLITE_BUSY_STEP_MS = 2
SQLITE_RETRY_PAUSE_S = 0.002
# The connections a SQLite pool keeps open: as many of a worker's requests may use the
# database at once, the others wait their turn (turns.py).
SQLITE_CONNECTIONS = 16

# When the current unit of work must be over (time.monotonic()); None outside one. A context
# variable, so it is per thread and per greenlet alike.
_deadline: ContextVar[float | None] = ContextVar("storekeeper_db_deadline", default=None)


class _Held:
    """The one pooled connection a request's units of work share, checked out on first use."""

    __slots__ = ("conn",)

    def __init__(self) -> None:
        # Checked out after a turn (Database._turns), which release() gives back with it.
        self.conn: Connection | None = None


_held: ContextVar[_Held | None] = ContextVar("storekeeper_db_held", default=None)
_RV = TypeVar("_RV")


@contextmanager
def _bounded(seconds: float = UNIT_DEADLINE_S) -> Iterator[float]:
    """Give the database work in this block `seconds` (UNIT_DEADLINE_S unless a background job
    asks for longer); a nested block keeps the outer's."""
    outer = _deadline.get()
    if outer is not None:
        yield outer
        return
    deadline = time.monotonic() + seconds
    token = _deadline.set(deadline)
    try:
        yield deadline
    finally:
        _deadline.reset(token)


class DeadlineExceeded(psycopg.OperationalError):
    """The database did not answer before the unit of work's deadline; the connection is closed."""


class _BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every wait on the server ends at the unit's deadline.

    PostgreSQL's statement_timeout only helps when the server answers, and TCP keepalives or
    tcp_user_timeout only when the network stops acknowledging: a silent proxy or a peer
    whose kernel acknowledges but whose server never answers leaves the client waiting
    forever. psycopg consumes every protocol exchange (execute, fetch, commit, rollback)
    through this method, in its C wait under threads and its cooperative one under gevent,
    and both honour a timeout; measured in docs/reliability.md.
    """

    def wait(self, gen: PQGen[_RV], interval: float = 0.1, timeout: float | None = None) -> _RV:
        deadline = _deadline.get()
        if deadline is not None:
            left = max(0.0, deadline - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        try:
            return super().wait(gen, interval, timeout)
        except psycopg.errors._WaitTimeout as exc:
            # Half a protocol exchange is on the wire: the connection cannot serve anyone
            # again. Closed, psycopg reports it so, and SQLAlchemy discards it (and the pool's
            # other connections, made before the failure) instead of pooling it again. No
            # cancel request: it would wait on the same silent network; the server's
            # statement_timeout ends the statement there.
            self.pgconn.finish()
            raise DeadlineExceeded(
                f"the database did not answer within {UNIT_DEADLINE_S:g} s"
            ) from exc


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        # The database holds password hashes: its folder and file are for the server alone.
        # The folder may exist already with wider rights (systemd's StateDirectory is 0755),
        # so the file is made 0600 before SQLite creates it with the umask's; SQLite gives
        # its -wal and -shm files the database file's mode.
        Path(database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(database, os.O_RDONLY | os.O_CREAT, 0o600))
    engine = create_engine(
        url,
        connect_args={"timeout": CONNECT_TIMEOUT_S, "check_same_thread": False},
        pool_size=SQLITE_CONNECTIONS,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_S,
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
    loop keep every waiter polling at a fine grain until the unit of work's deadline, and
    the pauses between tries let a gevent worker serve its other requests.
    """
    deadline = _deadline.get() or time.monotonic() + UNIT_DEADLINE_S
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if "locked" not in str(exc.orig) or time.monotonic() > deadline:
                raise
        # Under gevent, a cooperative sleep: the worker's other requests run meanwhile.
        time.sleep(SQLITE_RETRY_PAUSE_S)


def _postgres_engine(url: str, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        # Twice the setting, kept open: with overflow connections, each one returned while
        # the pool held its size idle was closed, and the next request opened a new one (a
        # server process forked and authenticated); under a crowd, with requests taking turns,
        # that churn cost a third of the throughput (docs/performance.md).
        pool_size=2 * pool_size,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_S,
        # No pre-ping: it costs a round trip on every request. A connection that turns out to
        # be dead fails its request with a 503, and SQLAlchemy then recycles the whole pool.
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} "
            f"-c lock_timeout={STATEMENT_TIMEOUT_MS}",
            # Unacknowledged data (a database host gone from the network) ends the connection,
            # and keepalives find an idle pooled connection whose peer is gone, before the
            # deadline would. Neither helps when the peer's kernel still acknowledges.
            "tcp_user_timeout": CONNECT_TIMEOUT_S * 1000,
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 2,
        },
    )

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: object, _record: object, cargs: Any, cparams: Any) -> Any:
        # What psycopg.connect() would make, with waits bounded by the unit's deadline.
        return _BoundedConnection.connect(*cargs, **cparams)

    return engine


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


@contextmanager
def _transaction(conn: Connection) -> Iterator[Connection]:
    with conn.begin():
        yield conn


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached or does not answer in time (a 503 for a client)."""

    said = "The database is unavailable; retry shortly."

    def __init__(self, reason: str) -> None:
        super().__init__(self.said, reason)

    def __str__(self) -> str:
        return self.reason


class DatabaseBusy(DatabaseUnavailable):
    """The database answers, but every way in stayed taken by other requests for longer than a
    request may wait: no pooled connection came free, or other writes held the write lock."""

    said = "The database is busy with other requests; retry shortly."


def _unavailable(exc: Exception) -> DatabaseUnavailable:
    """What a failed wait on the database means to a client: busy, or unavailable."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(exc, PoolTimeout):
        return DatabaseBusy("no pooled connection came free")
    # SQLite's busy timeout ran out while another process held the write lock.
    if str(orig).startswith("database is locked"):
        return DatabaseBusy("another process held the write lock")
    return DatabaseUnavailable(type(orig).__name__)


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
        # A request's connection waits its turn (turns.py), one a pooled connection; a pool
        # of another kind (none here) has no bound to wait for.
        pool = self.engine.pool
        self._turns = Turns(pool.size() if isinstance(pool, QueuePool) else sys.maxsize)
        self._write_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        # Reads are single statements: no BEGIN/COMMIT round trips around them.
        self._read_engine = (
            self.engine
            if self.engine.dialect.name == "sqlite"
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    def hold(self) -> None:
        """From now until release(), this context's units of work share one pooled connection.

        A request's session check, idempotency claim and use case each run a unit of work;
        a pool checkout and return for each cost more than a read's statement on SQLite
        (docs/performance.md). The connection is checked out by the first unit of work, so
        a request that never reaches the database holds none.
        """
        _held.set(_Held())

    def release(self) -> None:
        """Return the held connection, if any, to the pool."""
        held = _held.get()
        _held.set(None)
        if held is not None and held.conn is not None:
            try:
                held.conn.close()
            finally:
                self._turns.give_back()

    def _connect(self, write: bool) -> AbstractContextManager[Connection]:
        """A transaction on the held connection (checked out now if it was not), or on a
        connection of its own (checked out when the transaction begins)."""
        held = _held.get()
        if held is None or (held.conn is not None and held.conn.in_transaction()):
            return (self._write_engine if write else self._read_engine).begin()
        if held.conn is None:
            if not self._turns.take(POOL_TIMEOUT_S):
                raise DatabaseBusy("no pooled connection came free")
            try:
                held.conn = self.engine.connect()
            except BaseException:
                self._turns.give_back()
                raise
        conn = held.conn
        if self.engine.dialect.name == "sqlite":
            conn.execution_options(**{WRITE_OPTION: write})
        else:
            conn.execution_options(
                isolation_level=conn.default_isolation_level if write else "AUTOCOMMIT"
            )
        return _transaction(conn)

    @contextmanager
    def unit_of_work(
        self, write: bool, deadline_s: float = UNIT_DEADLINE_S
    ) -> Iterator[Connection]:
        """One transaction: committed when the block ends normally, rolled back on any error.

        Plain Core connections: the repositories run Core statements only, and an ORM session
        around them would cost more than the reads themselves. `deadline_s` bounds the whole
        transaction; only the worker asks for more than a request's (an atomic import).
        """
        with _bounded(deadline_s) as deadline:
            # A request's first unit takes its turn and connection here, before the write
            # lock: a writer holding the lock while it waited for a turn would wait for
            # requests that hold turns and wait for the lock.
            try:
                transaction = self._connect(write)
            except (OperationalError, InterfaceError, PoolTimeout) as exc:
                raise _unavailable(exc) from exc
            lock = self._write_lock if write else None
            wait = min(WRITE_LOCK_TIMEOUT_S, deadline - time.monotonic())
            if lock is not None and not lock.acquire(timeout=max(0.0, wait)):
                raise DatabaseBusy("another request held the write lock")
            try:
                with transaction as conn:
                    yield conn
            except (OperationalError, InterfaceError, PoolTimeout) as exc:
                raise _unavailable(exc) from exc
            finally:
                if lock is not None:
                    lock.release()

    def ping(self) -> None:
        """Raise when the database does not answer (within the same bounds as a request)."""
        try:
            with _bounded(), self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (OperationalError, InterfaceError, PoolTimeout) as exc:
            raise _unavailable(exc) from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
