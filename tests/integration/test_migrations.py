"""Alembic is the only way a schema is made, and the models agree with the migrations."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import inspect

from storekeeper.db import migrate
from storekeeper.db.models import Base
from storekeeper.db.session import Database
from tests.helpers import ProvisionedDatabase, create_postgres, drop_postgres


def test_models_and_migrations_agree(test_database: ProvisionedDatabase) -> None:
    database = Database(test_database.url)
    try:
        migrate.check(database.engine)
    finally:
        database.dispose()


def test_migrations_go_down_and_up_again(
    test_database: ProvisionedDatabase, tmp_path: Path
) -> None:
    # A scratch database of the same backend, so the session's database is left untouched.
    name = f"storekeeper_scratch_{secrets.token_hex(4)}"
    if test_database.backend == "sqlite":
        url = f"sqlite:///{tmp_path}/scratch.db"
    else:
        url = create_postgres(name)
    database = Database(url)
    try:
        migrate.upgrade(database.engine)
        assert set(Base.metadata.tables) <= set(inspect(database.engine).get_table_names())
        migrate.downgrade(database.engine, "base")
        assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(database.engine)
        migrate.check(database.engine)
    finally:
        database.dispose()
        if test_database.backend == "postgresql":
            drop_postgres(name)
