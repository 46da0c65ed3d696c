"""Alembic environment: runs on the engine the caller hands over."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Engine

from storekeeper.db.models import Base, UTCDateTime
from storekeeper.db.search import is_search_object

engine: Engine = context.config.attributes["engine"]


def render_item(kind: str, value: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Write the app's own column types as plain SQLAlchemy ones: a migration imports no app code.

    It must keep working when the models have moved on, so it names what the database holds.
    """
    if kind == "type" and isinstance(value, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Compare everything but the search index: migration 0007 makes it in SQL of each
    database (an FTS5 table and its shadow tables, a generated column), which no model holds."""
    return not is_search_object(name, type_)


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
