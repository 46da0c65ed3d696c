"""item images

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Item photos in the database: their bytes kept once per SHA-256 (image_blobs), the smaller
variants a job makes of them (image_variants), and which photo each item shows (item_images).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "image_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("byte_count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')",
            name=op.f("ck_image_blobs_content_type"),
        ),
        sa.CheckConstraint("width > 0 AND height > 0", name=op.f("ck_image_blobs_dimensions")),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_image_blobs")),
    )
    op.create_table(
        "image_variants",
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.String(length=8), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("byte_count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("size IN ('thumb', 'medium')", name=op.f("ck_image_variants_size")),
        sa.ForeignKeyConstraint(
            ["source_sha256"],
            ["image_blobs.sha256"],
            name=op.f("fk_image_variants_source_sha256_image_blobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_sha256", "size", name=op.f("pk_image_variants")),
    )
    op.create_table(
        "item_images",
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_images_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["image_blobs.sha256"],
            name=op.f("fk_item_images_sha256_image_blobs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_images")),
    )
    with op.batch_alter_table("item_images", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_images_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item_images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_images_sha256"))
    op.drop_table("item_images")
    op.drop_table("image_variants")
    op.drop_table("image_blobs")
