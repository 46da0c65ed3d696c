"""store name skeletons

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-07

Store names that look alike are one name (docs/api.md, "Names"): `stores.name_skeleton` holds
the SHA-256 of each name's look-alike key (storekeeper/domain/names.py), under a unique
constraint. `name_key` and its constraint stay: sorting and the name filters use it.

Existing stores whose names already look alike cannot all have their plain key. The migration
does not fail on them (an upgrade that stops a deployment helps nobody): the store created
first (lowest id) keeps the plain key, and each later one gets a key of its own, the digest of
its look-alike key and its id, so it keeps working as it is. Each such store is logged with the
store it looks like, for the operator to rename; renaming it gives it the plain key of its new
name, and renaming it to another look-alike of a taken name is refused like any other.

The key is computed here by the application's own function, unlike everything else a
migration holds: the digests must be exactly what the running code computes, and a change of
that function needs a migration recomputing them in any case.

SQLite: the column is added with ALTER TABLE (a NOT NULL column needs a default there; the
models do not compare defaults), and the key's uniqueness is a unique index on both databases,
so `stores` is never rebuilt: a rebuild drops and recreates the table items and tags refer to.
"""

from __future__ import annotations

import hashlib
import sys

import sqlalchemy as sa
from alembic import op

from storekeeper.domain.names import look_alike_digest

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None

_NAME = "uq_stores_name_skeleton"


def own_digest(digest: str, store_id: int) -> str:
    """The key of a store that looked like an older one when this migration ran."""
    return hashlib.sha256(f"{digest}:{store_id}".encode()).hexdigest()


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "stores",
        sa.Column(
            "name_skeleton",
            sa.String(length=64),
            nullable=not sqlite,
            server_default="" if sqlite else None,
        ),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, name FROM stores ORDER BY id")).all()
    first: dict[str, tuple[int, str]] = {}
    for store_id, name in rows:
        digest = look_alike_digest(name)
        if digest in first:
            older_id, older_name = first[digest]
            print(
                f"storekeeper: store {store_id} {name!r} looks like store {older_id} "
                f"{older_name!r}: kept, under a key of its own; rename it",
                file=sys.stderr,
            )
            digest = own_digest(digest, store_id)
        else:
            first[digest] = (store_id, name)
        conn.execute(
            sa.text("UPDATE stores SET name_skeleton = :digest WHERE id = :id"),
            {"digest": digest, "id": store_id},
        )
    if not sqlite:
        op.alter_column("stores", "name_skeleton", nullable=False)
    op.create_index(_NAME, "stores", ["name_skeleton"], unique=True)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="stores")
    if op.get_bind().dialect.name == "sqlite":
        # Not op.drop_column, which rebuilds the table in batch mode; SQLite 3.35+ drops a
        # column in place when no index or constraint names it.
        op.execute("ALTER TABLE stores DROP COLUMN name_skeleton")
    else:
        op.drop_column("stores", "name_skeleton")
