"""`storekeeper db revision` writes the migration a model change needs, and it runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Column, String, Table, UniqueConstraint, inspect

from storekeeper import cli
from storekeeper.db import migrate
from storekeeper.db.models import Base, Id, UTCDateTime
from storekeeper.db.session import Database


@pytest.fixture
def new_table() -> Iterator[Table]:
    """A table the models gain for the length of a test (and lose again after it)."""
    table = Table(
        "trial_notes",
        Base.metadata,
        Column("id", Id, primary_key=True),
        Column("title", String(80), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        UniqueConstraint("title"),
        sqlite_autoincrement=True,
    )
    try:
        yield table
    finally:
        Base.metadata.remove(table)


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    """A copy of the shipped migrations to write into."""
    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_no_change_writes_nothing(migrations: Path) -> None:
    with pytest.raises(migrate.NothingToWrite):
        migrate.revision("nothing", migrations)
    assert sorted(p.name for p in (migrations / "versions").glob("*.py")) == sorted(
        p.name for p in (migrate.MIGRATIONS / "versions").glob("*.py")
    )


def test_a_new_table_becomes_a_numbered_portable_migration_that_runs(
    new_table: Table, migrations: Path, scratch_database: Database
) -> None:
    path = migrate.revision("add trial notes", migrations)
    number = max(int(r) for r in migrate.head_revisions()) + 1
    assert path.name == f"{number:04d}_add_trial_notes.py"
    text = path.read_text()
    assert 'op.create_table(\n        "trial_notes",' in text  # and formatted by ruff
    assert "sa.DateTime(timezone=True)" in text
    assert "storekeeper" not in text  # a migration imports no app code
    engine = scratch_database.engine
    config = migrate.alembic_config(engine, migrations)
    command.upgrade(config, "head")
    assert "trial_notes" in inspect(engine).get_table_names()
    command.check(config)  # the models, with the new table, agree with the migrations
    command.downgrade(config, "-1")
    assert "trial_notes" not in inspect(engine).get_table_names()


def test_the_command_needs_a_message_and_refuses_an_empty_change(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Settings are read first, as by every command: an instance of the test's own.
    monkeypatch.setenv("STOREKEEPER_INSTANCE_PATH", str(tmp_path / "instance"))
    assert cli.main(["db", "revision"]) == 2
    assert "needs -m MESSAGE" in capsys.readouterr().err
    assert cli.main(["db", "revision", "-m", "nothing new"]) == 2
    assert "nothing was written" in capsys.readouterr().err
