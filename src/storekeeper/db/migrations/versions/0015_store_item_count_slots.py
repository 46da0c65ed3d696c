"""store item count slots

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

A store's count of live items moves from `stores.item_count` to `store_item_counts`: one row
per store and slot, the store's count being the sum of its slots (db/catalog.py,
count_items). Every create, delete, move and restore used to update the store's own row, so
concurrent creates into one store queued on that row's lock until each committed; now each
adds its change to a slot of its own (PostgreSQL), and the `stores` row is only read.

Each store's count goes to slot 0; going down sums the slots back into the column.

SQLite cannot drop a column named by a CHECK constraint, so `stores` is rebuilt (batch mode:
copy, drop, rename). Every catalog table refers to `stores`, most with ON DELETE CASCADE, and
with foreign keys on, the DROP's implicit DELETE would empty them: foreign keys are turned
off for the migration (as SQLite's own procedure for altering a table says; the pragma only
works outside a transaction, and the application's engine runs each migration statement on
its own), and the migration runs in one transaction whose foreign keys are checked before it
commits: a failure leaves the database as it was, ready for another try. The rebuild resets
the table's AUTOINCREMENT counter to the highest id kept, so it is put back: ids of deleted
stores are not handed out again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEEP: dict[str, Any] = {"sqlite_autoincrement": True}
_CHECK = "ck_stores_item_count_positive"


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


@contextmanager
def _whole() -> Iterator[None]:
    """SQLite: foreign keys off, one transaction, foreign keys checked before it commits.

    PostgreSQL needs none of it: its ALTER TABLE keeps the rows that refer to `stores`, and
    Alembic runs the migration in a transaction.
    """
    if not _sqlite():
        yield
        return
    conn = op.get_bind()
    foreign_keys = bool(conn.exec_driver_sql("PRAGMA foreign_keys").scalar())
    if foreign_keys:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        if conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
            # Inside a transaction the pragma is a no-op; the DROP would then cascade.
            raise RuntimeError("0015 must run outside a transaction on SQLite")
    driver = conn.connection.dbapi_connection
    assert driver is not None
    own = not driver.in_transaction
    try:
        if own:
            driver.execute("BEGIN IMMEDIATE")
        # Rows some earlier write left without a parent are not this migration's to judge.
        orphans = "PRAGMA foreign_key_check"
        before = {tuple(row) for row in conn.exec_driver_sql(orphans)}
        yield
        broken = [tuple(row) for row in conn.exec_driver_sql(orphans)]
        if new := [row for row in broken if row not in before]:
            raise RuntimeError(f"0015 would leave rows without their parents: {new[:5]}")
        if own:
            driver.execute("COMMIT")
    except BaseException:
        if own and driver.in_transaction:
            driver.execute("ROLLBACK")
        raise
    finally:
        if foreign_keys:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def _rebuild_stores(change: Any) -> None:
    """Rebuild `stores` on SQLite with `change(batch_op)` applied, its id counter kept."""
    conn = op.get_bind()
    counter = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'stores'").scalar()
    with op.batch_alter_table("stores", recreate="always", table_kwargs=_KEEP) as batch_op:
        change(batch_op)
    if counter is not None:
        conn.exec_driver_sql(
            "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'stores'", (counter,)
        )


def upgrade() -> None:
    with _whole():
        op.create_table(
            "store_item_counts",
            sa.Column("store_id", _ID, nullable=False),
            sa.Column("slot", sa.SmallInteger(), nullable=False),
            sa.Column("count", sa.BigInteger(), nullable=False),
            sa.ForeignKeyConstraint(
                ["store_id"],
                ["stores.id"],
                name=op.f("fk_store_item_counts_store_id_stores"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("store_id", "slot", name=op.f("pk_store_item_counts")),
        )
        op.execute(
            "INSERT INTO store_item_counts (store_id, slot, count) "
            "SELECT id, 0, item_count FROM stores WHERE item_count <> 0"
        )
        if _sqlite():

            def drop(batch_op: Any) -> None:
                batch_op.drop_constraint(op.f(_CHECK), type_="check")
                batch_op.drop_column("item_count")

            _rebuild_stores(drop)
        else:
            op.drop_constraint(op.f(_CHECK), "stores", type_="check")
            op.drop_column("stores", "item_count")


def downgrade() -> None:
    with _whole():
        # A default for the rows there are, dropped once they hold their sums: 0014 had none.
        op.add_column(
            "stores",
            sa.Column("item_count", sa.BigInteger(), nullable=False, server_default="0"),
        )
        op.execute(
            "UPDATE stores SET item_count = COALESCE("
            "(SELECT SUM(count) FROM store_item_counts WHERE store_id = stores.id), 0)"
        )
        if _sqlite():

            def check(batch_op: Any) -> None:
                batch_op.alter_column("item_count", server_default=None)
                batch_op.create_check_constraint(op.f(_CHECK), "item_count >= 0")

            _rebuild_stores(check)
        else:
            op.alter_column("stores", "item_count", server_default=None)
            op.create_check_constraint(op.f(_CHECK), "stores", "item_count >= 0")
        op.drop_table("store_item_counts")
