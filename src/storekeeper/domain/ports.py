"""What the domain needs from persistence and its other services; other packages provide it.

A unit of work offers each repository through a typed `Slot`, declared beside the repository's
protocol (a resource's own in its domain module, as catalog.py and accounts.py do; the shared
ones here). The composition root (app.py) binds every slot to an implementation once.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from storekeeper.domain.model import Claim
from storekeeper.domain.values import RateLimit

R = TypeVar("R")


class Slot(Generic[R]):
    """The typed name of one repository in a unit of work."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


class Work(Protocol):
    """The repositories of one transaction."""

    def __getitem__(self, slot: Slot[R]) -> R: ...


class UnitsOfWork(Protocol):
    """Opens units of work: one transaction each, committed when the block ends normally."""

    def __call__(self, write: bool = False) -> AbstractContextManager[Work]: ...

    def hold(self) -> None:
        """Let the units of work opened from here on, until release(), share one connection."""
        ...

    def release(self) -> None:
        """Give back the connection hold() kept, if one was used."""
        ...


class Database(Protocol):
    """The database as a whole, for a readiness check."""

    def ping(self) -> None:
        """Raise Unavailable when the database does not answer."""
        ...


class IdempotencyKeys(Protocol):
    """Idempotency records inside one unit of work."""

    def claim(self, user_id: int, key: str, fingerprint: str) -> Claim:
        """Claim the key for a new request, or say why not (replay, in flight, other request)."""
        ...

    def complete(
        self, user_id: int, key: str, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        """Store the first answer; later retries replay it."""
        ...

    def release(self, user_id: int, key: str) -> None:
        """Forget a claim whose request bound nothing."""
        ...


IDEMPOTENCY_KEYS: Slot[IdempotencyKeys] = Slot("idempotency_keys")


@dataclass(frozen=True, slots=True)
class Counter:
    """A sliding window of attempts under one key, and how many it may hold."""

    key: str
    limit: RateLimit


class AttemptLimiter(Protocol):
    """Counts attempts per key in a sliding window, across every process and instance.

    Each call is one atomic step, and raises Unavailable when the attempts cannot be counted.
    """

    def hit(self, counted: Sequence[Counter], watched: Sequence[Counter] = ()) -> int | None:
        """Seconds to wait when any counter, counted or watched, is full (nothing recorded);
        else None, with an attempt recorded in each counted one."""
        ...

    def add(self, counted: Sequence[Counter]) -> None:
        """Record an attempt in each counter, however full."""
        ...


class PasswordHasher(Protocol):
    """Hashes and checks passwords."""

    def hash(self, password: str) -> str: ...
    def verify(self, stored: str | None, password: str) -> bool: ...
    def needs_rehash(self, stored: str) -> bool: ...


class TokenPairLike(Protocol):
    """The tokens of a new session."""

    @property
    def access(self) -> str: ...
    @property
    def refresh(self) -> str: ...


class TokenIssuer(Protocol):
    """Issues tokens."""

    access_ttl: int
    refresh_ttl: int

    def issue_pair(self, user_id: int, stamp: str) -> TokenPairLike: ...
    def issue_access(self, user_id: int, session_id: str, stamp: str) -> str: ...
