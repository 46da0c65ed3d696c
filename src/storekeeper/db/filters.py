"""Filters several lists share: a name, compared by its key, and a text within the name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from storekeeper.domain.values import name_key


def _like(text_key: str) -> str:
    escaped = text_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def name_filters(key: ColumnElement[str], name: str | None, q: str | None) -> list[Any]:
    """An exact name (compared by its key) and a text within the name, when given."""
    found: list[Any] = []
    if name is not None:
        found.append(key == name_key(name))
    if q is not None:
        found.append(key.like(_like(name_key(q)), escape="\\"))
    return found
