"""Alembic is the only way a schema is made, and the models agree with the migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from storekeeper.db import migrate
from storekeeper.db.catalog import CatalogRepository
from storekeeper.db.catalog import items as items_table
from storekeeper.db.models import Base
from storekeeper.db.search import ItemSearch
from storekeeper.db.session import Database
from storekeeper.domain.names import look_alike_digest
from storekeeper.domain.search import parse_search
from storekeeper.domain.values import name_key
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


def _add_user(conn: Any, user_id: int, name: str) -> None:
    """A user row, with the columns of the revisions these tests start from."""
    conn.execute(
        text(
            "INSERT INTO users (id, username, username_key, password_hash, is_admin, "
            "created_at, updated_at, credential_stamp) "
            "VALUES (:id, :name, :name, 'h', false, :t, :t, 's')"
        ),
        {"id": user_id, "name": name, "t": "2026-12-01 00:00:00"},
    )


def test_0007_indexes_existing_items_and_goes_down_cleanly(scratch_database: Database) -> None:
    engine = scratch_database.engine
    before = _before("0007", engine)
    migrate.upgrade(engine, before)
    with engine.begin() as conn:
        _add_user(conn, 1, "ann")
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


def test_0011_keys_existing_stores_and_keeps_look_alikes_apart(
    scratch_database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stores whose names already look alike do not stop the upgrade: the first keeps the plain
    key, the later one a key of its own, until it is renamed."""
    engine = scratch_database.engine
    before = _before("0011", engine)
    migrate.upgrade(engine, before)
    names = {1: "Corner Shop", 2: "C\u03bfrner Shop", 3: "Baker", 4: "CORNER\u200b SHOP"}
    with engine.begin() as conn:
        _add_user(conn, 1, "ann")
        for store_id, name in names.items():
            conn.execute(
                text(
                    "INSERT INTO stores (id, name, name_key, owner_id, item_count, created_at, "
                    "updated_at) VALUES (:id, :name, :key, 1, 0, :t, :t)"
                ),
                {"id": store_id, "name": name, "key": name_key(name), "t": "2026-12-01"},
            )
    capsys.readouterr()
    migrate.upgrade(engine, "0011")
    # The operator is told which stores to rename, and which store each one looks like.
    told = [line for line in capsys.readouterr().err.splitlines() if "looks like" in line]
    assert told == [
        "storekeeper: store 2 'C\u03bfrner Shop' looks like store 1 'Corner Shop': kept, under "
        "a key of its own; rename it",
        "storekeeper: store 4 'CORNER\\u200b SHOP' looks like store 1 'Corner Shop': kept, "
        "under a key of its own; rename it",
    ]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name_skeleton FROM stores")).all()
    keys: dict[int, str] = {row[0]: row[1] for row in rows}
    plain = look_alike_digest("Corner Shop")
    assert keys[1] == plain
    assert keys[3] == look_alike_digest("Baker")
    assert {keys[2], keys[4]}.isdisjoint({plain, keys[3]}) and keys[2] != keys[4]
    migrate.upgrade(engine)
    migrate.check(engine)
    # A new look-alike is refused by the database itself; the original names stay as typed.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO stores (name, name_key, name_skeleton, owner_id, "
                "created_at, updated_at) VALUES (:name, :key, :digest, 1, :t, :t)"
            ),
            {
                "name": "\u212dorner Shop",
                "key": name_key("\u212dorner Shop"),
                "digest": plain,
                "t": "2026-12-01",
            },
        )
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT id, name FROM stores")).all()) == names
    migrate.downgrade(engine, before)
    assert "name_skeleton" not in {c["name"] for c in inspect(engine).get_columns("stores")}
    migrate.upgrade(engine)
    migrate.check(engine)


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
        _add_user(conn, 1, "ann")
        # The columns a store has just before 0010 (0011's look-alike key, when it comes first).
        columns = {c["name"] for c in inspect(conn).get_columns("stores")}
        keyed = "name_skeleton" in columns
        conn.execute(
            text(
                "INSERT INTO stores (id, name, name_key, owner_id, item_count, created_at, "
                "updated_at, name_skeleton) VALUES (1, 'Shop', 'shop', 1, 2, :t, :t, :key)"
                if keyed
                else "INSERT INTO stores (id, name, name_key, owner_id, item_count, "
                "created_at, updated_at) VALUES (1, 'Shop', 'shop', 1, 2, :t, :t)"
            ),
            {**t, "key": look_alike_digest("Shop")} if keyed else t,
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


def test_0013_webhooks_keep_their_rules_and_go_with_their_store(
    scratch_database: Database,
) -> None:
    """The webhook tables' checks and cascades, on both databases; going down drops them
    and leaves the history as it was."""
    engine = scratch_database.engine
    migrate.upgrade(engine, _before("0013", engine))
    t = {"t": "2026-12-07 00:00:00"}
    with engine.begin() as conn:
        for user_id, name in ((1, "ann"), (2, "bob")):
            _add_user(conn, user_id, name)
        for store_id in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO stores (id, name, name_key, name_skeleton, owner_id, "
                    "item_count, created_at, updated_at) "
                    "VALUES (:id, :name, :name, :key, 1, 0, :t, :t)"
                ),
                {**t, "id": store_id, "name": f"shop{store_id}", "key": f"k{store_id}"},
            )
            conn.execute(
                text(
                    "INSERT INTO store_events (id, store_id, type, actor_id, resource_type, "
                    "resource_id, changes, created_at) "
                    "VALUES (:id, :id, 'store.updated', 1, 'store', :id, '{}', :t)"
                ),
                {**t, "id": store_id},
            )
    migrate.upgrade(engine, "0013")

    def hook(conn: Any, hook_id: int, store_id: int) -> None:
        conn.execute(
            text(
                "INSERT INTO webhooks (id, store_id, created_by, url, description, events, "
                "secret, enabled, created_at, updated_at) VALUES (:id, :store, 2, "
                "'https://example.com/h', '', '[\"*\"]', 'whsec_x', true, :t, :t)"
            ),
            {**t, "id": hook_id, "store": store_id},
        )

    def delivery(conn: Any, hook_id: int, event_id: int, status: str, attempt: int) -> None:
        conn.execute(
            text(
                "INSERT INTO webhook_deliveries (webhook_id, event_id, type, job_id, attempt, "
                "status, created_at) VALUES (:hook, :event, 'store.updated', 7, :attempt, "
                ":status, :t)"
            ),
            {**t, "hook": hook_id, "event": event_id, "status": status, "attempt": attempt},
        )

    with engine.begin() as conn:
        hook(conn, 1, 1)
        hook(conn, 2, 2)
        delivery(conn, 1, 1, "pending", 1)
        delivery(conn, 2, 2, "succeeded", 2)
    for status, attempt in (("lost", 1), ("pending", 0)):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            delivery(conn, 1, 1, status, attempt)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        hook(conn, 3, 99)  # no such store
    with engine.begin() as conn:
        # A store's webhooks, and their deliveries, go with it; a creator leaves a null.
        conn.execute(text("DELETE FROM store_events WHERE store_id = 1"))
        conn.execute(text("DELETE FROM stores WHERE id = 1"))
        conn.execute(text("DELETE FROM users WHERE id = 2"))
        assert conn.execute(text("SELECT id, created_by FROM webhooks")).all() == [(2, None)]
        assert conn.execute(text("SELECT webhook_id FROM webhook_deliveries")).all() == [(2,)]
        # An event's deliveries go with it.
        conn.execute(text("DELETE FROM store_events WHERE id = 2"))
        assert conn.execute(text("SELECT count(*) FROM webhook_deliveries")).scalar() == 0
    migrate.downgrade(engine, _before("0013", engine))
    tables = set(inspect(engine).get_table_names())
    assert "store_events" in tables and not tables & {"webhooks", "webhook_deliveries"}
    migrate.upgrade(engine)
    migrate.check(engine)


