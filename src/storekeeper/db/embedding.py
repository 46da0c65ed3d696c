"""Embedded lists: rows folded into one JSON column by the database, and read back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Select, Table, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from storekeeper.domain.model import ItemBrief, Ref
from storekeeper.domain.values import Money


def json_rows(dialect: str, rows: Select[Any], keys: Sequence[str], outer: Table) -> Any:
    """A scalar subquery folding the rows of an ordered query, correlated to `outer`, into JSON.

    It lets one statement carry a resource and its embedded lists, so a single-resource read
    is one statement and a list page is one statement, whatever its size. The correlation is
    explicit: SQLAlchemy does not correlate through a derived table by itself, and would
    otherwise add `outer` to the inner FROM (every row would get every row's list).
    """
    sub = rows.correlate(outer).subquery()
    pairs: list[Any] = []
    for key in keys:
        pairs += [literal_column(f"'{key}'"), sub.c[key]]
    if dialect == "postgresql":
        folded = func.json_agg(aggregate_order_by(func.json_build_object(*pairs), sub.c.id))
        return select(func.coalesce(folded, literal_column("'[]'::json"))).scalar_subquery()
    return select(func.json_group_array(func.json_object(*pairs))).scalar_subquery()


def _embedded(value: Any) -> list[dict[str, Any]]:
    """An embedded JSON array: text on SQLite, already decoded by psycopg on PostgreSQL."""
    if value is None:
        return []
    decoded: list[dict[str, Any]] = orjson.loads(value) if isinstance(value, str | bytes) else value
    return decoded


def refs(value: Any) -> list[Ref]:
    """Embedded {id, name} objects."""
    return [Ref(e["id"], e["name"]) for e in _embedded(value)]


# The keys json_rows folds for each embedded item, as briefs reads them back.
BRIEF_KEYS = ("id", "name", "price_cents", "quantity")


def briefs(value: Any) -> list[ItemBrief]:
    """Embedded items, folded with BRIEF_KEYS."""
    return [
        ItemBrief(e["id"], e["name"], Money(e["price_cents"]), e["quantity"])
        for e in _embedded(value)
    ]
