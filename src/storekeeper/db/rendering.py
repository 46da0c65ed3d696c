"""Items rendered as the API's JSON by the database itself, for list pages.

A page of 50 items built as domain objects, validated and serialised by pydantic costs about
350 µs of Python on top of its query (docs/performance.md); the database writes the same
bytes while it reads the rows, and the HTTP layer joins them. The bytes are those the
response model (http/items.py's ItemOut) gives for the item: the same keys in the same
order, numbers, strings escaped alike, timestamps and exact prices as its serialiser writes
them. A test holds the two to each other on both databases, item by item.

The text is concatenated rather than made with json_object/json_build_object: PostgreSQL's
json builders put spaces after every colon and comma, and the bytes would differ.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import String, literal_column


def _quoted(dialect: str, column: str) -> str:
    """SQL for a JSON string literal of a text column."""
    return f"json_quote({column})" if dialect == "sqlite" else f"to_json({column})::text"


def _timestamp(dialect: str, column: str) -> str:
    """SQL for the JSON string of a stored UTC timestamp, as pydantic writes a datetime.

    `2026-12-01T14:33:32.000005Z`: six fraction digits unless the microseconds are 0, then
    none. SQLite keeps the naive UTC text SQLAlchemy writes (`YYYY-MM-DD HH:MM:SS.ffffff`).
    """
    if dialect == "sqlite":
        fraction = f"substr({column}, 21, 6)"
        return (
            f"'\"' || substr({column}, 1, 10) || 'T' || substr({column}, 12, 8) || "
            f"CASE WHEN length({column}) > 19 AND {fraction} <> '000000' "
            f"THEN '.' || {fraction} ELSE '' END || 'Z\"'"
        )
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"'\"' || to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN to_char({utc}, 'US') <> '000000' THEN '.' || to_char({utc}, 'US') "
        f"ELSE '' END || 'Z\"'"
    )


def _price(dialect: str, column: str) -> str:
    """SQL for the JSON number of an amount in cents: the shortest repr of the amount.

    As Money.as_json_number serialises: 10.0, 10.5, 10.05, 0.01.
    """
    cents = f"({column} % 100)"
    two = f"printf('%02d', {cents})" if dialect == "sqlite" else f"lpad({cents}::text, 2, '0')"
    tenths = f"({cents} / 10) || ''"
    return f"({column} / 100) || '.' || CASE WHEN {cents} % 10 = 0 THEN {tenths} ELSE {two} END"


def _tags(dialect: str) -> str:
    """SQL for the item's tags, {id, name} by id, as a JSON array.

    Every piece of SQL in this module is made of constant column names: nothing a client
    sends is ever part of it (hence the noqa for ruff's S608).
    """
    tag = f"'{{\"id\":' || t.id || ',\"name\":' || {_quoted(dialect, 't.name')} || '}}'"
    if dialect == "sqlite":
        return (
            f"(SELECT '[' || coalesce(group_concat(tag, ','), '') || ']' FROM ("  # noqa: S608
            f"SELECT {tag} AS tag FROM tags t JOIN item_tags it ON it.tag_id = t.id "
            "WHERE it.item_id = items.id ORDER BY t.id))"
        )
    return (
        f"(SELECT '[' || coalesce(string_agg({tag}, ',' ORDER BY t.id), '') || ']' "  # noqa: S608
        "FROM tags t JOIN item_tags it ON it.tag_id = t.id WHERE it.item_id = items.id)"
    )


@cache
def item_json(dialect: str) -> Any:
    """A column of `items JOIN stores`: each item's JSON, as ItemOut serialises it."""
    parts = [
        "'{\"id\":' || items.id",
        f"',\"name\":' || {_quoted(dialect, 'items.name')}",
        f"',\"price\":' || {_price(dialect, 'items.price_cents')}",
        "',\"quantity\":' || items.quantity",
        f"',\"description\":' || {_quoted(dialect, 'items.description')}",
        "',\"store_id\":' || items.store_id",
        '\',"store":{"id":\' || stores.id',
        f"',\"name\":' || {_quoted(dialect, 'stores.name')} || '}}'",
        f"',\"tags\":' || {_tags(dialect)}",
        f"',\"created_at\":' || {_timestamp(dialect, 'items.created_at')}",
        f"',\"updated_at\":' || {_timestamp(dialect, 'items.updated_at')} || '}}'",
    ]
    return literal_column(" || ".join(f"({part})" for part in parts), String).label("item_json")
