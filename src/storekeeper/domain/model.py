"""The catalog's entities as plain, immutable data."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import Enum
from typing import Any, Generic, Literal, TypeVar

from storekeeper.domain.search import SearchTerms
from storekeeper.domain.values import Money

T = TypeVar("T")
StoreSort = Literal["id", "name", "created_at"]
# "relevance" only with a search (domain/search.py), and only highest first.
ItemSort = Literal["id", "name", "price", "created_at", "relevance"]
TagSort = StoreSort
# A store's trash is listed newest deletion first by default (the one just deleted on top).
TrashSort = Literal["deleted_at", "id"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a request: an authenticated user, and the request's id (X-Request-ID) that
    the history records with each change they make (domain/events.py)."""

    user_id: int
    is_admin: bool = False
    request_id: str | None = None


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
    price: Money
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
class ItemImage:
    """An item's photo as the item shows it: where to fetch it, and what it is.

    `sha256` names the stored bytes (content-addressed), so it is also the photo's strong ETag
    and the version in its URLs: a URL that carries it never names other bytes, which lets
    caches keep it for good (http/photos.py).
    """

    item_id: int
    sha256: str
    content_type: str
    width: int
    height: int
    bytes: int

    @property
    def etag(self) -> str:
        """The strong ETag of the full photo."""
        return f'"{self.sha256}"'

    @property
    def url(self) -> str:
        """The full photo, at this version."""
        return f"/item/{self.item_id}/image?v={self.sha256}"

    @property
    def thumbnail_url(self) -> str:
        """The thumbnail (at most 256 px), at this version of the photo."""
        return f"/item/{self.item_id}/image?size=thumb&v={self.sha256}"


@dataclass(frozen=True, slots=True)
class Item:
    """An item with the store it belongs to, its tags and its photo."""

    id: int
    name: str
    price: Money
    quantity: int
    description: str
    store_id: int
    store: Ref
    created_at: datetime
    updated_at: datetime
    tags: list[Ref] = field(default_factory=list)
    image: ItemImage | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TrashedItem(Item):
    """An item in its store's trash: as it was, and when and by whom it was deleted."""

    deleted_at: datetime
    # None once that user's account is deleted.
    deleted_by: int | None

    @classmethod
    def of(cls, item: Item, deleted_at: datetime, deleted_by: int | None) -> TrashedItem:
        """The item, marked with its deletion."""
        kept = {f.name: getattr(item, f.name) for f in fields(Item)}
        return cls(**kept, deleted_at=deleted_at, deleted_by=deleted_by)


@dataclass(frozen=True, slots=True)
class Tag:
    """A tag of one store, with the items it labels when read alone."""

    id: int
    name: str
    store_id: int
    items: list[ItemBrief] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ItemFields:
    """The whole of an item's own attributes, as a create or a replace gives them."""

    name: str
    price: Money
    quantity: int = 0
    description: str = ""


@dataclass(frozen=True, slots=True)
class ItemChanges:
    """Some of an item's attributes (a merge patch): None leaves a field as it is.

    None can stand for "unchanged" because no item field can be null.
    """

    name: str | None = None
    price: Money | None = None
    quantity: int | None = None
    description: str | None = None
    store_id: int | None = None

    @classmethod
    def replacing(cls, fields: ItemFields, store_id: int) -> ItemChanges:
        """Every field set: what a replace (PUT) of an existing item changes."""
        return cls(fields.name, fields.price, fields.quantity, fields.description, store_id)

    def __bool__(self) -> bool:
        return any(getattr(self, name) is not None for name in self.__slots__)


S = TypeVar("S", bound=str)


@dataclass(frozen=True, slots=True)
class PageRequest(Generic[S]):
    """Which page of a list: its sort, the position (sort key, id) to continue after, a size."""

    sort: S
    descending: bool = False
    limit: int = 50
    after: tuple[Any, int] | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """Someone on a store's team: its owner (role `owner`), a manager or a staff member."""

    user_id: int
    username: str
    role: str
    # When the user joined the team (for the owner: when the store was created).
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Permissions:
    """What the caller may do in one store: their role there, and the actions it allows."""

    role: str | None
    is_admin: bool
    actions: list[str]


@dataclass(frozen=True, slots=True)
class StoreQuery:
    """A page of stores, filtered by exact name, by a text in the name, or by a member."""

    page: PageRequest[StoreSort]
    name: str | None = None
    q: str | None = None
    # Only the stores this user owns or is a member of (`?member=me`).
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """A page of items (of one store, or of all), with their filters."""

    page: PageRequest[ItemSort]
    store_id: int | None = None
    tag_id: int | None = None
    min_price: Money | None = None
    max_price: Money | None = None
    in_stock: bool | None = None
    name: str | None = None
    q: str | None = None
    search: SearchTerms | None = None


@dataclass(frozen=True, slots=True)
class TrashQuery:
    """A page of one store's trash."""

    store_id: int
    page: PageRequest[TrashSort]


@dataclass(frozen=True, slots=True)
class TagQuery:
    """A page of one store's tags, filtered by exact name or by a text in the name."""

    store_id: int
    page: PageRequest[TagSort]
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
    # Names the user's current credentials in their tokens (domain/accounts.py).
    credential_stamp: str = field(repr=False, default="")
    email_verified: bool = False


@dataclass(frozen=True, slots=True)
class ActorState:
    """What a token's user and session look like now."""

    is_admin: bool
    revoked: bool
    # The user's credential stamp now: replaced by every change of credentials.
    stamp: str
    # The session a password change kept, and the stamp its tokens carry.
    kept_session: str | None = None
    kept_stamp: str | None = field(repr=False, default=None)

    def accepts(self, stamp: str, session_id: str) -> bool:
        """Whether a token of this session, issued under this stamp, is still good."""
        if self.revoked:
            return False
        if hmac.compare_digest(self.stamp, stamp):
            return True
        return (
            self.kept_session is not None
            and self.kept_stamp is not None
            and hmac.compare_digest(self.kept_session, session_id)
            and hmac.compare_digest(self.kept_stamp, stamp)
        )


@dataclass(frozen=True, slots=True)
class Session:
    """The tokens of one login."""

    access_token: str
    refresh_token: str
    expires_in: int


class Outcome(Enum):
    """What claiming an idempotency key found."""

    NEW = "new"
    REPLAY = "replay"
    IN_FLIGHT = "in_flight"
    MISMATCH = "mismatch"


@dataclass(frozen=True, slots=True)
class Claim:
    """The result of claiming an idempotency key, with the stored answer for a replay."""

    outcome: Outcome
    status: int = 0
    headers: dict[str, str] | None = None
    body: bytes = b""
