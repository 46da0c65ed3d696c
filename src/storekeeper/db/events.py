"""A store's history: events added with each change and read newest first, never altered."""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection

from storekeeper.db import models
from storekeeper.db.constraints import execute
from storekeeper.db.paging import Sorts, keyset, page_of
from storekeeper.db.webhooks import fan_out
from storekeeper.domain.events import Event, EventQuery, NewEvent, Resource, Who
from storekeeper.domain.model import Page

store_events: Table = cast(Table, models.StoreEvent.__table__)
users: Table = cast(Table, models.User.__table__)

EVENT_SORTS: Sorts = {"id": store_events.c.id}


class EventRepository:
    """Store events in one transaction: an insert and reads, and no statement that changes
    or removes a written event (a store's deletion removes its events, as the rest of it)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, event: NewEvent) -> None:
        event_id = execute(
            self.conn,
            insert(store_events)
            .values(
                store_id=event.store_id,
                type=str(event.type),
                actor_id=event.actor_id,
                resource_type=event.resource_type,
                resource_id=event.resource_id,
                changes=json.dumps(event.changes, ensure_ascii=False, separators=(",", ":")),
                request_id=event.request_id,
                created_at=models.utcnow(),
            )
            .returning(store_events.c.id),
        ).scalar_one()
        # The store's webhooks get it in this same transaction: delivered once committed,
        # never when rolled back (domain/webhooks.py).
        fan_out(self.conn, event.store_id, int(event_id), str(event.type))

    def get(self, event_id: int) -> Event | None:
        """One event as the history shows it (what a webhook delivery carries)."""
        row = self.conn.execute(
            select(store_events, users.c.username)
            .outerjoin(users, users.c.id == store_events.c.actor_id)
            .where(store_events.c.id == event_id)
        ).first()
        return None if row is None else _event(row._mapping)

    def page(self, query: EventQuery) -> Page[Event]:
        stmt = (
            select(store_events, users.c.username)
            .outerjoin(users, users.c.id == store_events.c.actor_id)
            .where(store_events.c.store_id == query.store_id)
        )
        if query.type is not None:
            stmt = stmt.where(store_events.c.type == query.type)
        if query.resource is not None:
            kind, resource_id = query.resource
            stmt = stmt.where(
                store_events.c.resource_type == kind, store_events.c.resource_id == resource_id
            )
        stmt = keyset(stmt, EVENT_SORTS, store_events.c.id, query.page)
        rows, after = page_of(self.conn.execute(stmt).all(), EVENT_SORTS, query.page)
        return Page([_event(row._mapping) for row in rows], after)


def _event(row: Any) -> Event:
    actor_id = row["actor_id"]
    return Event(
        row["id"],
        row["store_id"],
        row["type"],
        None if actor_id is None else Who(actor_id, row["username"]),
        Resource(row["resource_type"], row["resource_id"]),
        json.loads(row["changes"]),
        row["request_id"],
        row["created_at"],
    )
