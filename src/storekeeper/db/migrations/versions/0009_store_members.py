"""store members

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-07

A store's team (contract "A store's team"): the users other than its owner who work on a
store, each with a role there (`manager` or `staff`). A membership goes with its store and
with its user (both ON DELETE CASCADE): deleting an account that owns no store removes its
memberships; the contract's 409 is for owned stores only. Written to follow 0007, and
re-linked after 0011 when main (0008 imports, 0011 store name skeletons) was merged into the
team branch, so the chain has one head; the lead re-links it again at the final merge.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "store_members",
        sa.Column("id", _ID, nullable=False),
        sa.Column("store_id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('manager', 'staff')", name=op.f("ck_store_members_role")),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_members_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_store_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_members")),
        sa.UniqueConstraint("store_id", "user_id", name=op.f("uq_store_members_store_id_user_id")),
    )
    with op.batch_alter_table("store_members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_store_members_user_id_store_id", ["user_id", "store_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("store_members", schema=None) as batch_op:
        batch_op.drop_index("ix_store_members_user_id_store_id")
    op.drop_table("store_members")
