"""Alembic is the only way a schema is made, and the models agree with the migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from storekeeper.db import migrate
from storekeeper.db.catalog import items as items_table
from storekeeper.db.models import Base
from storekeeper.db.search import ItemSearch
from storekeeper.db.session import Database
from storekeeper.domain.search import parse_search
from tests.helpers import ProvisionedDatabase


def test_models_and_migrations_agree(test_database: ProvisionedDatabase) -> None:
    database = Database(test_database.url)
    try:
        migrate.check(database.engine)
    finally:
        database.dispose()


def test_migrations_go_down_and_up_again(scratch_database: Database) -> None:
    engine = scratch_database.engine
    migrate.upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    migrate.check(engine)


def test_sqlite_tables_keep_autoincrement_through_every_migration(tmp_path: Path) -> None:
    """A table rebuilt by a batch migration loses AUTOINCREMENT unless told (0004 once did),
    and SQLite then hands the ids of deleted rows out again."""
    database = Database(f"sqlite:///{tmp_path}/fresh.db")
    try:
        migrate.upgrade(database.engine)
        with database.engine.connect() as conn:
            schema: dict[str, str] = dict(
                conn.execute(text("SELECT name, sql FROM sqlite_master")).all()
            )
    finally:
        database.dispose()
    marked = [
        name
        for name, table in Base.metadata.tables.items()
        if table.kwargs.get("sqlite_autoincrement")
    ]
    assert "users" in marked
    for name in marked:
        assert "AUTOINCREMENT" in schema[name], name


def test_0004_gives_every_existing_user_a_stamp_of_their_own(scratch_database: Database) -> None:
    engine = scratch_database.engine
    migrate.upgrade(engine, "0003")
    with engine.begin() as conn:
        for n in range(3):
            conn.execute(
                text(
                    "INSERT INTO users (username, username_key, password_hash, is_admin, "
                    "created_at, updated_at) VALUES (:u, :u, 'h', false, :t, :t)"
                ),
                {"u": f"user{n}", "t": "2026-12-01 00:00:00"},
            )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        stamps = [row[0] for row in conn.execute(text("SELECT credential_stamp FROM users"))]
    assert len(stamps) == len(set(stamps)) == 3 and all(len(s) >= 22 for s in stamps)


def _before(revision: str, engine: Any) -> str:
    """The revision a migration follows (the lead may re-chain 0007 after others)."""
    script = ScriptDirectory.from_config(migrate.alembic_config(engine))
    down = script.get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


def test_0007_indexes_existing_items_and_goes_down_cleanly(scratch_database: Database) -> None:
    engine = scratch_database.engine
    before = _before("0007", engine)
    migrate.upgrade(engine, before)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, username_key, password_hash, is_admin, "
                "created_at, updated_at, credential_stamp) "
                "VALUES (1, 'ann', 'ann', 'h', false, :t, :t, 's')"
            ),
            {"t": "2026-12-01 00:00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO stores (id, name, name_key, owner_id, item_count, created_at, "
                "updated_at) VALUES (1, 'Shop', 'shop', 1, 1, :t, :t)"
            ),
            {"t": "2026-12-01 00:00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO items (id, store_id, name, name_key, price_cents, quantity, "
                "description, created_at, updated_at) "
                "VALUES (1, 1, 'Crème chair', 'crème chair', 100, 0, 'Oak.', :t, :t)"
            ),
            {"t": "2026-12-01 00:00:00"},
        )
    migrate.upgrade(engine, "0007")
    search = ItemSearch(engine.dialect.name, items_table, parse_search("creme OA"))
    with engine.connect() as conn:
        found = conn.execute(
            select(items_table.c.id, search.score()).where(search.condition())
        ).all()
    assert [tuple(row) for row in found] == [(1, 3)]  # "creme" in the name, "oa" in the text
    migrate.downgrade(engine, before)
    names = set(inspect(engine).get_table_names())
    assert not {name for name in names if name.startswith("items_fts")}
    assert "search_vector" not in {c["name"] for c in inspect(engine).get_columns("items")}
    migrate.upgrade(engine)
    migrate.check(engine)


def test_sqlite_search_triggers_survive_every_migration(tmp_path: Path) -> None:
    """A batch migration that rebuilds `items` (copy, drop, rename) drops its triggers with
    the old table, and the search index would silently stop following the items."""
    database = Database(f"sqlite:///{tmp_path}/fresh.db")
    try:
        migrate.upgrade(database.engine)
        with database.engine.connect() as conn:
            triggers = set(
                conn.execute(
                    text(
                        "SELECT name FROM sqlite_master "
                        "WHERE type = 'trigger' AND tbl_name = 'items'"
                    )
                ).scalars()
            )
    finally:
        database.dispose()
    assert {"items_fts_insert", "items_fts_update", "items_fts_delete"} <= triggers


def test_0010_keeps_links_photos_and_search_and_going_down_empties_the_trash(
    scratch_database: Database,
) -> None:
    """SQLite rebuilds `items` in 0010: the rows that reference items, and the search
    triggers, must come through; going down drops what is in the trash."""
    engine = scratch_database.engine
    before = _before("0010", engine)
    migrate.upgrade(engine, before)
    t = {"t": "2026-12-01 00:00:00"}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, username_key, password_hash, is_admin, "
                "created_at, updated_at, credential_stamp) "
                "VALUES (1, 'ann', 'ann', 'h', false, :t, :t, 's')"
            ),
            t,
        )
        conn.execute(
            text(
                "INSERT INTO stores (id, name, name_key, owner_id, item_count, created_at, "
                "updated_at) VALUES (1, 'Shop', 'shop', 1, 2, :t, :t)"
            ),
            t,
        )
        for n, name in ((1, "Chair"), (2, "Table")):
            conn.execute(
                text(
                    "INSERT INTO items (id, store_id, name, name_key, price_cents, quantity, "
                    "description, created_at, updated_at) "
                    "VALUES (:n, 1, :name, :key, 100, 0, 'Oak.', :t, :t)"
                ),
                {**t, "n": n, "name": name, "key": name.lower()},
            )
        conn.execute(
            text(
                "INSERT INTO tags (id, store_id, name, name_key, created_at, updated_at) "
                "VALUES (1, 1, 'wood', 'wood', :t, :t)"
            ),
            t,
        )
        conn.execute(text("INSERT INTO item_tags (item_id, tag_id, store_id) VALUES (1, 1, 1)"))
    migrate.upgrade(engine, "0010")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT item_id FROM item_tags")).scalars().all() == [1]
        # The same name twice: allowed once one of them is in the trash.
        conn.execute(text("UPDATE items SET deleted_at = :t WHERE id = 2"), t)
        conn.execute(
            text(
                "INSERT INTO items (id, store_id, name, name_key, price_cents, quantity, "
                "description, created_at, updated_at) "
                "VALUES (3, 1, 'Table', 'table', 100, 0, 'Pine.', :t, :t)"
            ),
            t,
        )
    search = ItemSearch(engine.dialect.name, items_table, parse_search("pine"))
    with engine.connect() as conn:
        assert conn.execute(select(items_table.c.id).where(search.condition())).scalars().all() == [
            3
        ]
    migrate.downgrade(engine, before)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM items ORDER BY id")).scalars().all() == [1, 3]
        assert conn.execute(text("SELECT item_id FROM item_tags")).scalars().all() == [1]
    migrate.upgrade(engine)
    migrate.check(engine)