def test_0015_moves_each_count_to_a_slot_and_going_down_sums_them_back(
    scratch_database: Database,
) -> None:
    """Counts survive the move to slots; SQLite's rebuild of `stores` keeps every row that
    refers to a store, and its id counter; going down sums the slots into the column."""
    engine = scratch_database.engine
    before = _before("0015", engine)
    migrate.upgrade(engine, before)
    t = {"t": "2026-12-07 00:00:00"}
    with engine.begin() as conn:
        _add_user(conn, 1, "ann")
        for store_id, count in ((1, 2), (2, 0), (3, 0)):
            conn.execute(
                text(
                    "INSERT INTO stores (id, name, name_key, name_skeleton, owner_id, "
                    "item_count, created_at, updated_at) "
                    "VALUES (:id, :name, :name, :name, 1, :count, :t, :t)"
                ),
                {**t, "id": store_id, "name": f"shop{store_id}", "count": count},
            )
        for n in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO items (id, store_id, name, name_key, price_cents, quantity, "
                    "description, created_at, updated_at) "
                    "VALUES (:n, 1, :name, :name, 100, 0, '', :t, :t)"
                ),
                {**t, "n": n, "name": f"item{n}"},
            )
        conn.execute(
            text(
                "INSERT INTO tags (id, store_id, name, name_key, created_at, updated_at) "
                "VALUES (1, 1, 'wood', 'wood', :t, :t)"
            ),
            t,
        )
        conn.execute(text("INSERT INTO item_tags (item_id, tag_id, store_id) VALUES (1, 1, 1)"))
        conn.execute(text("DELETE FROM stores WHERE id = 3"))
    migrate.upgrade(engine, "0015")
    assert "item_count" not in {c["name"] for c in inspect(engine).get_columns("stores")}
    with engine.begin() as conn:
        repo = CatalogRepository(conn)
        counts = {s: getattr(repo.store_detail(s, 50), "item_count", None) for s in (1, 2)}
        assert counts == {1: 2, 2: 0}
        assert conn.execute(text("SELECT item_id, tag_id FROM item_tags")).all() == [(1, 1)]
        assert conn.execute(text("SELECT count(*) FROM items")).scalar_one() == 2
        if engine.dialect.name == "sqlite":
            counter = "SELECT seq FROM sqlite_sequence WHERE name = 'stores'"
            assert conn.execute(text(counter)).scalar_one() == 3
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        repo.count_items(1, -1)
        repo.count_items(2, 3)
    migrate.downgrade(engine, before)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, item_count FROM stores ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [(1, 1), (2, 3)]
        assert conn.execute(text("SELECT count(*) FROM item_tags")).scalar_one() == 1
    assert "store_item_counts" not in inspect(engine).get_table_names()
    # The column's check came back with it.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE stores SET item_count = -1 WHERE id = 1"))
    migrate.upgrade(engine)
    migrate.check(engine)
