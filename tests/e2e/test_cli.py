"""The `storekeeper` command as an operator runs it: a subprocess, its exit code and its lines."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from deploy.processes import free_port
from storekeeper.db import migrate
from storekeeper.db.session import Database
from storekeeper.settings import PREFIX, VARIABLES
from tests.e2e.live import assert_one_line_refusal, run
from tests.helpers import postgres_available, postgres_url, require

COMMANDS = [["serve"], ["db", "upgrade"], ["db", "check"], ["create-admin", "ada"]]


@pytest.fixture
def missing_database() -> str:
    """The URL of a database that does not exist on a PostgreSQL that answers."""
    require(postgres_available(), "PostgreSQL")
    return postgres_url("storekeeper_no_such_database")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unreachable_postgresql_is_one_line_naming_it(
    tmp_path: Path, command: list[str]
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/storekeeper"
    answer = run(
        command, tmp_path, **{PREFIX + "DATABASE_URL": url, PREFIX + "ADMIN_PASSWORD": "x" * 12}
    )
    assert_one_line_refusal(answer, "PostgreSQL at 127.0.0.1", "connection refused")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_database_is_one_line_naming_it(
    tmp_path: Path, command: list[str], missing_database: str
) -> None:
    answer = run(
        command,
        tmp_path,
        **{PREFIX + "DATABASE_URL": missing_database, PREFIX + "ADMIN_PASSWORD": "x" * 12},
    )
    assert_one_line_refusal(answer, '"storekeeper_no_such_database" does not exist')


@pytest.mark.parametrize(
    ("command", "named"),
    [
        (["serve", "--workers", "0"], "--workers must be between 1 and 64"),
        (["serve", "--workers", "65"], "--workers must be between 1 and 64"),
        (["db", "backup"], "db backup needs the PATH of the backup file"),
        (["db", "restore"], "db restore needs the PATH of the backup file"),
        (["db", "upgrade", "backup.db"], "db upgrade takes no PATH"),
        (["db", "check", "--force"], "db check takes no PATH"),
        (["jobs", "retry"], "jobs retry needs the ids"),
    ],
    ids=" ".join,
)
def test_a_mistaken_command_line_is_one_line_naming_it(
    tmp_path: Path, command: list[str], named: str
) -> None:
    assert_one_line_refusal(run(command, tmp_path), named)
    assert not (tmp_path / "storekeeper.db").exists()


def test_serve_refuses_a_schema_that_is_not_up_to_date(tmp_path: Path) -> None:
    assert_one_line_refusal(
        run(["serve", "--port", str(free_port())], tmp_path),
        "schema is not up to date",
        "run: storekeeper db upgrade",
    )


def test_the_worker_refuses_a_schema_that_is_not_up_to_date(tmp_path: Path) -> None:
    assert_one_line_refusal(run(["worker"], tmp_path), "schema is not up to date")


def test_the_worker_in_production_needs_the_public_url_its_links_start_with(
    tmp_path: Path,
) -> None:
    production = {PREFIX + "ENV": "production", PREFIX + "SECRET_KEY": "s" * 48}
    assert run(["db", "upgrade"], tmp_path, **production).returncode == 0
    assert_one_line_refusal(run(["worker"], tmp_path, **production), PREFIX + "PUBLIC_URL")


def test_a_bad_smtp_url_stops_the_worker_without_showing_its_password(tmp_path: Path) -> None:
    answer = run(["worker"], tmp_path, **{PREFIX + "SMTP_URL": "http://ann:hunter2-secret@mail"})
    assert_one_line_refusal(answer, PREFIX + "SMTP_URL")
    assert "hunter2-secret" not in answer.stderr


def test_a_sqlite_folder_that_cannot_be_made_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, where the database's folder would go")
    url = f"sqlite:///{tmp_path}/taken/storekeeper.db"
    answer = run(["db", "upgrade"], tmp_path, **{PREFIX + "DATABASE_URL": url})
    assert_one_line_refusal(answer, f"cannot open the SQLite database {tmp_path}/taken/")


@pytest.mark.parametrize(
    ("username", "password", "named"),
    [
        ("ada", "short", ["the password must be 8 to 128 characters long"]),
        ("ada", "x" * 129, ["the password must be 8 to 128 characters long"]),
        ("a", "long enough", []),  # too short a username: the database's rule says so
    ],
    ids=["short password", "long password", "short username"],
)
def test_create_admin_refuses_what_a_user_may_not_be(
    tmp_path: Path, username: str, password: str, named: list[str]
) -> None:
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    answer = run(["create-admin", username], tmp_path, **{PREFIX + "ADMIN_PASSWORD": password})
    assert_one_line_refusal(answer, *named)
    with sqlite3.connect(tmp_path / "storekeeper.db") as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_db_check_says_the_models_and_migrations_agree(tmp_path: Path) -> None:
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    answer = run(["db", "check"], tmp_path)
    assert answer.returncode == 0, answer.stderr
    assert answer.stderr == "storekeeper: models and migrations agree\n"


def test_db_check_on_a_schema_behind_is_one_line_and_exit_2(tmp_path: Path) -> None:
    *_, before, last = sorted(migrate.known_revisions())
    behind = Database(f"sqlite:///{tmp_path / 'storekeeper.db'}")
    try:
        migrate.upgrade(behind.engine, before)
    finally:
        behind.dispose()
    answer = run(["db", "check"], tmp_path)
    assert answer.returncode == 2, answer.stderr
    assert answer.stderr == (
        f"storekeeper: the database schema is 1 migration behind (next: {last}); "
        "run: storekeeper db upgrade\n"
    )


def test_the_sqlite_files_are_the_servers_alone_in_an_open_folder(tmp_path: Path) -> None:
    # An instance folder that exists already with 0755 (systemd's StateDirectory), umask 022.
    tmp_path.chmod(0o755)
    umask = os.umask(0o022)
    try:
        assert run(["db", "upgrade"], tmp_path).returncode == 0
    finally:
        os.umask(umask)
    with sqlite3.connect(tmp_path / "storekeeper.db") as db:  # its -wal and -shm appear
        db.execute("SELECT count(*) FROM users").fetchone()
        files = sorted(tmp_path.glob("storekeeper.db*"))
        assert [path.name for path in files][:2] == ["storekeeper.db", "storekeeper.db-shm"]
        assert {path.name: oct(path.stat().st_mode & 0o777) for path in files} == {
            path.name: "0o600" for path in files
        }


def test_db_upgrade_names_each_revision_it_applies(tmp_path: Path) -> None:
    first = run(["db", "upgrade"], tmp_path)
    assert first.returncode == 0, first.stderr
    applied = [line for line in first.stderr.splitlines() if " applied " in line]
    assert applied[0] == "storekeeper: applied 0001 (catalog and accounts)"
    assert len(applied) >= 2
    assert first.stderr.splitlines()[-1] == "storekeeper: database schema is now up to date"
    again = run(["db", "upgrade"], tmp_path)
    assert again.stderr == "storekeeper: database schema is already up to date\n"


def test_create_admin_without_a_terminal_or_a_password_is_one_line(tmp_path: Path) -> None:
    assert_one_line_refusal(run(["create-admin", "ada"], tmp_path), PREFIX + "ADMIN_PASSWORD")


def test_create_admin_refuses_an_existing_user_unless_told_to_reset(tmp_path: Path) -> None:
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    password = {PREFIX + "ADMIN_PASSWORD": "first password"}
    assert run(["create-admin", "ada"], tmp_path, **password).returncode == 0
    with sqlite3.connect(tmp_path / "storekeeper.db") as db:
        first = db.execute("SELECT password_hash, credential_stamp FROM users").fetchall()
    other = {PREFIX + "ADMIN_PASSWORD": "other password"}
    assert_one_line_refusal(
        run(["create-admin", "ADA"], tmp_path, **other), "exists already", "--reset-password"
    )
    with sqlite3.connect(tmp_path / "storekeeper.db") as db:
        assert db.execute("SELECT password_hash, credential_stamp FROM users").fetchall() == first
    reset = run(["create-admin", "ada", "--reset-password"], tmp_path, **other)
    assert reset.returncode == 0, reset.stderr
    assert "ended their sessions" in reset.stdout
    with sqlite3.connect(tmp_path / "storekeeper.db") as db:
        ((new_hash, new_stamp),) = db.execute(
            "SELECT password_hash, credential_stamp FROM users"
        ).fetchall()
    assert new_hash != first[0][0] and new_stamp != first[0][1]


def test_help_documents_options_and_the_variables_each_command_reads(tmp_path: Path) -> None:
    top = run(["--help"], tmp_path).stdout
    for variable in VARIABLES:
        assert PREFIX + variable.name in top
    for command in ("serve", "db", "create-admin"):
        assert command in top
    serve = run(["serve", "--help"], tmp_path).stdout
    for words in ("--host", "--port", "--workers", "SIGTERM", "Ctrl-C", PREFIX + "PUBLIC_URL"):
        assert words in serve
    admin = run(["create-admin", "--help"], tmp_path).stdout
    for words in ("--reset-password", PREFIX + "ADMIN_PASSWORD", PREFIX + "DATABASE_URL"):
        assert words in admin
    assert PREFIX + "PUBLIC_URL" not in admin
    db = run(["db", "--help"], tmp_path).stdout
    assert "upgrade" in db and "check" in db and PREFIX + "DATABASE_URL" in db
