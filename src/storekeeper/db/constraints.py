"""Constraint violations as the domain's errors: what each one means is declared on the table."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from storekeeper.db.models import CONFLICT, Base
from storekeeper.domain.errors import Conflict, DomainError, Invalid

_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ((?:\w+\.\w+(?:, )?)+)")


def _messages() -> tuple[dict[str, str], dict[tuple[str, tuple[str, ...]], str]]:
    """Each declared conflict (on a unique constraint or index) by constraint name (PostgreSQL
    names it) and by its table and columns (SQLite names only those)."""
    by_name: dict[str, str] = {}
    by_columns: dict[tuple[str, tuple[str, ...]], str] = {}
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            message = constraint.info.get(CONFLICT)
            if message is None:
                continue
            assert isinstance(constraint, UniqueConstraint | PrimaryKeyConstraint), constraint
            by_name[str(constraint.name)] = message
            by_columns[(table.name, tuple(c.name for c in constraint.columns))] = message
        # A unique index reports a violation as a constraint does, by its name on PostgreSQL
        # and by its columns on SQLite.
        for index in table.indexes:
            message = index.info.get(CONFLICT)
            if message is None:
                continue
            assert index.unique, index
            by_name[str(index.name)] = message
            by_columns[(table.name, tuple(c.name for c in index.columns))] = message
    return by_name, by_columns


_BY_NAME, _BY_COLUMNS = _messages()
_RACE = "The request conflicts with a concurrent change; retry it."


def domain_error(exc: IntegrityError) -> DomainError:
    """The domain's word for a constraint the database enforced."""
    said = str(exc.orig)
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None) if diag is not None else None
    if name:
        if name in _BY_NAME:
            return Conflict(_BY_NAME[name])
        if name.startswith("ck_"):
            return Invalid({}, "A value is outside its allowed range.")
        return Conflict(_RACE)
    match = _SQLITE_UNIQUE.search(said)
    if match:
        parts = [p.split(".") for p in match.group(1).split(", ")]
        key = (parts[0][0], tuple(column for _, column in parts))
        return Conflict(_BY_COLUMNS.get(key, _RACE))
    if "CHECK constraint failed" in said:
        return Invalid({}, "A value is outside its allowed range.")
    return Conflict(_RACE)


def execute(conn: Connection, statement: Any, params: Any = None) -> Any:
    """Run a write, turning constraint violations into domain errors."""
    try:
        return conn.execute(statement, params)
    except IntegrityError as exc:
        raise domain_error(exc) from None
