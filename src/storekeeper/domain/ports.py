"""What the domain needs from persistence and from its other services; other packages provide it.

Each repository is reached through a typed `Slot`, declared next to its protocol: the unit of
work binds every slot to an implementation in one place (the composition root, app.py), so a
new resource adds its slot here and one binding there.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from storekeeper.domain.model import (
    ActorState,
    Claim,
    Item,
    ItemChanges,
    ItemFields,
    ItemQuery,
    Page,
    Store,
    StoreQuery,
    Tag,
    TagQuery,
    User,
)

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


class Database(Protocol):
    """The database as a whole, for a readiness check."""

    def ping(self) -> None:
        """Raise Unavailable when the database does not answer."""
        ...


class CatalogRepository(Protocol):
    """Stores, items and tags inside one unit of work."""

    def list_stores(self, query: StoreQuery) -> Page[Store]: ...
    def store_detail(self, store_id: int, embed: int) -> Store | None: ...
    def store_owner(self, store_id: int) -> tuple[bool, int | None]: ...
    def lock_store(self, store_id: int) -> None: ...
    def add_store(self, name: str, owner_id: int | None) -> int: ...
    def rename_store(self, store_id: int, name: str) -> None: ...
    def delete_store(self, store_id: int) -> None: ...

    def list_items(self, query: ItemQuery) -> Page[Item]: ...
    def get_item(self, item_id: int) -> Item | None: ...
    def item_store(self, item_id: int) -> int | None: ...
    def lock_item(self, item_id: int) -> None: ...
    def add_item(self, store_id: int, fields: ItemFields, item_id: int | None = None) -> int: ...
    def update_item(self, item_id: int, changes: ItemChanges) -> None: ...
    def delete_item(self, item_id: int) -> None: ...
    def unlink_item_tags(self, item_id: int) -> None: ...

    def list_tags(self, query: TagQuery) -> Page[Tag]: ...
    def get_tag(self, tag_id: int, with_items: bool) -> Tag | None: ...
    def lock_tag(self, tag_id: int) -> None: ...
    def add_tag(self, store_id: int, name: str) -> int: ...
    def delete_tag(self, tag_id: int) -> None: ...
    def tag_in_use(self, tag_id: int) -> bool: ...
    def link(self, item_id: int, tag_id: int, store_id: int) -> bool: ...
    def unlink(self, item_id: int, tag_id: int) -> bool: ...


class AccountRepository(Protocol):
    """Users and revoked sessions inside one unit of work."""

    def add_user(
        self, username: str, email: str | None, password_hash: str, is_admin: bool
    ) -> int: ...
    def get_user(self, user_id: int) -> User | None: ...
    def lock_user(self, user_id: int) -> None: ...
    def user_by_username(self, username: str) -> User | None: ...
    def set_password_hash(self, user_id: int, password_hash: str) -> None: ...
    def set_admin(self, user_id: int, is_admin: bool) -> None: ...
    def refuse_tokens_before(self, user_id: int, unix_second: int) -> None: ...
    def owns_stores(self, user_id: int) -> bool: ...
    def delete_user(self, user_id: int) -> None: ...
    def revoke_session(self, session_id: str, user_id: int, expires_at: datetime) -> None: ...
    def actor_state(self, user_id: int, session_id: str) -> ActorState | None: ...


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


CATALOG: Slot[CatalogRepository] = Slot("catalog")
ACCOUNTS: Slot[AccountRepository] = Slot("accounts")
IDEMPOTENCY_KEYS: Slot[IdempotencyKeys] = Slot("idempotency_keys")


class LoginLimiter(Protocol):
    """Counts login attempts per key in a sliding window, across every process and instance."""

    def hit(self, keys: list[str]) -> int | None:
        """Record an attempt for each key; seconds to wait when any key is over its limit.

        Raises Unavailable when the attempts cannot be counted.
        """
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

    def issue_pair(self, user_id: int) -> TokenPairLike: ...
    def issue_access(self, user_id: int, session_id: str) -> str: ...
