"""The catalog's queries: stores, items and tags, their filters, sorts and checked writes."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from storekeeper.db import models
from storekeeper.db.constraints import execute
from storekeeper.db.embedding import BRIEF_KEYS, briefs, json_rows, refs
from storekeeper.db.events import EventRepository
from storekeeper.db.filters import name_filters
from storekeeper.db.images import blobs, drop_unused, item_images, shown_hashes
from storekeeper.db.locks import lock_row
from storekeeper.db.paging import Sorts, keyset, page_of
from storekeeper.db.prepared import fetch_one
from storekeeper.db.search import ItemSearch
from storekeeper.db.webhooks import deliveries, webhooks
from storekeeper.domain.model import (
    Item,
    ItemBrief,
    ItemChanges,
    ItemFields,
    ItemImage,
    ItemQuery,
    Page,
    Ref,
    Store,
    StoreQuery,
    Tag,
    TagQuery,
)
from storekeeper.domain.names import look_alike_digest
from storekeeper.domain.policy import Role
from storekeeper.domain.values import Money, name_key

stores: Table = cast(Table, models.Store.__table__)
items: Table = cast(Table, models.Item.__table__)
tags: Table = cast(Table, models.Tag.__table__)
item_tags: Table = cast(Table, models.ItemTag.__table__)
members: Table = cast(Table, models.StoreMember.__table__)
item_counts: Table = cast(Table, models.StoreItemCount.__table__)

# Every table whose rows belong to a store (it has a store_id), children before parents:
# derived from the tables, so whatever a new resource of a store keeps goes with its store.
STORE_CONTENTS = [t for t in reversed(models.Base.metadata.sorted_tables) if "store_id" in t.c]

# A store's count of live items is the sum of its slots (models.StoreItemCount): each change
# adds to one slot, so concurrent writers into one store do not queue on one row's lock. On
# PostgreSQL a transaction takes the slot of its server connection (its backend's pid), and
# the connections of a pool, opened one after another, mostly have consecutive pids: up to
# COUNT_SLOTS concurrent writers then share no slot, where random slots would make any two
# collide one time in COUNT_SLOTS. SQLite runs one writer at a time: one slot, one row.
COUNT_SLOTS = 8
# Read through the table's primary key (store_id, slot): at most COUNT_SLOTS index entries
# per store, however many items it has. The SUM of a BIGINT is a NUMERIC on PostgreSQL.
ITEM_COUNT = (
    select(sql_cast(func.coalesce(func.sum(item_counts.c.count), 0), BigInteger))
    .where(item_counts.c.store_id == stores.c.id)
    .scalar_subquery()
    .label("item_count")
)

# What each list sorts by, for each sort the API offers (domain.model's *Sort literals).
STORE_SORTS: Sorts = {
    "id": stores.c.id,
    "name": stores.c.name_key,
    "created_at": stores.c.created_at,
}
ITEM_SORTS: Sorts = {
    "id": items.c.id,
    "name": items.c.name_key,
    "price": items.c.price_cents,
    "created_at": items.c.created_at,
}
TAG_SORTS: Sorts = {"id": tags.c.id, "name": tags.c.name_key, "created_at": tags.c.created_at}

# The items the catalog shows: every read of items (lists, search, a store's and a tag's
# embedded items, the checks before a write) selects through this one condition, so an item
# in the trash (db/trash.py) is gone from all of them at once.
LIVE: ColumnElement[bool] = items.c.deleted_at.is_(None)


_ITEM_COLUMNS = (*items.c, stores.c.name.label("store_name"))
# The photo an item shows, without its bytes: joined into every item read and list, so a
# page of items costs one statement however many have photos.
_IMAGE_COLUMNS = (
    item_images.c.sha256.label("image_sha256"),
    blobs.c.content_type.label("image_content_type"),
    blobs.c.width.label("image_width"),
    blobs.c.height.label("image_height"),
    blobs.c.byte_count.label("image_bytes"),
)
# A tag embeds the first items it labels; all of them are at /item?tag={id}.
TAG_EMBED_LIMIT = 50


# The read statements are built once per dialect with bind parameters: building a SQLAlchemy
# statement costs more than running a cached one, and these run on every read. The single
# reads run prepared on the driver's cursor (db/prepared.py).


@cache
def item_query(dialect: str) -> Select[Any]:
    """Live items with their store's name and their tags (a JSON array), for lists and reads."""
    return any_item_query(dialect).where(LIVE)


