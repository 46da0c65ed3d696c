"""Units of work over the database: one transaction, and the repositories bound to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection

from storekeeper.db.session import UNIT_DEADLINE_S, Database
from storekeeper.domain.ports import Slot

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Binding(Generic[R]):
    """Which implementation fills a repository slot, made from the transaction's connection."""

    slot: Slot[R]
    make: Callable[[Connection], R]


def bind(slot: Slot[R], make: Callable[[Connection], R]) -> Binding[R]:
    """A binding whose implementation the type checker holds to the slot's protocol."""
    return Binding(slot, make)


class SqlWork:
    """One transaction's repositories, each made on first use."""

    __slots__ = ("_conn", "_made", "_makers")

    def __init__(self, conn: Connection, makers: dict[Slot[Any], Callable[[Connection], Any]]):
        self._conn = conn
        self._makers = makers
        self._made: dict[Slot[Any], Any] = {}

    def __getitem__(self, slot: Slot[R]) -> R:
        found: R | None = self._made.get(slot)
        if found is None:
            found = self._made[slot] = self._makers[slot](self._conn)
        return found


class SqlUnitsOfWork:
    """Opens units of work on a database, with every bound repository available in each."""

    def __init__(self, database: Database, bindings: Sequence[Binding[Any]]) -> None:
        self.database = database
        self._makers: dict[Slot[Any], Callable[[Connection], Any]] = {
            b.slot: b.make for b in bindings
        }
        if len(self._makers) != len(bindings):
            raise ValueError("a repository slot is bound twice")

    @contextmanager
    def __call__(
        self, write: bool = False, deadline_s: float = UNIT_DEADLINE_S
    ) -> Iterator[SqlWork]:
        """One transaction: committed when the block ends normally, rolled back on any error;
        bounded by `deadline_s` (a request's bound unless a background job asks for more)."""
        with self.database.unit_of_work(write, deadline_s) as conn:
            yield SqlWork(conn, self._makers)

    def hold(self) -> None:
        """Share one pooled connection between the units of work of this context (a request)."""
        self.database.hold()

    def release(self) -> None:
        """Return the shared connection to the pool."""
        self.database.release()
