"""Item photos' rows: bytes by content hash, their variants, and which item shows which."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from storekeeper.db import models
from storekeeper.db.constraints import execute
from storekeeper.domain.images import Picture, Size, StoredPicture

items: Table = cast(Table, models.Item.__table__)
blobs: Table = cast(Table, models.ImageBlob.__table__)
variants: Table = cast(Table, models.ImageVariant.__table__)
item_images: Table = cast(Table, models.ItemImage.__table__)


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def drop_unused(conn: Connection, hashes: Iterable[str]) -> None:
    """Remove the photos of these hashes that no item shows any more (their variants go too).

    Each in a savepoint: on PostgreSQL a concurrent request may have shown the same photo on
    another item meanwhile; its reference then refuses the delete (RESTRICT), and the bytes
    stay, which is what that request needs.
    """
    for sha256 in set(hashes):
        unused = ~exists().where(item_images.c.sha256 == sha256)
        try:
            with conn.begin_nested():
                conn.execute(delete(blobs).where(and_(blobs.c.sha256 == sha256, unused)))
        except IntegrityError:
            continue


def shown_hashes(conn: Connection, *where: Any) -> list[str]:
    """The photos shown by the items that `where` selects (before those items are deleted)."""
    stmt = (
        select(item_images.c.sha256)
        .join(items, items.c.id == item_images.c.item_id)
        .where(*where)
        .distinct()
    )
    return list(conn.execute(stmt).scalars())


class ImageRepository:
    """Photos inside one unit of work (domain/images.py's ImageRepository)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def store(self, picture: Picture) -> None:
        stmt = (
            _insert(self.conn, blobs)
            .values(
                sha256=picture.sha256,
                content_type=picture.content_type,
                width=picture.width,
                height=picture.height,
                byte_count=len(picture.data),
                data=picture.data,
                created_at=models.utcnow(),
            )
            .on_conflict_do_nothing()
        )
        execute(self.conn, stmt)

    def shown(self, item_id: int) -> str | None:
        found: str | None = self.conn.execute(
            select(item_images.c.sha256).where(item_images.c.item_id == item_id)
        ).scalar()
        return found

    def attach(self, item_id: int, sha256: str) -> tuple[bool, str | None]:
        previous = self.shown(item_id)
        now = models.utcnow()
        if previous is None:
            execute(
                self.conn,
                item_images.insert().values(item_id=item_id, sha256=sha256, updated_at=now),
            )
        else:
            execute(
                self.conn,
                item_images.update()
                .where(item_images.c.item_id == item_id)
                .values(sha256=sha256, updated_at=now),
            )
        self._touch(item_id, now)
        return previous is None, previous

    def _touch(self, item_id: int, now: datetime) -> None:
        # The item's representation changed (its `image`): its updated_at says so too.
        execute(self.conn, update(items).where(items.c.id == item_id).values(updated_at=now))

    def detach(self, item_id: int) -> str | None:
        stmt = (
            delete(item_images)
            .where(item_images.c.item_id == item_id)
            .returning(item_images.c.sha256)
        )
        found: str | None = execute(self.conn, stmt).scalar()
        if found is not None:
            self._touch(item_id, models.utcnow())
        return found

    def drop_if_unused(self, sha256: str) -> None:
        drop_unused(self.conn, [sha256])

    def read(self, item_id: int, size: Size | None) -> StoredPicture | None:
        shown = select(item_images.c.sha256).where(item_images.c.item_id == item_id)
        if size is not None:
            # The variant when made; the photo itself until then.
            variant = self.conn.execute(
                select(
                    variants.c.sha256,
                    variants.c.content_type,
                    variants.c.data,
                    variants.c.source_sha256,
                ).where(
                    variants.c.source_sha256 == shown.scalar_subquery(), variants.c.size == size
                )
            ).first()
            if variant is not None:
                return StoredPicture(
                    variant.sha256, variant.content_type, variant.data, variant.source_sha256, True
                )
        row = self.conn.execute(
            select(blobs.c.sha256, blobs.c.content_type, blobs.c.data).where(
                blobs.c.sha256 == shown.scalar_subquery()
            )
        ).first()
        if row is None:
            return None
        return StoredPicture(row.sha256, row.content_type, row.data, row.sha256)

    def original(self, sha256: str) -> bytes | None:
        data: bytes | None = self.conn.execute(
            select(blobs.c.data).where(blobs.c.sha256 == sha256)
        ).scalar()
        return data

    def has_variant(self, sha256: str, size: Size) -> bool:
        found = exists().where(variants.c.source_sha256 == sha256, variants.c.size == size)
        return bool(self.conn.execute(select(found)).scalar())

    def store_variant(self, source: str, size: Size, picture: Picture) -> None:
        stmt = (
            _insert(self.conn, variants)
            .values(
                source_sha256=source,
                size=size,
                sha256=picture.sha256,
                content_type=picture.content_type,
                width=picture.width,
                height=picture.height,
                byte_count=len(picture.data),
                data=picture.data,
            )
            .on_conflict_do_nothing()
        )
        try:
            with self.conn.begin_nested():
                self.conn.execute(stmt)
        except IntegrityError:
            pass  # the photo was removed meanwhile: it needs no variant any more
