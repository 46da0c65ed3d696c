"""The catalog's use cases against an in-memory fake repository (no Flask, no database)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

from storekeeper.domain import catalog
from storekeeper.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from storekeeper.domain.events import Event, EventQuery, NewEvent
from storekeeper.domain.model import (
    Actor,
    Item,
    ItemChanges,
    ItemFields,
    ItemQuery,
    Page,
    Ref,
    Store,
    StoreQuery,
    Tag,
    TagQuery,
)
from storekeeper.domain.policy import Role
from storekeeper.domain.values import CLIENT_ID_MAX, Money, name_key

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALICE = Actor(1)
BOB = Actor(2)
ADMIN = Actor(3, is_admin=True)


@dataclass
class FakeEvents:
    """The history, as a list: the use cases only add to it here."""

    added: list[NewEvent] = field(default_factory=list)

    def add(self, event: NewEvent) -> None:
        self.added.append(event)

    def page(self, query: EventQuery) -> Page[Event]:
        raise AssertionError("no use case here reads the history")

    def get(self, event_id: int) -> Event | None:
        raise AssertionError("no use case here reads an event")


@dataclass
class FakeCatalog:
    """Just enough of CatalogRepository to run the use cases."""

    events: FakeEvents = field(default_factory=FakeEvents)

    stores: dict[int, tuple[str, int]] = field(default_factory=dict)
    items: dict[int, tuple[int, ItemFields]] = field(default_factory=dict)
    tags: dict[int, tuple[int, str]] = field(default_factory=dict)
    links: set[tuple[int, int]] = field(default_factory=set)
    next_id: int = 1

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def list_stores(self, query: StoreQuery) -> Page[Store]:
        return Page([s for s in (self.store_detail(i, 0) for i in self.stores) if s], None)

    def store_detail(self, store_id: int, embed: int) -> Store | None:
        if store_id not in self.stores:
            return None
        name, owner = self.stores[store_id]
        count = sum(1 for s, _ in self.items.values() if s == store_id)
        return Store(store_id, name, owner, count, NOW, NOW)

    def store_role(self, store_id: int, user_id: int | None) -> tuple[bool, Role | None]:
        found = self.stores.get(store_id)
        if found is None:
            return False, None
        return True, ("owner" if user_id is not None and found[1] == user_id else None)

    def add_store(self, name: str, owner_id: int | None) -> int:
        assert owner_id is not None
        if any(n.casefold() == name.casefold() for n, _ in self.stores.values()):
            raise Conflict("duplicate")
        new = self._id()
        self.stores[new] = (name, owner_id)
        return new

    # One thread uses the fake at a time: its rows need no locks.
    def lock_store(self, store_id: int) -> None:
        pass

    def lock_item(self, item_id: int) -> None:
        pass

    def lock_tag(self, tag_id: int) -> None:
        pass

    def rename_store(self, store_id: int, name: str) -> None:
        self.stores[store_id] = (name, self.stores[store_id][1])

    def delete_store(self, store_id: int) -> None:
        del self.stores[store_id]
        self.items = {k: v for k, v in self.items.items() if v[0] != store_id}

    def list_items(self, query: ItemQuery) -> Page[Item]:
        return Page([item for i in self.items if (item := self.get_item(i))], None)

    def get_item(self, item_id: int) -> Item | None:
        if item_id not in self.items:
            return None
        store_id, f = self.items[item_id]
        tags = [Ref(t, self.tags[t][1]) for i, t in sorted(self.links) if i == item_id]
        store = Ref(store_id, self.stores[store_id][0])
        return Item(
            item_id, f.name, f.price, f.quantity, f.description, store_id, store, NOW, NOW, tags
        )

    def item_store(self, item_id: int) -> int | None:
        return self.items[item_id][0] if item_id in self.items else None

    def add_item(self, store_id: int, fields: ItemFields, item_id: int | None = None) -> Item:
        new = item_id or self._id()
        self.items[new] = (store_id, fields)
        created = self.get_item(new)
        assert created is not None
        return created

    def update_item(self, item_id: int, changes: ItemChanges) -> None:
        store_id, f = self.items[item_id]
        given = {n: getattr(changes, n) for n in ("name", "price", "quantity", "description")}
        kept = {n: v for n, v in given.items() if v is not None}
        self.items[item_id] = (changes.store_id or store_id, replace(f, **kept))

    def delete_item(self, item_id: int, deleted_by: int | None) -> bool:
        # The trash's rows are the database's business (db/trash.py): gone from here.
        return self.items.pop(item_id, None) is not None

    def item_in_trash(self, item_id: int) -> bool:
        return False

    def unlink_item_tags(self, item_id: int) -> None:
        self.links = {(i, t) for i, t in self.links if i != item_id}

    def list_tags(self, query: TagQuery) -> Page[Tag]:
        found = [Tag(t, n, s) for t, (s, n) in self.tags.items() if s == query.store_id]
        return Page(found, None)

    def get_tag(self, tag_id: int, with_items: bool) -> Tag | None:
        if tag_id not in self.tags:
            return None
        store_id, name = self.tags[tag_id]
        return Tag(tag_id, name, store_id)

    def add_tag(self, store_id: int, name: str) -> int:
        new = self._id()
        self.tags[new] = (store_id, name)
        return new

    def delete_tag(self, tag_id: int) -> None:
        del self.tags[tag_id]

    def tag_in_use(self, tag_id: int) -> bool:
        return any(t == tag_id for _, t in self.links)

    def link(self, item_id: int, tag_id: int, store_id: int) -> bool:
        new = (item_id, tag_id) not in self.links
        self.links.add((item_id, tag_id))
        return new

    def unlink(self, item_id: int, tag_id: int) -> bool:
        found = (item_id, tag_id) in self.links
        self.links.discard((item_id, tag_id))
        return found

    def items_named(self, store_id: int, keys: list[str]) -> dict[str, Item]:
        found = (self.get_item(i) for i, (s, _) in self.items.items() if s == store_id)
        return {name_key(i.name): i for i in found if i and name_key(i.name) in keys}

    def add_items(self, store_id: int, fields: list[ItemFields]) -> list[int]:
        return [self.add_item(store_id, f).id for f in fields]

    def link_many(self, store_id: int, links: list[tuple[int, int]]) -> None:
        self.links |= set(links)

    def tags_named(self, store_id: int, keys: list[str]) -> dict[str, int]:
        return {
            name_key(n): t
            for t, (s, n) in self.tags.items()
            if s == store_id and name_key(n) in keys
        }


FIELDS = ItemFields("Chair", Money(999), 1, "")


@pytest.fixture
def repo() -> FakeCatalog:
    """Alice's store 'Shop' with one item."""
    fake = FakeCatalog()
    store = catalog.create_store(fake, ALICE, "Shop")
    catalog.create_item(fake, ALICE, store.id, FIELDS, from_body=False)
    return fake