@cache
def any_item_query(dialect: str) -> Select[Any]:
    """Items, live or in the trash, shaped as item_query shapes them (db/trash.py)."""
    item_tag_rows = (
        select(tags.c.id, tags.c.name)
        .join(item_tags, item_tags.c.tag_id == tags.c.id)
        .where(item_tags.c.item_id == items.c.id)
        .order_by(tags.c.id)
    )
    tags_json = json_rows(dialect, item_tag_rows, ("id", "name"), items).label("tags_json")
    return (
        select(*_ITEM_COLUMNS, tags_json, *_IMAGE_COLUMNS)
        .join(stores, stores.c.id == items.c.store_id)
        .outerjoin(item_images, item_images.c.item_id == items.c.id)
        .outerjoin(blobs, blobs.c.sha256 == item_images.c.sha256)
    )


@cache
def item_by_id(dialect: str) -> Select[Any]:
    """One item, as item_query shapes it."""
    return item_query(dialect).where(items.c.id == bindparam("item_id"))


@cache
def store_by_id(dialect: str, embed: int) -> Select[Any]:
    """One store with its first items and tags (JSON arrays)."""
    first_items = (
        select(items.c.id, items.c.name, items.c.price_cents, items.c.quantity)
        .where(items.c.store_id == stores.c.id, LIVE)
        .order_by(items.c.id)
        .limit(embed)
    )
    first_tags = (
        select(tags.c.id, tags.c.name)
        .where(tags.c.store_id == stores.c.id)
        .order_by(tags.c.id)
        .limit(embed)
    )
    return select(
        stores,
        ITEM_COUNT,
        json_rows(dialect, first_items, BRIEF_KEYS, stores).label("items_json"),
        json_rows(dialect, first_tags, ("id", "name"), stores).label("tags_json"),
    ).where(stores.c.id == bindparam("store_id"))


@cache
def tag_by_id(dialect: str, with_items: bool) -> Select[Any]:
    """One tag, with the first items it labels (a JSON array) when asked."""
    stmt = select(tags).where(tags.c.id == bindparam("tag_id"))
    if with_items:
        labelled = (
            select(items.c.id, items.c.name, items.c.price_cents, items.c.quantity)
            .join(item_tags, item_tags.c.item_id == items.c.id)
            .where(item_tags.c.tag_id == tags.c.id, LIVE)
            .order_by(items.c.id)
            .limit(TAG_EMBED_LIMIT)
        )
        stmt = stmt.add_columns(json_rows(dialect, labelled, BRIEF_KEYS, tags).label("items_json"))
    return stmt


# A store's owner and one user's membership role there, in one statement.
_STORE_ROLE = select(
    stores.c.owner_id,
    select(members.c.role)
    .where(members.c.store_id == stores.c.id, members.c.user_id == bindparam("user_id"))
    .scalar_subquery()
    .label("role"),
).where(stores.c.id == bindparam("store_id"))
_ITEM_STORE = select(items.c.store_id).where(items.c.id == bindparam("item_id"), LIVE)
_STORE_NAME = select(stores.c.name).where(stores.c.id == bindparam("store_id"))
# FOR KEY SHARE is the lock an item's foreign key check takes on its store: creates into one
# store share it, and it holds off the store's deletion (delete_store) until
# the count's change commits, so no count is left for a store that is gone.
_STORE_NAME_KEPT = _STORE_NAME.with_for_update(read=True, key_share=True)


@cache
def count_change(dialect: str) -> Any:
    """Add :delta to one slot of store :store_id's item count, making the slot if need be."""
    keys = [item_counts.c.store_id, item_counts.c.slot]
    if dialect == "postgresql":
        spread = postgresql.insert(item_counts).values(
            store_id=bindparam("store_id"),
            slot=func.pg_backend_pid() % COUNT_SLOTS,
            count=bindparam("delta"),
        )
        # inline(): the slot is a SQL expression of the primary key, which SQLAlchemy would
        # otherwise fetch back with a RETURNING nobody reads.
        return spread.inline().on_conflict_do_update(
            index_elements=keys, set_={"count": item_counts.c.count + spread.excluded["count"]}
        )
    single = sqlite.insert(item_counts).values(
        store_id=bindparam("store_id"), slot=0, count=bindparam("delta")
    )
    return single.on_conflict_do_update(
        index_elements=keys, set_={"count": item_counts.c.count + single.excluded["count"]}
    )


