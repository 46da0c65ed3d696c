"""request budgets

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Version 1.1's request budgets (storekeeper/budgets.py), when no Redis is configured: one row
per client, budget and fixed window, its count added to in batches by every worker process.
A row whose window ended counts for nothing and is swept by its expiry (the index).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_budgets",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_request_budgets")),
    )
    op.create_index("ix_request_budgets_expires_at", "request_budgets", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_request_budgets_expires_at", table_name="request_budgets")
    op.drop_table("request_budgets")
