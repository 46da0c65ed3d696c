"""user credential stamp

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Tokens name their user's credentials by a random stamp instead of a whole-second cut-off:
the cut-off could be raced by a login that read the old hash, rejected a login made in the
same second after a reset, and did nothing about a restore. Every user gets a fresh stamp, so
the tokens issued before this upgrade (which carry none) are refused: users sign in again.
"""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_users = sa.table("users", sa.column("id", sa.Integer()), sa.column("credential_stamp"))
# SQLite's batch mode copies the table into a new one made from reflection, which does not
# see AUTOINCREMENT: without this, ids of deleted users would be handed out again.
_KEEP: dict[str, Any] = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential_stamp", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.select(_users.c.id))]
    if ids:
        conn.execute(
            _users.update()
            .where(_users.c.id == sa.bindparam("user_id"))
            .values(credential_stamp=sa.bindparam("stamp")),
            [{"user_id": i, "stamp": secrets.token_urlsafe(16)} for i in ids],
        )
    with op.batch_alter_table("users", schema=None, table_kwargs=_KEEP) as batch_op:
        batch_op.alter_column(
            "credential_stamp", existing_type=sa.String(length=64), nullable=False
        )
        batch_op.drop_column("tokens_valid_from")


def downgrade() -> None:
    # The cut-off column comes back empty: every session of the new kind stays valid until
    # its tokens expire, which is what 0003 did for the users it found.
    with op.batch_alter_table("users", schema=None, table_kwargs=_KEEP) as batch_op:
        batch_op.add_column(sa.Column("tokens_valid_from", sa.BigInteger(), nullable=True))
        batch_op.drop_column("credential_stamp")
