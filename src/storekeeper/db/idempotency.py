"""Idempotency records: claim a key, then store the first answer in the request's transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

import orjson
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Connection

from storekeeper.db import models
from storekeeper.db.constraints import execute
from storekeeper.domain.model import Claim, Outcome

keys: Table = cast(Table, models.IdempotencyKey.__table__)
TTL = timedelta(hours=24)
# A claim older than this is taken to belong to a request that died (every request gives up
# well before: a unit of work gives up after 4 seconds, see db/session.py).
LEASE = timedelta(seconds=30)


class IdempotencyRepository:
    """Idempotency records in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim(self, user_id: int, key: str, fingerprint: str) -> Claim:
        """Claim the key for a new request, or say why not (replay, in flight, other request)."""
        now = models.utcnow()
        self.conn.execute(delete(keys).where(keys.c.created_at < now - TTL))
        query = select(keys).where(keys.c.user_id == user_id, keys.c.key == key)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            execute(
                self.conn,
                insert(keys).values(
                    user_id=user_id, key=key, fingerprint=fingerprint, created_at=now, locked_at=now
                ),
            )
            return Claim(Outcome.NEW)
        if row.fingerprint != fingerprint:
            return Claim(Outcome.MISMATCH)
        if row.status is not None:
            headers = orjson.loads(row.headers) if row.headers else {}
            return Claim(Outcome.REPLAY, row.status, headers, row.body or b"")
        if row.locked_at > now - LEASE:
            return Claim(Outcome.IN_FLIGHT)
        self.conn.execute(
            update(keys).where(keys.c.user_id == user_id, keys.c.key == key).values(locked_at=now)
        )
        return Claim(Outcome.NEW)

    def complete(
        self, user_id: int, key: str, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        """Store the first answer; later retries replay it."""
        self.conn.execute(
            update(keys)
            .where(keys.c.user_id == user_id, keys.c.key == key)
            .values(status=status, headers=orjson.dumps(headers).decode(), body=body)
        )

    def release(self, user_id: int, key: str) -> None:
        """Forget a claim whose request bound nothing (invalid, or failed on the server)."""
        self.conn.execute(delete(keys).where(keys.c.user_id == user_id, keys.c.key == key))
