"""Use cases for stores, items and tags: existence, ownership and consistency rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from storekeeper.domain import events
from storekeeper.domain.errors import Conflict, Invalid, NotFound, Unauthenticated
from storekeeper.domain.events import EventRepository, EventType
from storekeeper.domain.model import (
    Actor,
    Item,
    ItemChanges,
    ItemFields,
    ItemQuery,
    Page,
    Store,
    StoreQuery,
    Tag,
    TagQuery,
)
from storekeeper.domain.policy import Action, Role, authorize
from storekeeper.domain.ports import Slot
from storekeeper.domain.values import CLIENT_ID_MAX


class CatalogRepository(Protocol):
    """Stores, items and tags inside one unit of work, with the stores' history: every use
    case that changes a store's data records its event there, in the same transaction."""

    @property
    def events(self) -> EventRepository: ...

    def list_stores(self, query: StoreQuery) -> Page[Store]: ...
    def store_detail(self, store_id: int, embed: int) -> Store | None: ...
    def store_role(self, store_id: int, user_id: int | None) -> tuple[bool, Role | None]:
        """Whether the store exists, and the user's role in it (None: none, or no user)."""
        ...

    def lock_store(self, store_id: int) -> None: ...
    def add_store(self, name: str, owner_id: int | None) -> int: ...
    def rename_store(self, store_id: int, name: str) -> None: ...
    def delete_store(self, store_id: int) -> None: ...

    def list_items(self, query: ItemQuery) -> Page[Item]:
        """A page of items with their store's name and their tags."""
        ...

    def get_item(self, item_id: int) -> Item | None: ...
    def item_store(self, item_id: int) -> int | None: ...
    def lock_item(self, item_id: int) -> None: ...
    def add_item(self, store_id: int, fields: ItemFields, item_id: int | None = None) -> Item:
        """Insert an item; the item as stored (a new item has no tags yet)."""
        ...

    def update_item(self, item_id: int, changes: ItemChanges) -> None: ...
    def delete_item(self, item_id: int, deleted_by: int | None) -> bool:
        """Move a live item to its store's trash; False when it was not live."""
        ...

    def item_in_trash(self, item_id: int) -> bool: ...
    def unlink_item_tags(self, item_id: int) -> None: ...

    def list_tags(self, query: TagQuery) -> Page[Tag]: ...
    def get_tag(self, tag_id: int, with_items: bool) -> Tag | None: ...
    def lock_tag(self, tag_id: int) -> None: ...
    def add_tag(self, store_id: int, name: str) -> int: ...
    def delete_tag(self, tag_id: int) -> None: ...
    def tag_in_use(self, tag_id: int) -> bool: ...
    def link(self, item_id: int, tag_id: int, store_id: int) -> bool: ...
    def unlink(self, item_id: int, tag_id: int) -> bool: ...

    def items_named(self, store_id: int, keys: list[str]) -> dict[str, Item]:
        """The store's items whose name keys (values.name_key) are among these, by key."""
        ...

    def tags_named(self, store_id: int, keys: list[str]) -> dict[str, int]:
        """The ids of the store's tags whose name keys are among these, by key."""
        ...

    def add_items(self, store_id: int, fields: list[ItemFields]) -> list[int]:
        """Insert many new items at once (an import's batch); their ids, in the same order."""
        ...

    def link_many(self, store_id: int, links: list[tuple[int, int]]) -> None:
        """Label items with tags of their store: (item id, tag id) pairs not linked yet."""
        ...


CATALOG: Slot[CatalogRepository] = Slot("catalog")
STORE_EMBED_LIMIT = 50
# A caller's precondition (e.g. an ETag comparison), run after existence and permission checks
# and before any change, inside the same transaction.
Guard = Callable[[], None] | None


def check_guard(guard: Guard) -> None:
    """Run a caller's precondition, when there is one."""
    if guard is not None:
        guard()


