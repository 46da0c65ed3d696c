"""Keyset pages: every page of a list costs the same, however deep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, literal, tuple_

from storekeeper.domain.model import PageRequest

# Each resource's sortable columns, by the sort's name in the API.
Sorts = Mapping[str, ColumnElement[Any]]


def _cursor_value(raw: Any, column: ColumnElement[Any]) -> Any:
    # A cursor carries JSON: timestamps travel as ISO text.
    if isinstance(raw, str) and column.type.python_type is datetime:
        return datetime.fromisoformat(raw)
    return raw


def keyset(
    stmt: Select[Any], sorts: Sorts, id_col: ColumnElement[int], page: PageRequest[Any]
) -> Select[Any]:
    """Order, position and limit a list query by (sort key, id), one row more than a page."""
    col = sorts[page.sort]
    cols = [id_col] if page.sort == "id" else [col, id_col]
    if page.after is not None:
        value, last_id = page.after
        if page.sort == "id":
            stmt = stmt.where(id_col < last_id if page.descending else id_col > last_id)
        else:
            left = tuple_(col, id_col)
            right = tuple_(literal(_cursor_value(value, col)), literal(last_id))
            stmt = stmt.where(left < right if page.descending else left > right)
    order = [c.desc() for c in cols] if page.descending else [c.asc() for c in cols]
    return stmt.order_by(*order).limit(page.limit + 1)


def page_of(
    rows: Sequence[Any], sorts: Sorts, page: PageRequest[Any]
) -> tuple[Sequence[Any], tuple[Any, int] | None]:
    """The page's rows, and the key to continue after when there are more."""
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    last = rows[-1]
    value = last._mapping[sorts[page.sort]]
    return rows, (value.isoformat() if isinstance(value, datetime) else value, last.id)
