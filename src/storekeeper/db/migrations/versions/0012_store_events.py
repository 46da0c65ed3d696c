"""store events

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

Version 1.1's store history (domain/events.py): one row per change of a store's data, written
in the change's transaction and never updated. Rows go with their store (ON DELETE CASCADE);
their actor becomes null when the user is deleted (ON DELETE SET NULL).

The indexes lead with the store: its history newest first ((store_id, id), read backwards:
a B-tree serves a descending scan as well as an ascending one, on both databases), and its
two filters, by type and by resource, each ending in the id so a filtered page is a range.

SQLite: a new table and its indexes only; no existing table is rebuilt (items carries the
search index's triggers).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("resource_type", sa.String(length=16), nullable=False),
        sa.Column(
            "resource_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_store_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_events_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_store_events_actor_id", "store_events", ["actor_id"])
    op.create_index("ix_store_events_store_id_id", "store_events", ["store_id", "id"])
    op.create_index(
        "ix_store_events_store_id_resource_type_resource_id_id",
        "store_events",
        ["store_id", "resource_type", "resource_id", "id"],
    )
    op.create_index("ix_store_events_store_id_type_id", "store_events", ["store_id", "type", "id"])


def downgrade() -> None:
    # Dropping the table drops its indexes with it.
    op.drop_table("store_events")
