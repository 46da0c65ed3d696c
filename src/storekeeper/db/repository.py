"""Every query of the catalog: filters, sorts, keyset pages and constraint-checked writes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

import orjson
from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from storekeeper.db import models
from storekeeper.domain.errors import Conflict, DomainError, Invalid
from storekeeper.domain.model import (
    Item,
    ItemBrief,
    ItemFields,
    ListQuery,
    Page,
    Ref,
    Store,
    Tag,
)
from storekeeper.domain.values import cents_to_price, name_key

stores: Table = cast(Table, models.Store.__table__)
items: Table = cast(Table, models.Item.__table__)
tags: Table = cast(Table, models.Tag.__table__)
item_tags: Table = cast(Table, models.ItemTag.__table__)
users: Table = cast(Table, models.User.__table__)

_CONFLICTS = {
    "uq_stores_name_key": "A store with this name already exists.",
    "uq_items_store_id_name_key": "An item with this name already exists in this store.",
    "uq_tags_store_id_name_key": "A tag with this name already exists in this store.",
    "uq_users_username_key": "This username is taken.",
    "uq_users_email_key": "This email address is already registered.",
    "pk_items": "An item with this id was created at the same moment; retry the request.",
    "uq_items_id": "An item with this id was created at the same moment; retry the request.",
    "pk_idempotency_keys": "A request with this Idempotency-Key is still in flight.",
    "uq_idempotency_keys_user_id_key": "A request with this Idempotency-Key is still in flight.",
}
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ((?:\w+\.\w+(?:, )?)+)")


def constraint_of(exc: IntegrityError) -> str:
    """The violated constraint's name, the same on SQLite (which names none) and PostgreSQL."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None):
        return str(diag.constraint_name)
    match = _SQLITE_UNIQUE.search(str(exc.orig))
    if match:
        parts = [p.split(".") for p in match.group(1).split(", ")]
        return "uq_" + parts[0][0] + "_" + "_".join(col for _, col in parts)
    if "CHECK constraint failed" in str(exc.orig):
        return "ck_"
    return "fk_"


def domain_error(exc: IntegrityError) -> DomainError:
    """The domain's word for a constraint the database enforced."""
    name = constraint_of(exc)
    if name in _CONFLICTS:
        return Conflict(_CONFLICTS[name])
    if name.startswith("ck_"):
        return Invalid({}, "A value is outside its allowed range.")
    return Conflict("The request conflicts with a concurrent change; retry it.")


