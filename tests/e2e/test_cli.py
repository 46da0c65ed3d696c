"""The `storekeeper` command as an operator runs it: a subprocess, its exit code and its lines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storekeeper.settings import PREFIX, VARIABLES
from tests.e2e.live import assert_one_line_refusal, free_port, run
from tests.helpers import postgres_available, postgres_url

COMMANDS = [["serve"], ["db", "upgrade"], ["db", "check"], ["create-admin", "ada"]]


@pytest.fixture
def missing_database() -> str:
    """The URL of a database that does not exist on a PostgreSQL that answers."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable")
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
        (first_hash,) = db.execute("SELECT password_hash FROM users").fetchone()
    other = {PREFIX + "ADMIN_PASSWORD": "other password"}
    assert_one_line_refusal(
        run(["create-admin", "ADA"], tmp_path, **other), "exists already", "--reset-password"
    )
    with sqlite3.connect(tmp_path / "storekeeper.db") as db:
        assert db.execute("SELECT password_hash, tokens_valid_from FROM users").fetchall() == [
            (first_hash, None)
        ]
    reset = run(["create-admin", "ada", "--reset-password"], tmp_path, **other)
    assert reset.returncode == 0, reset.stderr
    assert "ended their sessions" in reset.stdout
    with sqlite3.connect(tmp_path / "storekeeper.db") as db:
        ((new_hash, valid_from),) = db.execute(
            "SELECT password_hash, tokens_valid_from FROM users"
        ).fetchall()
    assert new_hash != first_hash and valid_from is not None


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