def test_writes_need_an_actor(repo: FakeCatalog) -> None:
    with pytest.raises(Unauthenticated):
        catalog.create_store(repo, None, "Other")
    with pytest.raises(Unauthenticated):
        catalog.delete_item(repo, None, 2)


def test_only_owner_or_admin_write(repo: FakeCatalog) -> None:
    with pytest.raises(Forbidden):
        catalog.rename_store(repo, BOB, 1, "Mine")
    with pytest.raises(Forbidden):
        catalog.patch_item(repo, BOB, 2, ItemChanges(quantity=5))
    assert catalog.patch_item(repo, ADMIN, 2, ItemChanges(quantity=5)).quantity == 5
    assert catalog.rename_store(repo, ALICE, 1, "Renamed").name == "Renamed"


def test_missing_things_are_not_found_and_body_store_ids_invalid(repo: FakeCatalog) -> None:
    with pytest.raises(NotFound):
        catalog.get_item(repo, 99)
    with pytest.raises(NotFound):
        catalog.create_item(repo, ALICE, 99, FIELDS, from_body=False)
    with pytest.raises(Invalid) as invalid:
        catalog.create_item(repo, ALICE, 99, FIELDS, from_body=True)
    assert "store_id" in invalid.value.errors


def test_put_creates_replaces_and_bounds_client_ids(repo: FakeCatalog) -> None:
    item, created = catalog.replace_item(repo, ALICE, 50, FIELDS, 1)
    assert (item.id, created) == (50, True)
    item, created = catalog.replace_item(repo, ALICE, 50, ItemFields("Stool", Money(100)), None)
    assert (item.name, item.price, item.quantity, created) == ("Stool", Money(100), 0, False)
    with pytest.raises(Invalid):
        catalog.replace_item(repo, ALICE, 51, FIELDS, None)
    with pytest.raises(Invalid):
        catalog.replace_item(repo, ALICE, CLIENT_ID_MAX + 1, FIELDS, 1)


def test_moving_needs_both_stores_and_drops_links(repo: FakeCatalog) -> None:
    bobs = catalog.create_store(repo, BOB, "Bob's")
    other = catalog.create_store(repo, ALICE, "Other")
    tag = catalog.create_tag(repo, ALICE, 1, "wood")
    catalog.link_tag(repo, ALICE, 2, tag.id)
    with pytest.raises(Forbidden):
        catalog.patch_item(repo, ALICE, 2, ItemChanges(store_id=bobs.id))
    moved = catalog.patch_item(repo, ALICE, 2, ItemChanges(store_id=other.id))
    assert (moved.store_id, moved.tags) == (other.id, [])


def test_tags_in_use_cannot_go_and_links_stay_in_one_store(repo: FakeCatalog) -> None:
    tag = catalog.create_tag(repo, ALICE, 1, "wood")
    assert catalog.link_tag(repo, ALICE, 2, tag.id)[1] is True
    assert catalog.link_tag(repo, ALICE, 2, tag.id)[1] is False
    with pytest.raises(Conflict):
        catalog.delete_tag(repo, ALICE, tag.id)
    other = catalog.create_store(repo, ALICE, "Other")
    foreign = catalog.create_tag(repo, ALICE, other.id, "foreign")
    with pytest.raises(Invalid):
        catalog.link_tag(repo, ALICE, 2, foreign.id)
    catalog.unlink_tag(repo, ALICE, 2, tag.id)
    with pytest.raises(NotFound):
        catalog.unlink_tag(repo, ALICE, 2, tag.id)
    catalog.delete_tag(repo, ALICE, tag.id)


def test_guards_run_after_permission_checks_and_before_changes(repo: FakeCatalog) -> None:
    calls: list[str] = []

    def refuse() -> None:
        calls.append("guard")
        raise Conflict("precondition failed")

    with pytest.raises(Forbidden):
        catalog.patch_item(repo, BOB, 2, ItemChanges(quantity=9), refuse)
    assert calls == []
    with pytest.raises(NotFound):
        catalog.delete_item(repo, ALICE, 99, refuse)
    assert calls == []
    with pytest.raises(Conflict):
        catalog.patch_item(repo, ALICE, 2, ItemChanges(quantity=9), refuse)
    assert calls == ["guard"]
    assert catalog.get_item(repo, 2).quantity == 1