def _image(row: Mapping[str, Any]) -> ItemImage | None:
    if row["image_sha256"] is None:
        return None
    return ItemImage(
        row["id"],
        row["image_sha256"],
        row["image_content_type"],
        row["image_width"],
        row["image_height"],
        row["image_bytes"],
    )


def item_of(row: Mapping[str, Any]) -> Item:
    """An item from a row of item_query (or any_item_query)."""
    return Item(
        row["id"],
        row["name"],
        Money(row["price_cents"]),
        row["quantity"],
        row["description"],
        row["store_id"],
        Ref(row["store_id"], row["store_name"]),
        row["created_at"],
        row["updated_at"],
        refs(row["tags_json"]),
        _image(row),
    )


class CatalogRepository:
    """Stores, items and tags in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._dialect = conn.dialect.name
        # The stores' history, on the same connection: an event commits with its change.
        self.events = EventRepository(conn)

    def _read(self, statement: Any, params: dict[str, Any] | None = None) -> Any:
        """Run a read on the Core connection: no ORM bookkeeping on the hot path."""
        return self.conn.execute(statement, params)

    def lock_store(self, store_id: int) -> None:
        """Lock a store's row for the rest of the transaction."""
        lock_row(self.conn, stores, store_id)

    def lock_item(self, item_id: int) -> None:
        """Lock an item's row for the rest of the transaction."""
        lock_row(self.conn, items, item_id)

    def lock_tag(self, tag_id: int) -> None:
        """Lock a tag's row for the rest of the transaction."""
        lock_row(self.conn, tags, tag_id)

    # Stores

    def _store(
        self, row: Any, items_: list[ItemBrief] | None = None, tags_: list[Ref] | None = None
    ) -> Store:
        return Store(
            row["id"],
            row["name"],
            row["owner_id"],
            row["item_count"],
            row["created_at"],
            row["updated_at"],
            items_ or [],
            tags_ or [],
        )

    def list_stores(self, query: StoreQuery) -> Page[Store]:
        stmt = select(stores, ITEM_COUNT).where(
            *name_filters(stores.c.name_key, query.name, query.q)
        )
        if query.member_id is not None:
            # Owned, or a membership: both indexed by user (stores.owner_id, store_members).
            membership = exists().where(
                members.c.store_id == stores.c.id, members.c.user_id == query.member_id
            )
            stmt = stmt.where(or_(stores.c.owner_id == query.member_id, membership))
        stmt = keyset(stmt, STORE_SORTS, stores.c.id, query.page)
        rows, after = page_of(self._read(stmt).all(), STORE_SORTS, query.page)
        return Page([self._store(r._mapping) for r in rows], after)

    def store_detail(self, store_id: int, embed: int) -> Store | None:
        row = fetch_one(self.conn, store_by_id(self._dialect, embed), store_id=store_id)
        if row is None:
            return None
        return self._store(row, briefs(row["items_json"]), refs(row["tags_json"]))

    def store_role(self, store_id: int, user_id: int | None) -> tuple[bool, Role | None]:
        row = self._read(_STORE_ROLE, {"store_id": store_id, "user_id": user_id}).first()
        if row is None:
            return False, None
        if user_id is not None and row.owner_id == user_id:
            return True, "owner"
        return True, cast("Role | None", row.role)

    def add_store(self, name: str, owner_id: int | None) -> int:
        now = models.utcnow()
        stmt = (
            insert(stores)
            .values(
                name=name,
                name_key=name_key(name),
                name_skeleton=look_alike_digest(name),
                owner_id=owner_id,
                created_at=now,
                updated_at=now,
            )
            .returning(stores.c.id)
        )
        return int(execute(self.conn, stmt).scalar_one())

    def rename_store(self, store_id: int, name: str) -> None:
        execute(
            self.conn,
            update(stores)
            .where(stores.c.id == store_id)
            .values(
                name=name,
                name_key=name_key(name),
                name_skeleton=look_alike_digest(name),
                updated_at=models.utcnow(),
            ),
        )

    def delete_store(self, store_id: int) -> None:
        # Children first and explicitly, so the outcome does not depend on cascade support.
        shown = self._drop_item_images(items.c.store_id == store_id)
        # Webhook deliveries hold no store_id: they go through their webhooks.
        of_store = select(webhooks.c.id).where(webhooks.c.store_id == store_id)
        execute(self.conn, delete(deliveries).where(deliveries.c.webhook_id.in_(of_store)))
        for table in STORE_CONTENTS:
            if table is not item_counts:
                execute(self.conn, delete(table).where(table.c.store_id == store_id))
        # The count's slots last, under the store's lock: it waits for the writes in flight,
        # which hold the store FOR KEY SHARE (count_items), and later ones wait for it and
        # find no store. Slots deleted before, a create's upsert would wait on the deleted
        # slot while this waits on its store lock: a deadlock.
        self.lock_store(store_id)
        execute(self.conn, delete(item_counts).where(item_counts.c.store_id == store_id))
        execute(self.conn, delete(stores).where(stores.c.id == store_id))
        drop_unused(self.conn, shown)

    def _drop_item_images(self, which_items: ColumnElement[bool]) -> list[str]:
        """Unlink the photos of these items: the hashes they showed, to drop when unused."""
        shown = shown_hashes(self.conn, which_items)
        if shown:
            chosen = select(items.c.id).where(which_items)
            execute(self.conn, delete(item_images).where(item_images.c.item_id.in_(chosen)))
        return shown

    # Items

    def list_items(self, query: ItemQuery) -> Page[Item]:
        conditions: list[ColumnElement[bool]] = name_filters(items.c.name_key, query.name, query.q)
        if query.store_id is not None:
            conditions.append(items.c.store_id == query.store_id)
        if query.tag_id is not None:
            conditions.append(
                exists().where(
                    item_tags.c.item_id == items.c.id, item_tags.c.tag_id == query.tag_id
                )
            )
        if query.min_price is not None:
            conditions.append(items.c.price_cents >= query.min_price.cents)
        if query.max_price is not None:
            conditions.append(items.c.price_cents <= query.max_price.cents)
        if query.in_stock is not None:
            conditions.append(items.c.quantity > 0 if query.in_stock else items.c.quantity == 0)
        stmt = item_query(self._dialect)
        sorts = ITEM_SORTS
        if query.search is not None:
            search = ItemSearch(self._dialect, items, query.search)
            conditions.append(search.condition())
            if query.page.sort == "relevance":
                # Highest score first, then by id: ascending on the negated score keeps the
                # one direction keyset() pages in, so (rank, id) is a total order.
                rank = (-search.score()).label("search_rank")
                stmt = stmt.add_columns(rank)
                sorts = {**ITEM_SORTS, "relevance": rank}
        if conditions:
            stmt = stmt.where(and_(*conditions))
        stmt = keyset(stmt, sorts, items.c.id, query.page)
        rows, after = page_of(self._read(stmt).all(), sorts, query.page)
        return Page([item_of(r._mapping) for r in rows], after)

    def get_item(self, item_id: int) -> Item | None:
        row = fetch_one(self.conn, item_by_id(self._dialect), item_id=item_id)
        return None if row is None else item_of(row)

    def item_store(self, item_id: int) -> int | None:
        store_id: int | None = self._read(_ITEM_STORE, {"item_id": item_id}).scalar()
        return store_id

    def count_items(self, store_id: int, delta: int) -> str | None:
        """Move a store's item count of live items; the store's name (None when there is no
        such store). The trash's restore counts its item back with it (db/trash.py).

        The store's row is read, not written: on PostgreSQL under FOR KEY SHARE, which
        concurrent creates share, and which keeps the store until this transaction ends.
        """
        shared = _STORE_NAME_KEPT if self._dialect == "postgresql" else _STORE_NAME
        name: str | None = self._read(shared, {"store_id": store_id}).scalar()
        if name is not None:
            execute(self.conn, count_change(self._dialect), {"store_id": store_id, "delta": delta})
        return name

    def add_item(self, store_id: int, fields: ItemFields, item_id: int | None = None) -> Item:
        now = models.utcnow()
        values: dict[str, Any] = {
            "store_id": store_id,
            "name": fields.name,
            "name_key": name_key(fields.name),
            "price_cents": fields.price.cents,
            "quantity": fields.quantity,
            "description": fields.description,
            "created_at": now,
            "updated_at": now,
        }
        if item_id is not None:
            values["id"] = item_id
        new_id = int(
            execute(self.conn, insert(items).values(**values).returning(items.c.id)).scalar_one()
        )
        store_name = self.count_items(store_id, 1)
        if item_id is not None:
            # Last, once every check and the insert itself have passed: see _advance_sequence.
            self._advance_sequence(item_id)
        # The item as stored, without reading it back: every column is what was just written
        # (timestamps keep their microseconds on both databases), and a new item has no tags.
        return Item(
            new_id,
            fields.name,
            fields.price,
            fields.quantity,
            fields.description,
            store_id,
            Ref(store_id, store_name or ""),
            now,
            now,
            [],
        )

    def _advance_sequence(self, used_id: int) -> None:
        """Keep PostgreSQL's id sequence ahead of a client-chosen id (SQLite does it itself).

        setval is not transactional: a rollback does not undo it. Moved before the insert, a
        PUT refused by a constraint (a duplicate name) still pushed every later POST id past
        its id, up to 2^53. So it runs as the create's last statement, when only the COMMIT
        can still fail; should that happen, the sequence has merely skipped ahead (a gap),
        never fallen behind a used id. SQLite's AUTOINCREMENT counter is a table row, rolled
        back with the rest.
        """
        if self._dialect != "postgresql":
            return
        # Concurrent PUTs must not move the sequence backwards: serialise them on a lock,
        # held to the end of the transaction. It is the last lock a create takes, so it
        # cannot close a cycle with the row locks taken before it.
        self.conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('items_id_seq'))"))
        self.conn.execute(
            text(
                "SELECT setval('items_id_seq', :id) "
                "WHERE :id > (SELECT last_value FROM items_id_seq)"
            ),
            {"id": used_id},
        )

    def update_item(self, item_id: int, changes: ItemChanges) -> None:
        values: dict[str, Any] = {"updated_at": models.utcnow()}
        if changes.name is not None:
            values["name"] = changes.name
            values["name_key"] = name_key(changes.name)
        if changes.price is not None:
            values["price_cents"] = changes.price.cents
        if changes.quantity is not None:
            values["quantity"] = changes.quantity
        if changes.description is not None:
            values["description"] = changes.description
        new_store = changes.store_id
        old_store = None
        if new_store is not None:
            values["store_id"] = new_store
            old_store = self.item_store(item_id)
        execute(self.conn, update(items).where(items.c.id == item_id).values(**values))
        if old_store is not None and new_store is not None and new_store != old_store:
            # In the order of the stores' ids: two moves between the same stores in
            # opposite directions, whose connections share a slot, take the slots' row
            # locks in one order and cannot deadlock.
            for store_id, delta in sorted(((old_store, -1), (new_store, 1))):
                self.count_items(store_id, delta)

    def delete_item(self, item_id: int, deleted_by: int | None) -> bool:
        # Into the trash: the row stays, with its tags and photo, for a restore
        # (db/trash.py); the worker's purge deletes it for good. The store's count is of
        # live items.
        now = models.utcnow()
        store_id = execute(
            self.conn,
            update(items)
            .where(items.c.id == item_id, LIVE)
            .values(deleted_at=now, deleted_by=deleted_by)
            .returning(items.c.store_id),
        ).scalar()
        if store_id is None:
            return False
        self.count_items(store_id, -1)
        return True

    def item_in_trash(self, item_id: int) -> bool:
        trashed = exists().where(items.c.id == item_id, ~LIVE)
        return bool(self.conn.execute(select(trashed)).scalar())

    def unlink_item_tags(self, item_id: int) -> None:
        execute(self.conn, delete(item_tags).where(item_tags.c.item_id == item_id))

    # Tags

    def list_tags(self, query: TagQuery) -> Page[Tag]:
        stmt = select(tags).where(
            tags.c.store_id == query.store_id, *name_filters(tags.c.name_key, query.name, query.q)
        )
        stmt = keyset(stmt, TAG_SORTS, tags.c.id, query.page)
        rows, after = page_of(self._read(stmt).all(), TAG_SORTS, query.page)
        return Page([Tag(r.id, r.name, r.store_id) for r in rows], after)

    def get_tag(self, tag_id: int, with_items: bool) -> Tag | None:
        row = self._read(tag_by_id(self._dialect, with_items), {"tag_id": tag_id}).first()
        if row is None:
            return None
        return Tag(row.id, row.name, row.store_id, briefs(row.items_json) if with_items else [])

    def add_tag(self, store_id: int, name: str) -> int:
        now = models.utcnow()
        stmt = (
            insert(tags)
            .values(
                store_id=store_id,
                name=name,
                name_key=name_key(name),
                created_at=now,
                updated_at=now,
            )
            .returning(tags.c.id)
        )
        return int(execute(self.conn, stmt).scalar_one())

    def tag_in_use(self, tag_id: int) -> bool:
        # Only live items hold a tag: links of items in the trash go with the tag.
        labelled = exists().where(
            item_tags.c.tag_id == tag_id, item_tags.c.item_id == items.c.id, LIVE
        )
        return bool(self.conn.execute(select(labelled)).scalar())

    def delete_tag(self, tag_id: int) -> None:
        # By now no live item has the tag (tag_in_use); items in the trash lose it, and a
        # restore brings back the tags that still exist.
        execute(self.conn, delete(item_tags).where(item_tags.c.tag_id == tag_id))
        execute(self.conn, delete(tags).where(tags.c.id == tag_id))

    def link(self, item_id: int, tag_id: int, store_id: int) -> bool:
        dialect_insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = (
            dialect_insert(item_tags)
            .values(item_id=item_id, tag_id=tag_id, store_id=store_id)
            .on_conflict_do_nothing()
            .returning(item_tags.c.item_id)
        )
        # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT.
        return execute(self.conn, stmt).first() is not None

    def unlink(self, item_id: int, tag_id: int) -> bool:
        stmt = (
            delete(item_tags)
            .where(item_tags.c.item_id == item_id, item_tags.c.tag_id == tag_id)
            .returning(item_tags.c.item_id)
        )
        return execute(self.conn, stmt).first() is not None

    # Imports: rows matched by name, a batch at a time

    def items_named(self, store_id: int, keys: list[str]) -> dict[str, Item]:
        stmt = item_query(self._dialect).where(
            items.c.store_id == store_id, items.c.name_key.in_(keys)
        )
        found = (item_of(row._mapping) for row in self._read(stmt))
        return {name_key(item.name): item for item in found}

    def tags_named(self, store_id: int, keys: list[str]) -> dict[str, int]:
        stmt = select(tags.c.name_key, tags.c.id).where(
            tags.c.store_id == store_id, tags.c.name_key.in_(keys)
        )
        return {row.name_key: int(row.id) for row in self._read(stmt)}

    def add_items(self, store_id: int, fields: list[ItemFields]) -> list[int]:
        if not fields:
            return []
        now = models.utcnow()
        rows = [
            {
                "store_id": store_id,
                "name": f.name,
                "name_key": name_key(f.name),
                "price_cents": f.price.cents,
                "quantity": f.quantity,
                "description": f.description,
                "created_at": now,
                "updated_at": now,
            }
            for f in fields
        ]
        # One INSERT for the batch (SQLAlchemy's "insertmanyvalues"), its ids in the rows' order.
        stmt = insert(items).returning(items.c.id, sort_by_parameter_order=True)
        ids = [int(row[0]) for row in execute(self.conn, stmt, rows)]
        self.count_items(store_id, len(ids))
        return ids

    def link_many(self, store_id: int, links: list[tuple[int, int]]) -> None:
        if links:
            rows = [{"item_id": i, "tag_id": t, "store_id": store_id} for i, t in links]
            execute(self.conn, insert(item_tags), rows)
