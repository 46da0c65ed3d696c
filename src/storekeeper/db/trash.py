"""A store's trash: items marked deleted, listed, restored, and purged for good."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.engine import Connection

from storekeeper.db import models
from storekeeper.db.catalog import (
    LIVE,
    CatalogRepository,
    any_item_query,
    item_of,
    item_tags,
    items,
)
from storekeeper.db.constraints import execute
from storekeeper.db.images import drop_unused, item_images, shown_hashes
from storekeeper.db.paging import Sorts, keyset, page_of
from storekeeper.domain.model import Page, TrashedItem, TrashQuery
from storekeeper.domain.values import name_key

TRASHED = ~LIVE
TRASH_SORTS: Sorts = {"deleted_at": items.c.deleted_at, "id": items.c.id}


class TrashRepository:
    """Items in the trash inside one unit of work (domain/trash.py's TrashRepository)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._dialect = conn.dialect.name
        self._catalog = CatalogRepository(conn)

    def _trashed(self, row: Any) -> TrashedItem:
        return TrashedItem.of(item_of(row), row["deleted_at"], row["deleted_by"])

    def list_trash(self, query: TrashQuery) -> Page[TrashedItem]:
        stmt = any_item_query(self._dialect).where(TRASHED, items.c.store_id == query.store_id)
        stmt = keyset(stmt, TRASH_SORTS, items.c.id, query.page)
        rows, after = page_of(self.conn.execute(stmt).all(), TRASH_SORTS, query.page)
        return Page([self._trashed(r._mapping) for r in rows], after)

    def trashed(self, item_id: int) -> TrashedItem | None:
        stmt = any_item_query(self._dialect).where(items.c.id == item_id, TRASHED)
        row = self.conn.execute(stmt).first()
        return None if row is None else self._trashed(row._mapping)

    def name_taken(self, store_id: int, key: str) -> bool:
        taken = exists().where(items.c.store_id == store_id, items.c.name_key == key, LIVE)
        return bool(self.conn.execute(select(taken)).scalar())

    def restore(self, item_id: int, name: str | None) -> bool:
        values: dict[str, Any] = {"deleted_at": None, "deleted_by": None}
        if name is not None:
            # A new name is a change of the item's representation; a plain restore brings it
            # back exactly as it was, updated_at (and so its ETag) included.
            values |= {"name": name, "name_key": name_key(name), "updated_at": models.utcnow()}
        # The partial unique index backs the caller's name check against a concurrent create.
        store_id = execute(
            self.conn,
            update(items)
            .where(items.c.id == item_id, TRASHED)
            .values(**values)
            .returning(items.c.store_id),
        ).scalar()
        if store_id is None:
            return False
        self._catalog.count_items(store_id, 1)
        return True

    def purge(self, deleted_before: datetime, limit: int) -> int:
        # Oldest first, a batch at a time. On PostgreSQL the rows are locked and rows another
        # worker holds are skipped, so several workers share the work and a restore racing
        # the purge either wins (the row is live again, and not chosen) or waits for it.
        # SQLite runs write transactions one at a time. Deleting what is gone already deletes
        # nothing: the purge is idempotent.
        chosen = (
            select(items.c.id)
            .where(TRASHED, items.c.deleted_at < deleted_before)
            .order_by(items.c.deleted_at)
            .limit(limit)
        )
        if self._dialect == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        ids = list(self.conn.execute(chosen).scalars())
        if not ids:
            return 0
        # Children first and explicitly, so the outcome does not depend on cascade support;
        # then the photos only these items showed (db/images.py keeps bytes still shown).
        shown = shown_hashes(self.conn, items.c.id.in_(ids))
        execute(self.conn, delete(item_tags).where(item_tags.c.item_id.in_(ids)))
        execute(self.conn, delete(item_images).where(item_images.c.item_id.in_(ids)))
        execute(self.conn, delete(items).where(items.c.id.in_(ids)))
        drop_unused(self.conn, shown)
        return len(ids)
