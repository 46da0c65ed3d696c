"""The catalog's entities as plain, immutable data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")
SortField = Literal["id", "name", "price", "created_at"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a request: an authenticated user."""

    user_id: int
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class Ref:
    """A short reference to a store or a tag."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class ItemBrief:
    """An item as embedded in a store or a tag."""

    id: int
    name: str
    price: Decimal
    quantity: int


@dataclass(frozen=True, slots=True)
class Store:
    """A store, with its embedded first items and tags when read alone."""

    id: int
    name: str
    owner_id: int | None
    item_count: int
    created_at: datetime
    updated_at: datetime
    items: list[ItemBrief] = field(default_factory=list)
    tags: list[Ref] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Item:
    """An item with the store it belongs to and its tags."""

    id: int
    name: str
    price: Decimal
    quantity: int
    description: str
    store_id: int
    store: Ref
    created_at: datetime
    updated_at: datetime
    tags: list[Ref] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Tag:
    """A tag of one store, with the items it labels when read alone."""

    id: int
    name: str
    store_id: int
    items: list[ItemBrief] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ItemFields:
    """Validated item attributes as the domain stores them (price in cents)."""

    name: str
    price_cents: int
    quantity: int = 0
    description: str = ""


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One page of a list: sort, position after a key, limit and filters."""

    sort: SortField = "id"
    descending: bool = False
    limit: int = 50
    after: tuple[Any, int] | None = None
    store_id: int | None = None
    tag_id: int | None = None
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    in_stock: bool | None = None
    name: str | None = None
    q: str | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Rows of one page and the sort key to continue after, when more rows exist."""

    rows: list[T]
    next_after: tuple[Any, int] | None


@dataclass(frozen=True, slots=True)
class User:
    """An account. The password hash never leaves the server."""

    id: int
    username: str
    email: str | None
    is_admin: bool
    created_at: datetime
    password_hash: str = field(repr=False, default="")


@dataclass(frozen=True, slots=True)
class ActorState:
    """What a token's user and session look like now."""

    is_admin: bool
    revoked: bool
    # Unix second before which the user's tokens are refused (None: no such cut).
    tokens_valid_from: int | None = None

    def accepts(self, issued_at: int) -> bool:
        """Whether a token of this session issued at this Unix second is still good."""
        if self.revoked:
            return False
        return self.tokens_valid_from is None or issued_at >= self.tokens_valid_from


@dataclass(frozen=True, slots=True)
class Session:
    """The tokens of one login."""

    access_token: str
    refresh_token: str
    expires_in: int
