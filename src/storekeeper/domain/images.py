"""Item photos: who may set or remove one, how it is stored, and its smaller variants.

A photo is decoded, checked and re-encoded by a `Pictures` codec (storekeeper/pictures.py,
which knows Pillow) before anything is stored, and stored content-addressed: its bytes are
kept once under their SHA-256, however many items show them. The variants (a thumbnail and
a medium size) are made later by a job, never in the request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from storekeeper.domain.catalog import CATALOG, CatalogRepository, item_access, record
from storekeeper.domain.errors import NotFound
from storekeeper.domain.events import EventType
from storekeeper.domain.jobs import JOBS, Payload
from storekeeper.domain.model import Actor, Item
from storekeeper.domain.policy import Action
from storekeeper.domain.ports import Slot, UnitsOfWork

Size = Literal["thumb", "medium"]
# The longest side of each variant, in pixels (proportions kept, never enlarged).
VARIANTS: dict[Size, int] = {"thumb": 256, "medium": 1024}
# The job that makes a stored photo's variants.
MAKE_VARIANTS = "image.variants"


@dataclass(frozen=True, slots=True)
class Picture:
    """An image as stored: re-encoded bytes with no metadata, and what they are."""

    data: bytes
    content_type: str
    width: int
    height: int
    # The content address of the bytes: hashed once (a photo may be 12 MiB).
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.data).hexdigest())


@dataclass(frozen=True, slots=True)
class StoredPicture:
    """A stored photo or variant, read back to be served."""

    sha256: str
    content_type: str
    data: bytes
    # The photo it is (a variant of): the version item URLs carry.
    source_sha256: str
    # Whether it is the variant asked for, rather than the photo standing in for it.
    is_variant: bool = False


class Pictures(Protocol):
    """Decodes, checks and re-encodes images (raises errors.Invalid on `file` when refused)."""

    def prepare(self, data: bytes) -> Picture:
        """The picture to store for an upload: checked, oriented, stripped, re-encoded."""
        ...

    def shrink(self, data: bytes, longest: int) -> Picture:
        """A stored picture made to fit `longest` pixels on its longest side."""
        ...


class ImageRepository(Protocol):
    """Stored photos, their variants and which item shows which, in one unit of work."""

    def store(self, picture: Picture) -> None:
        """Keep the bytes under their hash (kept once, whoever stores them first)."""
        ...

    def shown(self, item_id: int) -> str | None:
        """The hash of the photo the item shows, if any."""
        ...

    def attach(self, item_id: int, sha256: str) -> tuple[bool, str | None]:
        """Show the photo on the item: (whether it had none before, the hash it showed)."""
        ...

    def detach(self, item_id: int) -> str | None:
        """Show no photo on the item; the hash it showed, if any."""
        ...

    def drop_if_unused(self, sha256: str) -> None:
        """Remove a photo's bytes and variants when no item shows it any more."""
        ...

    def read(self, item_id: int, size: Size | None) -> StoredPicture | None:
        """The item's photo (the variant when made, else the photo itself), or None."""
        ...

    def original(self, sha256: str) -> bytes | None:
        """A stored photo's bytes."""
        ...

    def has_variant(self, sha256: str, size: Size) -> bool: ...
    def store_variant(self, source: str, size: Size, picture: Picture) -> None:
        """Keep a variant of a stored photo (a second store of the same one is a no-op)."""
        ...


IMAGES: Slot[ImageRepository] = Slot("images")
# A caller's precondition on the item's current photo (its hash, None when it has none), run
# under the item's lock before any change (If-Match / If-None-Match in the HTTP layer).
PhotoGuard = Callable[[str | None], None] | None


def set_item_image(
    units: UnitsOfWork,
    pictures: Pictures,
    actor: Actor | None,
    item_id: int,
    upload: bytes,
    guard: PhotoGuard = None,
) -> tuple[Item, bool]:
    """Show an uploaded image on an item: (the item, whether it had no photo before).

    Three steps, so that no transaction stays open while the image is decoded (a write one
    would hold SQLite's lock that long): who may write the item (401, 404, 403) is checked
    before anything is decoded, so nobody makes the server decode for an item they may not
    change; then the image is prepared (422 when refused); then it is stored, checked again
    under the item's lock, and its variants queued in the same transaction.
    """
    with units() as work:
        item_access(work[CATALOG], actor, item_id, Action.ITEM_WRITE)
    picture = pictures.prepare(upload)
    with units(write=True) as work:
        repo, images = work[CATALOG], work[IMAGES]
        store_id = item_access(repo, actor, item_id, Action.ITEM_WRITE)
        repo.lock_item(item_id)
        if guard is not None:
            guard(images.shown(item_id))
        images.store(picture)
        created, previous = images.attach(item_id, picture.sha256)
        if previous is not None and previous != picture.sha256:
            images.drop_if_unused(previous)
        if previous != picture.sha256:  # the same photo again changes nothing
            changes = {"image": [previous, picture.sha256]}
            record(repo, actor, store_id, EventType.ITEM_IMAGE_UPDATED, ("item", item_id), changes)
        payload: Payload = {"sha256": picture.sha256}
        work[JOBS].add(MAKE_VARIANTS, payload, actor.user_id if actor else None)
        item = repo.get_item(item_id)
    assert item is not None  # locked above
    return item, created


def delete_item_image(
    repo: CatalogRepository,
    images: ImageRepository,
    actor: Actor | None,
    item_id: int,
    guard: PhotoGuard = None,
) -> None:
    """Remove an item's photo (404 when it has none); its bytes go when no item shows them."""
    store_id = item_access(repo, actor, item_id, Action.ITEM_WRITE)
    repo.lock_item(item_id)
    if guard is not None:
        guard(images.shown(item_id))
    previous = images.detach(item_id)
    if previous is None:
        raise NotFound("This item has no photo.")
    images.drop_if_unused(previous)
    changes = {"image": [previous, None]}
    record(repo, actor, store_id, EventType.ITEM_IMAGE_DELETED, ("item", item_id), changes)


def read_item_image(
    repo: CatalogRepository, images: ImageRepository, item_id: int, size: Size | None
) -> StoredPicture:
    """The photo to serve: the variant asked for once made, else the photo itself."""
    found = images.read(item_id, size)
    if found is None:
        if repo.item_store(item_id) is None:
            raise NotFound("No item with this id.")
        raise NotFound("This item has no photo.")
    return found


def make_variants(units: UnitsOfWork, pictures: Pictures, sha256: str) -> dict[str, int]:
    """Make the missing variants of a stored photo: the job MAKE_VARIANTS.

    Idempotent: a variant already made is kept, so a job run twice (at least once delivery)
    makes each once in effect; a photo removed before its job ran needs none. No transaction
    is open while a variant is made. Returns each size made with its longest side.
    """
    made: dict[str, int] = {}
    for size, longest in VARIANTS.items():
        with units() as work:
            images = work[IMAGES]
            data = None if images.has_variant(sha256, size) else images.original(sha256)
        if data is None:
            continue
        variant = pictures.shrink(data, longest)
        with units(write=True) as work:
            work[IMAGES].store_variant(sha256, size, variant)
        made[size] = max(variant.width, variant.height)
    return made
