"""Seed stores, items, tags and links straight through SQL, fast enough for a million items."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg

from storekeeper.domain.names import look_alike_digest
from storekeeper.domain.values import name_key

TAGS_PER_STORE = 5
_BATCH = 20_000
_STORE = (
    "INSERT INTO stores (name, name_key, name_skeleton, owner_id, created_at, updated_at)"
    " VALUES ({0}, {0}, {0}, {0}, {0}, {0})"
)
# A store's item count is the sum of its slots (storekeeper/db/models.py, StoreItemCount):
# seeded whole into slot 0.
_COUNT = "INSERT INTO store_item_counts (store_id, slot, count) VALUES ({0}, 0, {0})"
_TAG = (
    "INSERT INTO tags (store_id, name, name_key, created_at, updated_at)"
    " VALUES ({0}, {0}, {0}, {0}, {0})"
)
_ITEM_COLUMNS = (
    "store_id, name, name_key, price_cents, quantity, description, created_at, updated_at"
)
_LINKS = (
    "INSERT INTO item_tags (item_id, tag_id, store_id) "
    "SELECT i.id, t.id, i.store_id FROM items i JOIN tags t "
    "ON t.store_id = i.store_id AND t.name = 'tag ' || (i.id % 5)"
)


def _store_keys(name: str) -> tuple[str, str, str]:
    """A store's name and the two keys the repository stores beside it."""
    return name, name_key(name), look_alike_digest(name)


def _items(store_ids: list[int], per_store: int, now: Any) -> Iterator[tuple[Any, ...]]:
    for store_id in store_ids:
        for n in range(per_store):
            name = f"Item {store_id}-{n}"
            yield (store_id, name, name_key(name), (n * 7919) % 100_000, n % 50, "", now, now)


def seed(url: str, owner_id: int, stores: int, items_per_store: int) -> dict[str, int]:
    """Fill the database of `url` (already migrated, with user `owner_id`); what was made."""
    if url.startswith("sqlite"):
        _seed_sqlite(url.removeprefix("sqlite:///"), owner_id, stores, items_per_store)
    else:
        _seed_postgres(url, owner_id, stores, items_per_store)
    return {"stores": stores, "items": stores * items_per_store, "tags": stores * TAGS_PER_STORE}


def _seed_sqlite(path: str, owner_id: int, stores: int, per_store: int) -> None:
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        with conn:
            store_ids = []
            for s in range(stores):
                name = f"Store {s}"
                cursor = conn.execute(_STORE.format("?"), (*_store_keys(name), owner_id, now, now))
                store_ids.append(int(cursor.lastrowid or 0))
            conn.executemany(_COUNT.format("?"), [(s, per_store) for s in store_ids])
            conn.executemany(
                _TAG.format("?"),
                [
                    (s, f"tag {t}", f"tag {t}", now, now)
                    for s in store_ids
                    for t in range(TAGS_PER_STORE)
                ],
            )
            rows = _items(store_ids, per_store, now)
            while batch := [row for _, row in zip(range(_BATCH), rows, strict=False)]:
                conn.executemany(
                    f"INSERT INTO items ({_ITEM_COLUMNS}) VALUES ({', '.join('?' * 8)})", batch
                )
            conn.execute(_LINKS)
        conn.execute("ANALYZE")
    finally:
        conn.close()


def _seed_postgres(url: str, owner_id: int, stores: int, per_store: int) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        store_ids = [
            conn.execute(
                _STORE.format("%s") + " RETURNING id",
                (*_store_keys(f"Store {s}"), owner_id, now, now),
            ).fetchone()[0]  # type: ignore[index]
            for s in range(stores)
        ]
        with conn.cursor() as cur:
            cur.executemany(_COUNT.format("%s"), [(s, per_store) for s in store_ids])
            cur.executemany(
                _TAG.format("%s"),
                [
                    (s, f"tag {t}", f"tag {t}", now, now)
                    for s in store_ids
                    for t in range(TAGS_PER_STORE)
                ],
            )
            with cur.copy(f"COPY items ({_ITEM_COLUMNS}) FROM STDIN") as copy:
                for row in _items(store_ids, per_store, now):
                    copy.write_row(row)
            cur.execute(_LINKS)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
