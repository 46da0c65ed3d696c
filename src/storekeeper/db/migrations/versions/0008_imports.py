"""imports

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-06

Version 1.1's CSV imports: the uploaded file waiting for its job (it may be 10 MiB, so not in
the job's JSON payload) and the outcomes of each batch an import has committed, so a run cut
short resumes where it stopped. Both go with their job; the file goes with its store too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "import_files",
        sa.Column("job_id", _ID, nullable=False),
        sa.Column("store_id", _ID, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_import_files_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_import_files_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_import_files")),
    )
    op.create_table(
        "import_batches",
        sa.Column("job_id", _ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_import_batches_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "number", name=op.f("pk_import_batches")),
    )


def downgrade() -> None:
    op.drop_table("import_batches")
    op.drop_table("import_files")