def require_actor(actor: Actor | None) -> Actor:
    """Every write needs an authenticated actor."""
    if actor is None:
        raise Unauthenticated("Authentication is required.")
    return actor


def require_store(repo: CatalogRepository, store_id: int) -> None:
    """A store's own lists and reads need the store (404 otherwise)."""
    exists, _ = repo.store_role(store_id, None)
    if not exists:
        raise NotFound("No store with this id.")


def store_access(
    repo: CatalogRepository,
    actor: Actor | None,
    store_id: int,
    action: Action,
    field: str | None = None,
) -> Role | None:
    """Check that a store exists (404, or 422 on a body `field`) and the actor may take the
    action in it (401, 403); the actor's role there. One read gives existence and role.
    """
    who = require_actor(actor)
    exists, role = repo.store_role(store_id, who.user_id)
    if not exists:
        if field:
            raise Invalid.field(field, "no store has this id")
        raise NotFound("No store with this id.")
    authorize(who, role, action)
    return role


def item_access(repo: CatalogRepository, actor: Actor | None, item_id: int, action: Action) -> int:
    """The store of an existing item the actor may take the action on (401, 404 or 403)."""
    require_actor(actor)
    store_id = repo.item_store(item_id)
    if store_id is None:
        raise NotFound("No item with this id.")
    store_access(repo, actor, store_id, action)
    return store_id


# Stores


def list_stores(
    repo: CatalogRepository, query: StoreQuery, actor: Actor | None = None, mine: bool = False
) -> Page[Store]:
    """A page of stores; `mine`: only those the actor owns or is a member of (401 without)."""
    if mine:
        query = replace(query, member_id=require_actor(actor).user_id)
    return repo.list_stores(query)


def get_store(repo: CatalogRepository, store_id: int) -> Store:
    """One store with its first items and its tags."""
    store = repo.store_detail(store_id, STORE_EMBED_LIMIT)
    if store is None:
        raise NotFound("No store with this id.")
    return store


def create_store(repo: CatalogRepository, actor: Actor | None, name: str) -> Store:
    """Create a store owned by the actor."""
    who = require_actor(actor)
    return get_store(repo, repo.add_store(name, who.user_id))


def rename_store(
    repo: CatalogRepository,
    actor: Actor | None,
    store_id: int,
    name: str | None,
    guard: Guard = None,
) -> Store:
    """Change a store's name (or nothing, when no name is given)."""
    store_access(repo, actor, store_id, Action.STORE_RENAME)
    check_guard(guard)
    if name is not None:
        repo.lock_store(store_id)  # the event's old name is the one this rename replaced
        old = get_store(repo, store_id).name
        repo.rename_store(store_id, name)
        if name != old:
            changes = {"name": [old, name]}
            _record(repo, actor, store_id, EventType.STORE_UPDATED, ("store", store_id), changes)
    return get_store(repo, store_id)


def delete_store(
    repo: CatalogRepository, actor: Actor | None, store_id: int, guard: Guard = None
) -> None:
    """Delete a store with all its items, tags and links."""
    store_access(repo, actor, store_id, Action.STORE_DELETE)
    check_guard(guard)
    repo.delete_store(store_id)


# History


def _record(
    repo: CatalogRepository,
    actor: Actor | None,
    store_id: int,
    type_: EventType,
    resource: tuple[str, int],
    changes: events.Changes,
) -> None:
    events.record(repo.events, actor, store_id, type_, resource, changes)


# The same, for the use cases on an item's parts (domain/images.py).
record = _record


def _item_changed(repo: CatalogRepository, actor: Actor | None, before: Item) -> None:
    """Record an item's update: in its store, and, when it moved, in both of its stores."""
    after = get_item(repo, before.id)
    changes = events.diff(events.item_state(before), events.item_state(after))
    if not changes:
        return  # a write that changes nothing is no event (docs/api.md, "History")
    stores = {before.store_id, after.store_id}
    for store_id in sorted(stores):
        _record(repo, actor, store_id, EventType.ITEM_UPDATED, ("item", before.id), changes)


