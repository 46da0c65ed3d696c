"""Online backup and restore of the SQLite database (PostgreSQL has pg_dump and pg_restore).

A WAL database is never copied as a file: the main file alone misses every commit still in
the -wal file, and a copy taken while a checkpoint runs can be torn. sqlite3's backup API
reads the database through SQLite itself, in one read transaction, so the copy is the
database as of one commit, while the server goes on writing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storekeeper.db import migrate
from storekeeper.db.accounts import end_every_session

# A backup waits this long for a lock (a checkpoint or a restore in progress) before it gives up.
LOCK_TIMEOUT_S = 10.0
# The companions of a database file: its WAL, the WAL's index, a rollback journal.
SIDE_FILES = ("-wal", "-shm", "-journal")
BEFORE_RESTORE = ".before-restore"


class BackupRefused(Exception):
    """Why a backup or restore was not made, in one line for the operator; nothing changed."""


@dataclass(frozen=True)
class Copy:
    """A checked database file: where, how big, and its migration revision."""

    path: Path
    size: int
    revision: str


def sqlite_file(database_url: str, action: str) -> Path:
    """The SQLite database file a backup or restore works on; refused for any other database.

    For PostgreSQL the refusal names the PostgreSQL tool to run instead: never run from here,
    since the operator's pg_dump knows the password (.pgpass, PGPASSWORD) and the server's
    version, and one shelled out from here would know neither. The password is not shown.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            return Path(url.database).resolve()
        raise BackupRefused(
            f"db {action} needs a SQLite database file, not {url.database or 'memory'}"
        )
    where = f"--host {url.host or 'localhost'} --port {url.port or 5432}"
    user = f" --username {url.username}" if url.username else ""
    if action == "backup":
        raise BackupRefused(
            f"db backup is for SQLite; for PostgreSQL run: pg_dump -Fc {where}{user} "
            f"--file BACKUP.dump {url.database}"
        )
    raise BackupRefused(
        f"db restore is for SQLite; for PostgreSQL run: pg_restore --clean "
        f"--if-exists {where}{user} --dbname {url.database} BACKUP.dump, "
        "then: storekeeper db end-sessions"
    )


def _connect(path: Path, mode: str, timeout: float = LOCK_TIMEOUT_S) -> sqlite3.Connection:
    # mode=ro/rw never creates a file: a mistyped path is an error, not an empty database.
    uri = f"file:{quote(str(path))}?mode={mode}"
    return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)


