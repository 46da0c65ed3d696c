"""`storekeeper db backup` and `db restore` as an operator runs them, against a live server."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path

import pytest
import requests

from storekeeper.db import migrate
from storekeeper.settings import PREFIX
from tests.e2e.live import assert_one_line_refusal, login_token, run, server_env, server_process

pytestmark = pytest.mark.slow


class Writer(threading.Thread):
    """Creates items until told to stop; remembers every one the server acknowledged."""

    def __init__(self, base: str, token: str, store: int) -> None:
        super().__init__(daemon=True)
        self.url = f"{base}/store/{store}/item"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acknowledged: list[tuple[int, str]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.failures: list[str] = []

    def run(self) -> None:
        with requests.Session() as http:
            n = 0
            while not self.stop.is_set():
                n += 1
                name = f"item {n}"
                answer = http.post(
                    self.url, json={"name": name, "price": n}, headers=self.headers, timeout=10
                )
                if answer.status_code != 201:
                    self.failures.append(f"{answer.status_code} {answer.text[:200]}")
                    continue
                with self.lock:
                    self.acknowledged.append((answer.json()["id"], name))

    def so_far(self) -> list[tuple[int, str]]:
        with self.lock:
            return list(self.acknowledged)


def _sql(path: Path, *statements: str) -> list[tuple[object, ...]]:
    """Run statements in one transaction and close: an open connection here would make a
    restore see the database as in use. The last statement's rows.
    """
    db = sqlite3.connect(path)
    try:
        with db:
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                rows = db.execute(statement).fetchall()
        return rows
    finally:
        db.close()


def _upgraded(instance: Path) -> None:
    answer = run(["db", "upgrade"], instance)
    assert answer.returncode == 0, answer.stderr


def test_backup_while_serving_writes_restores_into_a_fresh_instance(tmp_path: Path) -> None:
    live, fresh, copy = tmp_path / "live", tmp_path / "fresh", tmp_path / "backup.db"
    live.mkdir()
    _upgraded(live)
    with server_process(str(live), server_env(str(live))) as (base, _):
        token = login_token(base, "ada", "correct horse battery")
        store = requests.post(
            f"{base}/store",
            json={"name": "Corner Shop"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()["id"]
        writer = Writer(base, token, store)
        writer.start()
        try:
            # Wait for some acknowledged writes (a count, not a time), then back up with
            # the writer still going.
            while len(writer.so_far()) < 20 and not writer.failures:
                writer.stop.wait(0.05)
            before = writer.so_far()
            answer = run(["db", "backup", str(copy)], live)
            during = len(writer.so_far())
        finally:
            writer.stop.set()
            writer.join(30)
        assert not writer.failures, writer.failures[:3]
        assert answer.returncode == 0, answer.stderr
        assert "integrity_check ok" in answer.stderr
        # The server took writes while the backup ran or right after it; either way, it
        # went on serving them.
        assert during >= len(before)

        # The live database is open in the server: restoring over it is refused, unchanged.
        refused = run(["db", "restore", str(copy)], live)
        assert_one_line_refusal(refused, "in use", "stop the server first")
        assert not (live / "storekeeper.db.before-restore").exists()

    # One consistent snapshot: the writer creates items one after another, so the copy
    # holds exactly the first N it created (no gap, nothing torn), N at least those
    # acknowledged before the backup began.
    in_copy = [row[0] for row in _sql(copy, "SELECT id FROM items ORDER BY id")]
    acknowledged = [item_id for item_id, _ in writer.so_far()]
    assert len(in_copy) >= len(before)
    assert in_copy == acknowledged[: len(in_copy)]
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert _sql(copy, "PRAGMA integrity_check") == [("ok",)]
    assert _sql(copy, "PRAGMA journal_mode") == [("delete",)]

    restored = run(["db", "restore", str(copy)], fresh)
    assert restored.returncode == 0, restored.stderr
    assert "upgrade" not in restored.stderr  # the backup is at this release's revision
    with server_process(str(fresh), server_env(str(fresh))) as (base, _):
        for item_id, name in before:
            got = requests.get(f"{base}/item/{item_id}", timeout=10)
            assert got.status_code == 200, (item_id, got.text)
            assert got.json()["name"] == name
        # The restored accounts work too: the same password logs in.
        login = {"username": "ada", "password": "correct horse battery"}
        assert requests.post(f"{base}/login", json=login, timeout=10).status_code == 200


def test_restore_over_a_stopped_instance_keeps_the_old_database(tmp_path: Path) -> None:
    _upgraded(tmp_path)
    database = tmp_path / "storekeeper.db"
    _sql(database, "CREATE TABLE marks (name TEXT)", "INSERT INTO marks VALUES ('before')")
    copy = tmp_path / "backup.db"
    assert run(["db", "backup", str(copy)], tmp_path).returncode == 0
    _sql(database, "PRAGMA journal_mode=WAL")
    _sql(database, "INSERT INTO marks VALUES ('after')")
    # A stale WAL beside the database it replaces must not be replayed into the new one.
    (tmp_path / "storekeeper.db-wal").write_bytes(b"stale")

    answer = run(["db", "restore", str(copy)], tmp_path)
    assert answer.returncode == 0, answer.stderr
    assert "before-restore" in answer.stderr
    assert not (tmp_path / "storekeeper.db-wal").exists()
    assert _sql(database, "SELECT name FROM marks") == [("before",)]
    kept = tmp_path / "storekeeper.db.before-restore"
    assert _sql(kept, "SELECT name FROM marks ORDER BY name") == [("after",), ("before",)]
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600

    # A second restore would overwrite that safety copy: only with --force.
    assert_one_line_refusal(run(["db", "restore", str(copy)], tmp_path), "--force")
    assert run(["db", "restore", str(copy), "--force"], tmp_path).returncode == 0


def test_restoring_an_older_backup_says_to_upgrade(tmp_path: Path) -> None:
    assert "0001" in migrate.known_revisions() and "0001" not in migrate.head_revisions()
    older = tmp_path / "older"
    older.mkdir()
    _upgraded(older)
    _sql(older / "storekeeper.db", "UPDATE alembic_version SET version_num = '0001'")
    copy = tmp_path / "backup.db"
    assert run(["db", "backup", str(copy)], older).returncode == 0
    answer = run(["db", "restore", str(copy)], tmp_path / "fresh")
    assert answer.returncode == 0, answer.stderr
    assert answer.stderr.splitlines()[-1].endswith("run: storekeeper db upgrade")


def test_backup_refuses_to_overwrite_an_existing_file(tmp_path: Path) -> None:
    _upgraded(tmp_path)
    existing = tmp_path / "backup.db"
    existing.write_bytes(b"keep me")
    assert_one_line_refusal(run(["db", "backup", str(existing)], tmp_path), "exists", "--force")
    assert existing.read_bytes() == b"keep me"
    assert run(["db", "backup", str(existing), "--force"], tmp_path).returncode == 0
    assert existing.read_bytes().startswith(b"SQLite format 3\0")


def test_backup_of_a_missing_database_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    answer = run(["db", "backup", str(tmp_path / "backup.db")], tmp_path)
    assert_one_line_refusal(answer, "no SQLite database")
    assert not (tmp_path / "storekeeper.db").exists()
    assert not (tmp_path / "backup.db").exists()


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"not a database at all, " * 300, "not a SQLite database"),
        (None, "not a Storekeeper database"),
    ],
    ids=["random bytes", "another SQLite database"],
)
def test_restore_refuses_what_is_not_a_storekeeper_backup(
    tmp_path: Path, content: bytes | None, named: str
) -> None:
    source = tmp_path / "backup.db"
    if content is None:
        _sql(source, "CREATE TABLE notes (body TEXT)")
    else:
        source.write_bytes(content)
    instance = tmp_path / "instance"
    assert_one_line_refusal(run(["db", "restore", str(source)], instance), named)
    assert not (instance / "storekeeper.db").exists()


def test_restore_refuses_an_unknown_revision(tmp_path: Path) -> None:
    _upgraded(tmp_path)
    _sql(tmp_path / "storekeeper.db", "UPDATE alembic_version SET version_num = '9999'")
    answer = run(["db", "restore", str(tmp_path / "storekeeper.db")], tmp_path / "fresh")
    assert_one_line_refusal(answer, "9999", "does not know")


@pytest.mark.parametrize(("action", "tool"), [("backup", "pg_dump -Fc"), ("restore", "pg_restore")])
def test_postgresql_names_its_own_tool_without_the_password(
    tmp_path: Path, action: str, tool: str
) -> None:
    url = "postgresql://keeper:s3cret-password@db.example:6543/storekeeper_prod"
    answer = run(
        ["db", action, str(tmp_path / "x.dump")], tmp_path, **{PREFIX + "DATABASE_URL": url}
    )
    assert_one_line_refusal(answer, tool, "storekeeper_prod", "--host db.example", "keeper")
    assert "s3cret" not in answer.stderr
    assert not (tmp_path / "x.dump").exists()


def test_backup_and_restore_refuse_a_path_that_is_not_there(tmp_path: Path) -> None:
    _upgraded(tmp_path)
    nowhere = tmp_path / "no such folder" / "backup.db"
    assert_one_line_refusal(run(["db", "backup", str(nowhere)], tmp_path), "no folder")
    assert not nowhere.parent.exists()
    assert_one_line_refusal(run(["db", "restore", str(nowhere)], tmp_path), "no backup file")
    assert _sql(tmp_path / "storekeeper.db", "SELECT count(*) FROM alembic_version") == [(1,)]


def test_restore_replaces_a_damaged_database_and_keeps_it(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    _upgraded(source)
    copy = tmp_path / "backup.db"
    assert run(["db", "backup", str(copy)], source).returncode == 0
    instance = tmp_path / "instance"
    instance.mkdir()
    damaged = b"what a failed disk left, " * 300
    (instance / "storekeeper.db").write_bytes(damaged)
    answer = run(["db", "restore", str(copy)], instance)
    assert answer.returncode == 0, answer.stderr
    assert (instance / "storekeeper.db.before-restore").read_bytes() == damaged
    assert _sql(instance / "storekeeper.db", "SELECT count(*) FROM alembic_version") == [(1,)]
