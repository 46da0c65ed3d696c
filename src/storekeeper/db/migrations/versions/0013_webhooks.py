"""webhooks

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Version 1.1's webhooks (domain/webhooks.py): a store's subscriptions to its events, and one
row per attempt to deliver one. Webhooks go with their store (ON DELETE CASCADE), their
creator becomes null when the user is deleted (ON DELETE SET NULL); deliveries go with their
webhook and with their event. A delivery's job_id is no reference: finished jobs are purged.

SQLite: new tables and their indexes only; no existing table is rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("store_id", _ID, nullable=False),
        sa.Column("created_by", _ID, nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("previous_secret", sa.String(length=128), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=16), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sending_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(url) BETWEEN 1 AND 2048", name=op.f("ck_webhooks_url_length")),
        sa.CheckConstraint(
            "length(description) <= 200", name=op.f("ck_webhooks_description_length")
        ),
        sa.CheckConstraint(
            "disabled_reason IS NULL OR disabled_reason IN ('gone', 'failing')",
            name=op.f("ck_webhooks_disabled_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_webhooks_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_webhooks_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_webhooks_created_by", "webhooks", ["created_by"])
    op.create_index("ix_webhooks_store_id_id", "webhooks", ["store_id", "id"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("webhook_id", _ID, nullable=False),
        sa.Column("event_id", _ID, nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("job_id", _ID, nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.CheckConstraint("attempt >= 1", name=op.f("ck_webhook_deliveries_attempt_positive")),
        sa.CheckConstraint(
            "error IS NULL OR length(error) <= 500", name=op.f("ck_webhook_deliveries_error_length")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["store_events.id"],
            name=op.f("fk_webhook_deliveries_event_id_store_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_webhook_deliveries_created_at", "webhook_deliveries", ["created_at"])
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])
    op.create_index("ix_webhook_deliveries_job_id", "webhook_deliveries", ["job_id"])
    op.create_index(
        "ix_webhook_deliveries_status_next_attempt_at",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
    )
    op.create_index(
        "ix_webhook_deliveries_webhook_id_id", "webhook_deliveries", ["webhook_id", "id"]
    )


def downgrade() -> None:
    # Deliveries first: they refer to webhooks. Dropping a table drops its indexes with it.
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