def _item_created(repo: CatalogRepository, actor: Actor | None, item: Item) -> Item:
    changes = events.created(events.item_state(item))
    _record(repo, actor, item.store_id, EventType.ITEM_CREATED, ("item", item.id), changes)
    return item


# Items


def list_items(repo: CatalogRepository, query: ItemQuery, in_store: bool = False) -> Page[Item]:
    """A page of items; for a store's own list, the store must exist."""
    if query.page.sort == "relevance" and query.search is None:
        # Relevance is a search's score: without one every item would tie.
        raise Invalid.field("sort", "relevance needs a search")
    if in_store and query.store_id is not None:
        require_store(repo, query.store_id)
    return repo.list_items(query)


def get_item(repo: CatalogRepository, item_id: int) -> Item:
    """One item."""
    item = repo.get_item(item_id)
    if item is None:
        raise NotFound("No item with this id.")
    return item


def create_item(
    repo: CatalogRepository,
    actor: Actor | None,
    store_id: int,
    fields: ItemFields,
    *,
    from_body: bool,
) -> Item:
    """Create an item in a store the actor may write to."""
    store_access(repo, actor, store_id, Action.ITEM_WRITE, "store_id" if from_body else None)
    return _item_created(repo, actor, repo.add_item(store_id, fields))


def _move(repo: CatalogRepository, actor: Actor | None, item_id: int, old: int, new: int) -> None:
    """Moving an item needs both stores; its tags belong to the old store, so links go."""
    if new != old:
        store_access(repo, actor, new, Action.ITEM_WRITE, "store_id")
        repo.unlink_item_tags(item_id)


def replace_item(
    repo: CatalogRepository,
    actor: Actor | None,
    item_id: int,
    fields: ItemFields,
    store_id: int | None,
    guard: Guard = None,
) -> tuple[Item, bool]:
    """Make the item exist with exactly this state; True when it was created."""
    require_actor(actor)
    current = repo.item_store(item_id)
    if current is None:
        if repo.item_in_trash(item_id):
            # Its id is still held: a PUT must not quietly replace what a restore brings back.
            raise Conflict("The item with this id is in its store's trash; restore it first.")
        if store_id is None:
            raise Invalid.field("store_id", "is required when the item does not exist yet")
        if item_id > CLIENT_ID_MAX:
            raise Invalid.field(
                "id", f"an item created by PUT must have an id of at most {CLIENT_ID_MAX}"
            )
        store_access(repo, actor, store_id, Action.ITEM_WRITE, "store_id")
        check_guard(guard)
        return _item_created(repo, actor, repo.add_item(store_id, fields, item_id)), True
    store_access(repo, actor, current, Action.ITEM_WRITE)
    target = current if store_id is None else store_id
    check_guard(guard)
    # Locked before it is read, so a concurrent write cannot slip between: the event's old
    # values are the ones this write replaced.
    repo.lock_item(item_id)
    before = get_item(repo, item_id)
    _move(repo, actor, item_id, current, target)
    repo.update_item(item_id, ItemChanges.replacing(fields, target))
    _item_changed(repo, actor, before)
    return get_item(repo, item_id), False


def patch_item(
    repo: CatalogRepository,
    actor: Actor | None,
    item_id: int,
    changes: ItemChanges,
    guard: Guard = None,
) -> Item:
    """Change some of an item's fields (merge-patch semantics; changes are validated values)."""
    current = item_access(repo, actor, item_id, Action.ITEM_WRITE)
    check_guard(guard)
    repo.lock_item(item_id)  # as in replace_item: the event's old values are exact
    before = get_item(repo, item_id)
    if changes.store_id is not None:
        _move(repo, actor, item_id, current, changes.store_id)
    if changes:
        repo.update_item(item_id, changes)
        _item_changed(repo, actor, before)
    return get_item(repo, item_id)


