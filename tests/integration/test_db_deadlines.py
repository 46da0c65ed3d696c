"""Every wait on the database is bounded, with plain threads (psycopg's C wait; the live server's
gevent workers are tests/e2e/test_outage.py), and a connection that timed out is never reused.

No elapsed time is asserted: each unit of work runs in a thread given HANG_S to finish, far
past the contract's 5 s, so only a wait that lasts until the network comes back fails.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from storekeeper.db.session import Database, DatabaseBusy, DatabaseUnavailable, DeadlineExceeded
from storekeeper.db.turns import Turns
from tests.e2e.live import proxied_postgres_database
from tests.e2e.tcp_proxy import TcpProxy

HANG_S = 12


def _finishes(work: Callable[[], object]) -> object:
    """What `work` returns or raises, run in a thread that must end within HANG_S."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_S)
    assert not thread.is_alive(), "the database wait was not bounded"
    return outcome[0]


@pytest.fixture
def proxied() -> Iterator[tuple[TcpProxy, Database]]:
    """A Database on a fresh PostgreSQL database reached through a proxy the test can silence."""
    with proxied_postgres_database() as (proxy, url):
        database = Database(url, pool_size=2)
        try:
            yield proxy, database
        finally:
            database.dispose()


def _backend(database: Database, write: bool = False) -> int:
    with database.unit_of_work(write=write) as conn:
        pid: int = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return pid


@pytest.mark.parametrize("write", [False, True])
def test_a_silent_postgres_is_unavailable_and_its_connection_discarded(
    proxied: tuple[TcpProxy, Database], write: bool
) -> None:
    proxy, database = proxied
    before = _backend(database, write)
    proxy.silence()
    failed = _finishes(lambda: _backend(database, write))
    assert isinstance(failed, DatabaseUnavailable)
    assert not isinstance(failed, DatabaseBusy)  # a silent database is not a busy one
    assert isinstance(failed.__cause__.orig, DeadlineExceeded)  # type: ignore[union-attr]
    # A new connection while silent: the connect timeout, not a hang.
    assert isinstance(_finishes(lambda: _backend(database, write)), DatabaseUnavailable)
    proxy.restore()
    after = _finishes(lambda: _backend(database, write))
    # Served again, on a new connection: the one left mid-exchange went back to no pool.
    assert isinstance(after, int)
    assert after != before


def test_a_pool_with_every_connection_taken_says_busy_then_serves_again(
    proxied: tuple[TcpProxy, Database],
) -> None:
    _, database = proxied
    pool = database.engine.pool
    assert isinstance(pool, QueuePool)
    # Every connection the pool may open (no overflow), held by "others" outside the turns.
    held = [database.engine.connect() for _ in range(pool.size())]
    try:
        failed = _finishes(lambda: _backend(database))
        assert isinstance(failed, DatabaseBusy)
        assert "busy" in failed.detail
        assert isinstance(_finishes(database.ping), DatabaseBusy)
    finally:
        for conn in held:
            conn.close()
    assert isinstance(_finishes(lambda: _backend(database)), int)


def test_writes_behind_this_process_other_writer_say_busy(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'busy.db'}")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with database.unit_of_work(write=True):
            holding.set()
            release.wait(HANG_S)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert holding.wait(HANG_S)

        def write() -> object:
            with database.unit_of_work(write=True) as conn:
                return conn.execute(text("SELECT 1")).scalar_one()

        failed = _finishes(write)
        assert isinstance(failed, DatabaseBusy)
        assert failed.reason == "another request held the write lock"
    finally:
        release.set()
        holder.join(HANG_S)
        database.dispose()


def test_a_slow_statement_is_cancelled_by_the_server_and_the_connection_kept(
    proxied: tuple[TcpProxy, Database],
) -> None:
    _, database = proxied
    before = _backend(database)

    def sleep() -> object:
        with database.unit_of_work(write=False) as conn:
            return conn.execute(text("SELECT pg_sleep(10)")).scalar()

    failed = _finishes(sleep)
    # statement_timeout is shorter than the client's deadline: the server answers, in time.
    assert isinstance(failed, DatabaseUnavailable)
    assert isinstance(failed.__cause__.orig, psycopg.errors.QueryCanceled)  # type: ignore[union-attr]
    assert _backend(database) == before


def test_sqlite_writes_wait_a_bounded_time_for_another_process_lock(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    database = Database(f"sqlite:///{path}")
    try:
        with database.unit_of_work(write=True) as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        # Another connection stands for another worker process holding the write lock.
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:

            def write() -> object:
                with database.unit_of_work(write=True) as conn:
                    return conn.execute(text("INSERT INTO t VALUES (1)")).rowcount

            def read() -> object:
                with database.unit_of_work(write=False) as conn:
                    return conn.execute(text("SELECT count(*) FROM t")).scalar_one()

            # Held by someone else, not broken: the client is told the database is busy.
            assert isinstance(_finishes(write), DatabaseBusy)
            assert _finishes(read) == 0  # WAL: readers never wait for the writer
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert _finishes(write) == 1
    finally:
        database.dispose()


def test_a_first_write_waits_for_its_turn_before_it_takes_the_write_lock(tmp_path: Path) -> None:
    """Request A holds the one turn and will write next; request B's first unit is a write.
    B must not hold the write lock while it waits for A's turn, or each waits for the other."""
    database = Database(f"sqlite:///{tmp_path / 'turns.db'}")
    database._turns = Turns(1)  # every turn but one taken by requests elsewhere
    with database.unit_of_work(write=True) as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    a_has_turn = threading.Event()

    def insert(value: int) -> None:
        with database.unit_of_work(write=True) as conn:
            conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})

    def request_a() -> object:
        database.hold()
        try:
            with database.unit_of_work(write=False) as conn:  # its session check: a turn
                conn.execute(text("SELECT 1"))
            a_has_turn.set()
            while database._turns.waiting == 0:  # B is in line
                threading.Event().wait(0.001)
            insert(1)
            return "written"
        finally:
            database.release()

    def request_b() -> object:
        assert a_has_turn.wait(HANG_S)
        database.hold()
        try:
            insert(2)
            return "written"
        finally:
            database.release()

    outcomes: dict[str, object] = {}

    def run(name: str, work: Callable[[], object]) -> None:
        try:
            outcomes[name] = work()
        except Exception as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(target=run, args=(name, work), daemon=True)
        for name, work in (("A", request_a), ("B", request_b))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_S)
    try:
        assert outcomes == {"A": "written", "B": "written"}
        with database.unit_of_work(write=False) as conn:
            assert conn.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [1, 2]
    finally:
        database.dispose()
