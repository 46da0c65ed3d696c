"""A store's trash: deleted items kept for 30 days, listed, restored, then purged for good.

Deleting an item (domain/catalog.py delete_item) only marks it; from then on no read of the
catalog sees it and its name is free. A restore brings it back as it was (the tags that still
exist, its photo), under a new name when its own was taken meanwhile. The worker purges what
has been in the trash for RETENTION.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from storekeeper.domain import events
from storekeeper.domain.catalog import (
    CatalogRepository,
    Guard,
    check_guard,
    get_item,
    record,
    require_actor,
    store_access,
)
from storekeeper.domain.errors import Conflict, DomainError, NotFound
from storekeeper.domain.events import EventType
from storekeeper.domain.model import Actor, Item, Page, TrashedItem, TrashQuery
from storekeeper.domain.policy import Action
from storekeeper.domain.ports import Slot, UnitsOfWork
from storekeeper.domain.values import name_key

RETENTION = timedelta(days=30)
PURGE_BATCH = 500


class TrashRepository(Protocol):
    """Items in the trash inside one unit of work."""

    def list_trash(self, query: TrashQuery) -> Page[TrashedItem]: ...

    def trashed(self, item_id: int) -> TrashedItem | None:
        """The item when it is in the trash (None when it is live or does not exist)."""
        ...

    def name_taken(self, store_id: int, key: str) -> bool:
        """Whether a live item of the store has a name with this key."""
        ...

    def restore(self, item_id: int, name: str | None) -> bool:
        """Bring the item back (under `name` when given); the store counts it again. False
        when it was not in the trash any more (a concurrent restore or purge)."""
        ...

    def purge(self, deleted_before: datetime, limit: int) -> int:
        """Delete for good up to `limit` items trashed before then (their tags, photos);
        how many went."""
        ...


TRASH: Slot[TrashRepository] = Slot("trash")


def list_trash(
    catalog: CatalogRepository, trash: TrashRepository, actor: Actor | None, query: TrashQuery
) -> Page[TrashedItem]:
    """A page of a store's trash: for those who may change the store (its managers)."""
    store_access(catalog, actor, query.store_id, Action.TRASH_READ)
    return trash.list_trash(query)


def restore_item(
    catalog: CatalogRepository,
    trash: TrashRepository,
    actor: Actor | None,
    item_id: int,
    name: str | None = None,
    guard: Guard = None,
) -> Item:
    """Bring an item back from the trash, under `name` when given.

    A live item is not in the trash: 409 (the request conflicts with the item's state, as
    GitHub answers restoring what was not deleted); no item at all, or one purged: 404.
    """
    require_actor(actor)
    found = trash.trashed(item_id)
    if found is None:
        raise _not_in_trash(catalog, item_id)
    store_id = found.store_id
    store_access(catalog, actor, store_id, Action.ITEM_RESTORE)
    check_guard(guard)
    wanted = found.name if name is None else name
    if trash.name_taken(store_id, name_key(wanted)):
        raise Conflict(
            "An item with this name already exists in this store; restore it with a new `name`."
            if name is None
            else "An item with this name already exists in this store."
        )
    if not trash.restore(item_id, name):
        # Another restore, or the purge, took it since it was read (the read takes no lock).
        raise _not_in_trash(catalog, item_id)
    restored = get_item(catalog, item_id)
    changes = events.created(events.item_state(restored))
    record(catalog, actor, store_id, EventType.ITEM_RESTORED, ("item", item_id), changes)
    return restored


def _not_in_trash(catalog: CatalogRepository, item_id: int) -> DomainError:
    """Why an item cannot be restored: it is live (409), or there is no such item (404)."""
    if catalog.item_store(item_id) is not None:
        return Conflict("The item is not in the trash.")
    return NotFound("No item with this id in the trash.")


def purge_trash(units: UnitsOfWork, now: datetime) -> int:
    """Delete for good what has been in the trash for RETENTION, a batch per transaction;
    how many went. Idempotent, and safe with several workers at once (db/trash.py)."""
    gone = 0
    while True:
        with units(write=True) as work:
            deleted = work[TRASH].purge(now - RETENTION, PURGE_BATCH)
        gone += deleted
        if deleted < PURGE_BATCH:
            return gone
