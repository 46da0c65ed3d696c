"""item trash

Revision ID: 0010
Revises: 0011
Create Date: 2026-12-07

A deleted item goes to its store's trash for 30 days: `items.deleted_at` and
`items.deleted_by` (the user, NULL once that user is deleted). An item's name is unique among
its store's live items only, so the unique constraint on (store_id, name_key) becomes a
partial unique index (`WHERE deleted_at IS NULL`) on both databases; two partial indexes
serve a store's trash list and the worker's purge.

SQLite cannot drop a table's UNIQUE constraint, so `items` is rebuilt (batch mode). That
rebuild drops the table, and with foreign keys on, SQLite's implicit DELETE of the dropped
table cascades to `item_tags` and `item_images`: both are copied aside first and put back.
It also drops the table's triggers, which keep the FTS5 search index (0007) in step: they
are made again, with the same SQL. The ids are kept, so the index itself stays valid.

Going down deletes the items in the trash (their names may be taken again by then, which the
old constraint could not hold).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEEP: dict[str, Any] = {"sqlite_autoincrement": True}
_LIVE = sa.text("deleted_at IS NULL")
_TRASHED = sa.text("deleted_at IS NOT NULL")
_OLD_UNIQUE = "uq_items_store_id_name_key"
_NEW_UNIQUE = "ux_items_store_id_name_key_live"

# 0007's triggers, word for word: a rebuilt `items` has none.
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
    "INSERT INTO items_fts (rowid, name, description) "
    "VALUES (new.id, new.name, new.description); END",
    "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts (items_fts, rowid, name, description) "
    "VALUES ('delete', old.id, old.name, old.description); END",
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF name, description ON items BEGIN "
    "INSERT INTO items_fts (items_fts, rowid, name, description) "
    "VALUES ('delete', old.id, old.name, old.description); "
    "INSERT INTO items_fts (rowid, name, description) "
    "VALUES (new.id, new.name, new.description); END",
]
# The tables whose rows reference items, as this migration was written; on SQLite every
# table referencing items is found again when it runs (_children), so a table another
# migration adds before this one (the chain is re-ordered at merges) is kept too.
_CHILDREN = ("item_tags", "item_images")


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def _children() -> list[str]:
    """Every table with a foreign key to items (SQLite): the rebuild's DROP would empty them."""
    conn = op.get_bind()
    tables = conn.execute(
        sa.text("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'items'")
    ).scalars()
    found = []
    for table in tables:
        keys = conn.execute(sa.text("SELECT * FROM pragma_foreign_key_list(:t)"), {"t": table})
        if any(row._mapping["table"] == "items" for row in keys):
            found.append(str(table))
    return found


def _keep_children() -> None:
    for table in _children():
        op.execute(f"CREATE TEMP TABLE kept_{table} AS SELECT * FROM {table}")  # noqa: S608 (names from the schema)


def _restore_children() -> None:
    for table in _children():
        # Whatever the rebuild left (nothing with foreign keys on, everything without them).
        op.execute(f"DELETE FROM {table}")  # noqa: S608 (names from the schema)
        op.execute(f"INSERT INTO {table} SELECT * FROM kept_{table}")  # noqa: S608
        op.execute(f"DROP TABLE kept_{table}")
    for trigger in _SQLITE_TRIGGERS:
        op.execute(trigger)


def _trash_indexes() -> None:
    op.create_index(
        "ix_items_trash",
        "items",
        ["store_id", "deleted_at", "id"],
        sqlite_where=_TRASHED,
        postgresql_where=_TRASHED,
    )
    op.create_index(
        "ix_items_deleted_at",
        "items",
        ["deleted_at"],
        sqlite_where=_TRASHED,
        postgresql_where=_TRASHED,
    )


def upgrade() -> None:
    deleted_at = sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True)
    deleted_by = sa.Column("deleted_by", _ID, nullable=True)
    if _sqlite():
        _keep_children()
        for trigger in ("items_fts_insert", "items_fts_delete", "items_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        with op.batch_alter_table("items", recreate="always", table_kwargs=_KEEP) as batch_op:
            batch_op.add_column(deleted_at)
            batch_op.add_column(deleted_by)
            batch_op.create_foreign_key(
                "fk_items_deleted_by_users", "users", ["deleted_by"], ["id"], ondelete="SET NULL"
            )
            batch_op.drop_constraint(_OLD_UNIQUE, type_="unique")
        _restore_children()
    else:
        op.add_column("items", deleted_at)
        op.add_column("items", deleted_by)
        op.create_foreign_key(
            "fk_items_deleted_by_users",
            "items",
            "users",
            ["deleted_by"],
            ["id"],
            ondelete="SET NULL",
        )
        op.drop_constraint(_OLD_UNIQUE, "items", type_="unique")
    op.create_index(
        _NEW_UNIQUE,
        "items",
        ["store_id", "name_key"],
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )
    _trash_indexes()


def downgrade() -> None:
    # The trash goes: its names may be taken by live items now. Its links go first (the
    # explicit order does not depend on cascades); bytes only it showed stay unreferenced.
    trashed = "SELECT id FROM items WHERE deleted_at IS NOT NULL"
    for table in _CHILDREN:
        op.execute(f"DELETE FROM {table} WHERE item_id IN ({trashed})")  # noqa: S608
    op.execute("DELETE FROM items WHERE deleted_at IS NOT NULL")
    op.drop_index("ix_items_deleted_at", "items")
    op.drop_index("ix_items_trash", "items")
    op.drop_index(_NEW_UNIQUE, "items")
    if _sqlite():
        _keep_children()
        for trigger in ("items_fts_insert", "items_fts_delete", "items_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        with op.batch_alter_table("items", recreate="always", table_kwargs=_KEEP) as batch_op:
            batch_op.create_unique_constraint(_OLD_UNIQUE, ["store_id", "name_key"])
            batch_op.drop_constraint("fk_items_deleted_by_users", type_="foreignkey")
            batch_op.drop_column("deleted_by")
            batch_op.drop_column("deleted_at")
        _restore_children()
    else:
        op.create_unique_constraint(_OLD_UNIQUE, "items", ["store_id", "name_key"])
        op.drop_constraint("fk_items_deleted_by_users", "items", type_="foreignkey")
        op.drop_column("items", "deleted_by")
        op.drop_column("items", "deleted_at")
