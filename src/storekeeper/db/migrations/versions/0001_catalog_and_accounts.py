"""catalog and accounts

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_key_at", ["key", "at"], unique=False)

    op.create_table(
        "revoked_sessions",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_revoked_sessions")),
    )
    with op.batch_alter_table("revoked_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revoked_sessions_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column(
            "username_key",
            sa.String(length=320).with_variant(sa.String(length=320, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column(
            "email_key",
            sa.String(length=320).with_variant(sa.String(length=320, collation="C"), "postgresql"),
            nullable=True,
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "email IS NULL OR length(email) <= 254", name=op.f("ck_users_email_length")
        ),
        sa.CheckConstraint(
            "length(username) BETWEEN 3 AND 40", name=op.f("ck_users_username_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email_key", name=op.f("uq_users_email_key")),
        sa.UniqueConstraint("username_key", name=op.f("uq_users_username_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "stores",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "name_key",
            sa.String(length=320).with_variant(sa.String(length=320, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("item_count >= 0", name=op.f("ck_stores_item_count_positive")),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 80", name=op.f("ck_stores_name_length")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_stores_owner_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("name_key", name=op.f("uq_stores_name_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.create_index("ix_stores_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_stores_name_key_id", ["name_key", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stores_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "name_key",
            sa.String(length=320).with_variant(sa.String(length=320, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(description) <= 2000", name=op.f("ck_items_description_length")),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 80", name=op.f("ck_items_name_length")),
        sa.CheckConstraint(
            "price_cents BETWEEN 0 AND 99999999999", name=op.f("ck_items_price_range")
        ),
        sa.CheckConstraint(
            "quantity BETWEEN 0 AND 2147483647", name=op.f("ck_items_quantity_range")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_items_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("id", "store_id", name=op.f("uq_items_id_store_id")),
        sa.UniqueConstraint("store_id", "name_key", name=op.f("uq_items_store_id_name_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_items_name_key_id", ["name_key", "id"], unique=False)
        batch_op.create_index("ix_items_price_cents_id", ["price_cents", "id"], unique=False)
        batch_op.create_index("ix_items_store_id_id", ["store_id", "id"], unique=False)

    op.create_table(
        "tags",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "name_key",
            sa.String(length=320).with_variant(sa.String(length=320, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 80", name=op.f("ck_tags_name_length")),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_tags_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("id", "store_id", name=op.f("uq_tags_id_store_id")),
        sa.UniqueConstraint("store_id", "name_key", name=op.f("uq_tags_store_id_name_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index("ix_tags_store_id_id", ["store_id", "id"], unique=False)

    op.create_table(
        "item_tags",
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tag_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("store_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id", "store_id"],
            ["items.id", "items.store_id"],
            name=op.f("fk_item_tags_item_id_store_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id", "store_id"],
            ["tags.id", "tags.store_id"],
            name=op.f("fk_item_tags_tag_id_store_id_tags"),
        ),
        sa.PrimaryKeyConstraint("item_id", "tag_id", name=op.f("pk_item_tags")),
    )
    with op.batch_alter_table("item_tags", schema=None) as batch_op:
        batch_op.create_index("ix_item_tags_store_id", ["store_id"], unique=False)
        batch_op.create_index("ix_item_tags_tag_id_item_id", ["tag_id", "item_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("item_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_item_tags_tag_id_item_id")
        batch_op.drop_index("ix_item_tags_store_id")

    op.drop_table("item_tags")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index("ix_tags_store_id_id")

    op.drop_table("tags")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_store_id_id")
        batch_op.drop_index("ix_items_price_cents_id")
        batch_op.drop_index("ix_items_name_key_id")
        batch_op.drop_index("ix_items_created_at_id")

    op.drop_table("items")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stores_owner_id"))
        batch_op.drop_index("ix_stores_name_key_id")
        batch_op.drop_index("ix_stores_created_at_id")

    op.drop_table("stores")
    op.drop_table("users")
    with op.batch_alter_table("revoked_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_sessions_expires_at"))

    op.drop_table("revoked_sessions")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_key_at")

    op.drop_table("login_attempts")