def lock_row(conn: Connection, table: Table, row_id: int) -> None:
    """Hold a row until the transaction ends (SQLite's write transactions are serial already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(table.c.id).where(table.c.id == row_id).with_for_update())


def execute(conn: Connection, statement: Any, params: Any = None) -> Any:
    """Run a write, turning constraint violations into domain errors."""
    try:
        return conn.execute(statement, params)
    except IntegrityError as exc:
        raise domain_error(exc) from None


_SORTS: dict[str, dict[str, ColumnElement[Any]]] = {
    "stores": {"id": stores.c.id, "name": stores.c.name_key, "created_at": stores.c.created_at},
    "items": {
        "id": items.c.id,
        "name": items.c.name_key,
        "price": items.c.price_cents,
        "created_at": items.c.created_at,
    },
    "tags": {"id": tags.c.id, "name": tags.c.name_key, "created_at": tags.c.created_at},
}
_SORT_ATTR = {"id": "id", "name": "name_key", "price": "price_cents", "created_at": "created_at"}


def _cursor_value(sort: str, raw: Any) -> Any:
    if sort == "created_at":
        return datetime.fromisoformat(raw)
    return raw


def _key_json(sort: str, row: Any) -> tuple[Any, int]:
    value = getattr(row, _SORT_ATTR[sort])
    return (value.isoformat() if isinstance(value, datetime) else value, row.id)


def keyset(
    stmt: Select[Any], table: str, id_col: ColumnElement[int], query: ListQuery
) -> Select[Any]:
    """Order, position and limit a list query by (sort key, id): every page costs the same."""
    col = _SORTS[table][query.sort]
    cols = [id_col] if query.sort == "id" else [col, id_col]
    if query.after is not None:
        value, last_id = query.after
        if query.sort == "id":
            stmt = stmt.where(id_col < last_id if query.descending else id_col > last_id)
        else:
            left, right = (
                tuple_(col, id_col),
                tuple_(literal(_cursor_value(query.sort, value)), literal(last_id)),
            )
            stmt = stmt.where(left < right if query.descending else left > right)
    order = [c.desc() for c in cols] if query.descending else [c.asc() for c in cols]
    return stmt.order_by(*order).limit(query.limit + 1)


def _page(rows: Sequence[Any], query: ListQuery) -> tuple[Sequence[Any], tuple[Any, int] | None]:
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        return rows, _key_json(query.sort, rows[-1])
    return rows, None


def _like(text_key: str) -> str:
    escaped = text_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _embedded(value: Any) -> list[dict[str, Any]]:
    """An embedded JSON array: text on SQLite, already decoded by psycopg on PostgreSQL."""
    if value is None:
        return []
    decoded: list[dict[str, Any]] = orjson.loads(value) if isinstance(value, str | bytes) else value
    return decoded


def _refs(value: Any) -> list[Ref]:
    return [Ref(e["id"], e["name"]) for e in _embedded(value)]


def _briefs(value: Any) -> list[ItemBrief]:
    return [
        ItemBrief(e["id"], e["name"], cents_to_price(e["price_cents"]), e["quantity"])
        for e in _embedded(value)
    ]


def json_rows(dialect: str, rows: Select[Any], keys: Sequence[str], outer: Table) -> Any:
    """A scalar subquery folding the rows of an ordered query, correlated to `outer`, into JSON.

    It lets one statement carry a resource and its embedded lists, so a single-resource read
    is one statement and a list page is one statement, whatever its size. The correlation is
    explicit: SQLAlchemy does not correlate through a derived table by itself, and would
    otherwise add `outer` to the inner FROM (every row would get every row's list).
    """
    sub = rows.correlate(outer).subquery()
    pairs: list[Any] = []
    for key in keys:
        pairs += [literal_column(f"'{key}'"), sub.c[key]]
    if dialect == "postgresql":
        folded = func.json_agg(aggregate_order_by(func.json_build_object(*pairs), sub.c.id))
        return select(func.coalesce(folded, literal_column("'[]'::json"))).scalar_subquery()
    return select(func.json_group_array(func.json_object(*pairs))).scalar_subquery()


_ITEM_COLUMNS = (*items.c, stores.c.name.label("store_name"))
_BRIEF_KEYS = ("id", "name", "price_cents", "quantity")
# A tag embeds the first items it labels; all of them are at /item?tag={id}.
TAG_EMBED_LIMIT = 50


# The read statements are built once per dialect with bind parameters: building a SQLAlchemy
# statement costs more than running a cached one, and these run on every read.


@cache
def item_query(dialect: str) -> Select[Any]:
    """Items with their store's name and their tags (a JSON array), for lists and reads."""
    item_tag_rows = (
        select(tags.c.id, tags.c.name)
        .join(item_tags, item_tags.c.tag_id == tags.c.id)
        .where(item_tags.c.item_id == items.c.id)
        .order_by(tags.c.id)
    )
    tags_json = json_rows(dialect, item_tag_rows, ("id", "name"), items).label("tags_json")
    return select(*_ITEM_COLUMNS, tags_json).join(stores, stores.c.id == items.c.store_id)


@cache
def item_by_id(dialect: str) -> Select[Any]:
    """One item, as item_query shapes it."""
    return item_query(dialect).where(items.c.id == bindparam("item_id"))


@cache
def store_by_id(dialect: str, embed: int) -> Select[Any]:
    """One store with its first items and tags (JSON arrays)."""
    first_items = (
        select(items.c.id, items.c.name, items.c.price_cents, items.c.quantity)
        .where(items.c.store_id == stores.c.id)
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
        json_rows(dialect, first_items, _BRIEF_KEYS, stores).label("items_json"),
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
            .where(item_tags.c.tag_id == tags.c.id)
            .order_by(items.c.id)
            .limit(TAG_EMBED_LIMIT)
        )
        stmt = stmt.add_columns(json_rows(dialect, labelled, _BRIEF_KEYS, tags).label("items_json"))
    return stmt


_STORE_OWNER = select(stores.c.owner_id).where(stores.c.id == bindparam("store_id"))
_ITEM_STORE = select(items.c.store_id).where(items.c.id == bindparam("item_id"))


class CatalogRepository:
    """Stores, items and tags in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._dialect = conn.dialect.name

    def _read(self, statement: Any, params: dict[str, Any] | None = None) -> Any:
        """Run a read on the Core connection: no ORM bookkeeping on the hot path."""
        return self.conn.execute(statement, params)

    def lock(self, kind: str, row_id: int) -> None:
        """Lock a store, item or tag row for the rest of the transaction."""
        lock_row(self.conn, {"store": stores, "item": items, "tag": tags}[kind], row_id)

    # Stores

    def _store(
        self, row: Any, items_: list[ItemBrief] | None = None, tags_: list[Ref] | None = None
    ) -> Store:
        return Store(
            row.id,
            row.name,
            row.owner_id,
            row.item_count,
            row.created_at,
            row.updated_at,
            items_ or [],
            tags_ or [],
        )

    def list_stores(self, query: ListQuery) -> Page[Store]:
        stmt = select(stores)
        if query.name is not None:
            stmt = stmt.where(stores.c.name_key == name_key(query.name))
        if query.q is not None:
            stmt = stmt.where(stores.c.name_key.like(_like(name_key(query.q)), escape="\\"))
        rows, after = _page(self._read(keyset(stmt, "stores", stores.c.id, query)).all(), query)
        return Page([self._store(r) for r in rows], after)

    def store_detail(self, store_id: int, embed: int) -> Store | None:
        row = self._read(store_by_id(self._dialect, embed), {"store_id": store_id}).first()
        if row is None:
            return None
        return self._store(row, _briefs(row.items_json), _refs(row.tags_json))

    def store_owner(self, store_id: int) -> tuple[bool, int | None]:
        owner = self._read(_STORE_OWNER, {"store_id": store_id}).first()
        return (False, None) if owner is None else (True, owner.owner_id)

    def add_store(self, name: str, owner_id: int | None) -> int:
        now = models.utcnow()
        stmt = (
            insert(stores)
            .values(
                name=name,
                name_key=name_key(name),
                owner_id=owner_id,
                item_count=0,
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
            .values(name=name, name_key=name_key(name), updated_at=models.utcnow()),
        )

    def delete_store(self, store_id: int) -> None:
        # Children first and explicitly, so the outcome does not depend on cascade support.
        for table in (item_tags, items, tags):
            execute(self.conn, delete(table).where(table.c.store_id == store_id))
        execute(self.conn, delete(stores).where(stores.c.id == store_id))

    # Items

    @staticmethod
    def _item(row: Any) -> Item:
        return Item(
            row.id,
            row.name,
            cents_to_price(row.price_cents),
            row.quantity,
            row.description,
            row.store_id,
            Ref(row.store_id, row.store_name),
            row.created_at,
            row.updated_at,
            _refs(row.tags_json),
        )

    def list_items(self, query: ListQuery) -> Page[Item]:
        stmt = item_query(self._dialect)
        conditions: list[ColumnElement[bool]] = []
        if query.store_id is not None:
            conditions.append(items.c.store_id == query.store_id)
        if query.tag_id is not None:
            conditions.append(
                exists().where(
                    item_tags.c.item_id == items.c.id, item_tags.c.tag_id == query.tag_id
                )
            )
        if query.min_price_cents is not None:
            conditions.append(items.c.price_cents >= query.min_price_cents)
        if query.max_price_cents is not None:
            conditions.append(items.c.price_cents <= query.max_price_cents)
        if query.in_stock is not None:
            conditions.append(items.c.quantity > 0 if query.in_stock else items.c.quantity == 0)
        if query.name is not None:
            conditions.append(items.c.name_key == name_key(query.name))
        if query.q is not None:
            conditions.append(items.c.name_key.like(_like(name_key(query.q)), escape="\\"))
        if conditions:
            stmt = stmt.where(and_(*conditions))
        rows, after = _page(self._read(keyset(stmt, "items", items.c.id, query)).all(), query)
        return Page([self._item(r) for r in rows], after)

    def get_item(self, item_id: int) -> Item | None:
        row = self._read(item_by_id(self._dialect), {"item_id": item_id}).first()
        return None if row is None else self._item(row)

    def item_store(self, item_id: int) -> int | None:
        store_id: int | None = self._read(_ITEM_STORE, {"item_id": item_id}).scalar()
        return store_id

    def _count(self, store_id: int, delta: int) -> None:
        execute(
            self.conn,
            update(stores)
            .where(stores.c.id == store_id)
            .values(item_count=stores.c.item_count + delta),
        )

    def add_item(self, store_id: int, fields: ItemFields, item_id: int | None = None) -> int:
        now = models.utcnow()
        values: dict[str, Any] = {
            "store_id": store_id,
            "name": fields.name,
            "name_key": name_key(fields.name),
            "price_cents": fields.price_cents,
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
        self._count(store_id, 1)
        if item_id is not None:
            # Last, once every check and the insert itself have passed: see _advance_sequence.
            self._advance_sequence(item_id)
        return new_id

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

    def update_item(self, item_id: int, changes: dict[str, object]) -> None:
        values: dict[str, Any] = dict(changes)
        if "name" in values:
            values["name_key"] = name_key(str(values["name"]))
        new_store = values.get("store_id")
        old_store = self.item_store(item_id) if new_store is not None else None
        values["updated_at"] = models.utcnow()
        execute(self.conn, update(items).where(items.c.id == item_id).values(**values))
        if old_store is not None and isinstance(new_store, int) and new_store != old_store:
            self._count(old_store, -1)
            self._count(new_store, 1)

    def delete_item(self, item_id: int) -> None:
        store_id = execute(
            self.conn, delete(items).where(items.c.id == item_id).returning(items.c.store_id)
        ).scalar()
        if store_id is not None:
            self._count(store_id, -1)

    def unlink_item_tags(self, item_id: int) -> None:
        execute(self.conn, delete(item_tags).where(item_tags.c.item_id == item_id))

    # Tags

    def list_tags(self, store_id: int, query: ListQuery) -> Page[Tag]:
        stmt = select(tags).where(tags.c.store_id == store_id)
        if query.name is not None:
            stmt = stmt.where(tags.c.name_key == name_key(query.name))
        if query.q is not None:
            stmt = stmt.where(tags.c.name_key.like(_like(name_key(query.q)), escape="\\"))
        rows, after = _page(self._read(keyset(stmt, "tags", tags.c.id, query)).all(), query)
        return Page([Tag(r.id, r.name, r.store_id) for r in rows], after)

    def get_tag(self, tag_id: int, with_items: bool) -> Tag | None:
        row = self._read(tag_by_id(self._dialect, with_items), {"tag_id": tag_id}).first()
        if row is None:
            return None
        return Tag(row.id, row.name, row.store_id, _briefs(row.items_json) if with_items else [])

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
        return bool(
            self.conn.execute(select(exists().where(item_tags.c.tag_id == tag_id))).scalar()
        )

    def delete_tag(self, tag_id: int) -> None:
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