@contextlib.contextmanager
def _closing(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    # sqlite3.Connection's own context manager commits; it does not close.
    try:
        yield conn
    finally:
        conn.close()


def _check(conn: sqlite3.Connection, name: Path) -> str:
    """The revision of a Storekeeper database that passes integrity_check; else BackupRefused."""
    try:
        verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if verdict != ["ok"]:
            raise BackupRefused(f"{name} fails integrity_check: {'; '.join(verdict[:3])}")
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError as exc:
        if "no such table" in str(exc):
            raise BackupRefused(
                f"{name} is not a Storekeeper database (no alembic_version)"
            ) from None
        raise BackupRefused(f"{name} is not a SQLite database: {exc}") from None
    known = migrate.known_revisions()
    if len(rows) != 1 or rows[0][0] not in known:
        found = ", ".join(str(row[0]) for row in rows) or "none"
        raise BackupRefused(
            f"{name} is at migration revision {found}, which this version of Storekeeper does "
            f"not know (it knows {', '.join(sorted(known))}); use the release that made it"
        )
    return str(rows[0][0])


def _fsync_dir(folder: Path) -> None:
    # A rename is durable only once the folder holding it is on disk.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _snapshot(source: sqlite3.Connection, folder: Path, prefix: str) -> Path:
    """A checked, self-contained copy of `source` in a new 0600 temporary file in `folder`."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o600)  # it holds password hashes, whatever the umask says
        with _closing(sqlite3.connect(tmp, isolation_level=None)) as target:
            # pages=-1: every page in one step, so in one read transaction on the source:
            # a consistent snapshot, while writers go on appending to the source's WAL.
            source.backup(target, pages=-1)
            # A single file, without a -wal beside it: readable from read-only media and
            # safe to move. The server switches it back to WAL when it opens it.
            target.execute("PRAGMA journal_mode=DELETE")
            _check(target, tmp)
        with tmp.open("rb") as written:
            os.fsync(written.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def backup(database: Path, destination: Path, force: bool = False) -> Copy:
    """Copy the live database to `destination` atomically; the copy is checked first."""
    if destination.exists() and not force:
        raise BackupRefused(f"{destination} exists already; pass --force to replace it")
    if not database.is_file():
        raise BackupRefused(f"there is no SQLite database at {database}")
    if not destination.parent.is_dir():
        raise BackupRefused(f"there is no folder {destination.parent} to write the backup in")
    try:
        with _closing(_connect(database, "rw")) as source:
            _check(source, database)
            tmp = _snapshot(source, destination.parent, f".{destination.name}.")
    except sqlite3.Error as exc:
        raise BackupRefused(f"cannot back up {database}: {exc}") from None
    try:
        if force:
            os.replace(tmp, destination)
        else:
            # A hard link fails if the name was taken since the check above, where a rename
            # would silently replace whatever took it.
            os.link(tmp, destination)
            tmp.unlink()
    except FileExistsError:
        raise BackupRefused(f"{destination} exists already; pass --force to replace it") from None
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(destination.parent)
    with _closing(_connect(destination, "ro")) as copy:
        revision = _check(copy, destination)
    return Copy(destination, destination.stat().st_size, revision)


def _end_sessions(copy: Path) -> None:
    """Refuse in `copy` every token issued before: give every user a new credential stamp.

    A backup predating the stamps (migration 0004) gets them when it is upgraded.
    """
    engine = create_engine(f"sqlite:///{copy}", poolclass=NullPool)
    try:
        with engine.begin() as conn:
            columns = {column["name"] for column in inspect(conn).get_columns("users")}
            if "credential_stamp" in columns:
                end_every_session(conn)
    finally:
        engine.dispose()


def _carry_id_counters(replaced: sqlite3.Connection, copy: Path) -> None:
    """Ids go on from the higher of the two databases' counters, never back.

    A restore otherwise hands out again the ids of the accounts, stores and items made since
    the backup, and a client holding such an id would meet someone else's resource.
    """
    try:
        counters = replaced.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
    except sqlite3.DatabaseError:
        return  # no AUTOINCREMENT table yet: nothing was handed out
    with _closing(_connect(copy, "rw")) as target:
        target.execute("BEGIN IMMEDIATE")
        for name, seq in counters:
            target.execute(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (seq, name)
            )
            if target.execute("SELECT changes()").fetchone()[0] == 0:
                target.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))
        target.execute("COMMIT")
        with copy.open("rb") as written:
            os.fsync(written.fileno())


@contextlib.contextmanager
def _sole_user(database: Path) -> Iterator[sqlite3.Connection | None]:
    """Hold `database` exclusively, or refuse because another connection has it open.

    Leaving WAL mode needs every other connection gone: SQLite answers "database is locked"
    at once when any process (a server's pooled connections) has the database open. Done,
    the WAL is checkpointed into the main file and removed; the exclusive lock then keeps
    new connections out until the swap is over. A server whose workers have not opened
    the database yet is invisible here, hence "stop the server first".
    """
    conn = _connect(database, "rw", timeout=0)
    try:
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise BackupRefused(
                    f"{database} is in use (a server has it open); stop the server first"
                ) from None
            raise BackupRefused(f"cannot open {database}: {exc}") from None
        except sqlite3.DatabaseError:
            # Not a database at all (or a damaged one): nothing to keep out while replacing.
            yield None
            return
        yield conn
    finally:
        conn.close()


def restore(source: Path, database: Path, force: bool = False) -> tuple[Copy, Path | None]:
    """Replace `database` with a checked copy of `source`; the old one is kept beside it.

    Returns the restored copy and where the database it replaced now is (None when there
    was none).
    """
    if not source.is_file():
        raise BackupRefused(f"there is no backup file at {source}")
    kept = database.with_name(database.name + BEFORE_RESTORE)
    try:
        with _closing(_connect(source, "ro")) as backup_file:
            revision = _check(backup_file, source)
            if database.exists() and kept.exists() and not force:
                raise BackupRefused(
                    f"{kept} exists already (an earlier restore); move it away or pass --force"
                )
            database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # A copy, not a move: the backup file stays as it was, and the new database is
            # a fresh file on the same file system as its final name, so the rename is atomic.
            tmp = _snapshot(backup_file, database.parent, f".{database.name}.restore.")
    except sqlite3.Error as exc:
        raise BackupRefused(f"{source} is not a SQLite database: {exc}") from None
    try:
        _end_sessions(tmp)
        if not database.exists():
            try:
                # A link, not a rename: a database a server made meanwhile is never replaced.
                os.link(tmp, database)
            except FileExistsError:
                raise BackupRefused(
                    f"{database} appeared while restoring; stop the server first"
                ) from None
            _fsync_dir(database.parent)
            return Copy(database, database.stat().st_size, revision), None
        with _sole_user(database) as replaced:
            if replaced is not None:
                _carry_id_counters(replaced, tmp)
            # The old database's WAL and index must never meet the new file: SQLite would
            # replay the old commits into it.
            for suffix in SIDE_FILES:
                database.with_name(database.name + suffix).unlink(missing_ok=True)
            kept.unlink(missing_ok=True)
            os.link(database, kept)  # the old database keeps its name until the new one has it
            os.chmod(kept, 0o600)  # password hashes, like every copy
            os.replace(tmp, database)
            _fsync_dir(database.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return Copy(database, database.stat().st_size, revision), kept