def delete_item(
    repo: CatalogRepository, actor: Actor | None, item_id: int, guard: Guard = None
) -> None:
    """Move an item to its store's trash (domain/trash.py), with its tags and photo."""
    who = require_actor(actor)
    item_access(repo, actor, item_id, Action.ITEM_DELETE)
    check_guard(guard)
    # Locked first, so the event's last values are the ones the trash keeps.
    repo.lock_item(item_id)
    item = repo.get_item(item_id)
    if item is None or not repo.delete_item(item_id, who.user_id):
        # Another request put it in the trash while this one waited for the row.
        raise NotFound("No item with this id.")
    changes = events.deleted(events.item_state(item))
    _record(repo, actor, item.store_id, EventType.ITEM_DELETED, ("item", item_id), changes)


# Tags


def list_tags(repo: CatalogRepository, query: TagQuery) -> Page[Tag]:
    """A page of one store's tags."""
    require_store(repo, query.store_id)
    return repo.list_tags(query)


def get_tag(repo: CatalogRepository, tag_id: int, with_items: bool = True) -> Tag:
    """One tag, with the items it labels."""
    tag = repo.get_tag(tag_id, with_items)
    if tag is None:
        raise NotFound("No tag with this id.")
    return tag


def create_tag(repo: CatalogRepository, actor: Actor | None, store_id: int, name: str) -> Tag:
    """Create a tag in a store."""
    store_access(repo, actor, store_id, Action.TAG_CREATE)
    tag = get_tag(repo, repo.add_tag(store_id, name), with_items=False)
    changes = events.created({"name": tag.name})
    _record(repo, actor, store_id, EventType.TAG_CREATED, ("tag", tag.id), changes)
    return tag


def delete_tag(
    repo: CatalogRepository, actor: Actor | None, tag_id: int, guard: Guard = None
) -> None:
    """Delete a tag that labels no item."""
    require_actor(actor)
    tag = get_tag(repo, tag_id, with_items=False)
    store_access(repo, actor, tag.store_id, Action.TAG_DELETE)
    check_guard(guard)
    if repo.tag_in_use(tag_id):
        raise Conflict("The tag still labels items; remove it from them first.")
    repo.delete_tag(tag_id)
    changes = events.deleted({"name": tag.name})
    _record(repo, actor, tag.store_id, EventType.TAG_DELETED, ("tag", tag_id), changes)


def link_tag(
    repo: CatalogRepository, actor: Actor | None, item_id: int, tag_id: int
) -> tuple[Tag, bool]:
    """Label an item with a tag of the same store; True when the link is new."""
    store_id = item_access(repo, actor, item_id, Action.ITEM_WRITE)
    tag = get_tag(repo, tag_id, with_items=False)
    if tag.store_id != store_id:
        raise Invalid.field("tag_id", "the tag belongs to another store than the item")
    new = repo.link(item_id, tag_id, store_id)
    if new:  # labelling an item again with its tag changes nothing
        changes = {"tag": [None, _tag_ref(tag)]}
        _record(repo, actor, store_id, EventType.ITEM_TAGGED, ("item", item_id), changes)
    return tag, new


def _tag_ref(tag: Tag) -> dict[str, object]:
    return {"id": tag.id, "name": tag.name}


def unlink_tag(repo: CatalogRepository, actor: Actor | None, item_id: int, tag_id: int) -> None:
    """Remove a tag from an item."""
    store_id = item_access(repo, actor, item_id, Action.ITEM_WRITE)
    tag = repo.get_tag(tag_id, with_items=False)
    if tag is None or not repo.unlink(item_id, tag_id):
        raise NotFound("The item is not labelled with this tag.")
    changes = {"tag": [_tag_ref(tag), None]}
    _record(repo, actor, store_id, EventType.ITEM_UNTAGGED, ("item", item_id), changes)
