"""Alembic environment: runs on the engine the caller hands over."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Engine

from storekeeper.db.models import Base, UTCDateTime
from storekeeper.db.search import include_name

engine: Engine = context.config.attributes["engine"]


def render_item(kind: str, value: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Write the app's own column types as plain SQLAlchemy ones: a migration imports no app code.

    It must keep working when the models have moved on, so it names what the database holds.
    """
    if kind == "type" and isinstance(value, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
