"""A store's webhooks and their delivery attempts; the fan-out of an event to them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from storekeeper.db import models
from storekeeper.db.constraints import execute
from storekeeper.db.jobs import JobRepository
from storekeeper.db.locks import lock_row
from storekeeper.db.paging import Sorts, keyset, page_of
from storekeeper.domain.model import Page, PageRequest
from storekeeper.domain.webhooks import (
    DELIVER_JOB,
    Attempt,
    Delivery,
    DeliveryQuery,
    DisabledReason,
    NewWebhook,
    Webhook,
    subscribed,
)

webhooks: Table = cast(Table, models.Webhook.__table__)
deliveries: Table = cast(Table, models.WebhookDelivery.__table__)
stores: Table = cast(Table, models.Store.__table__)

WEBHOOK_SORTS: Sorts = {"id": webhooks.c.id}
DELIVERY_SORTS: Sorts = {"id": deliveries.c.id}


def _events_json(wanted: tuple[str, ...]) -> str:
    return json.dumps(list(wanted), separators=(",", ":"))


def _webhook(row: Any) -> Webhook:
    return Webhook(
        id=row.id,
        store_id=row.store_id,
        url=row.url,
        description=row.description,
        events=tuple(json.loads(row.events)),
        enabled=bool(row.enabled),
        disabled_reason=row.disabled_reason,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        secret=row.secret,
        previous_secret=row.previous_secret,
        previous_secret_expires_at=row.previous_secret_expires_at,
        failing_since=row.failing_since,
        sending_until=row.sending_until,
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        type=row.type,
        job_id=row.job_id,
        attempt=row.attempt,
        status=row.status,
        response_status=row.response_status,
        duration_ms=row.duration_ms,
        error=row.error,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        attempted_at=row.attempted_at,
    )


def _pending(
    conn: Connection,
    webhook_id: int,
    event_id: int | None,
    type_: str,
    job_id: int | None,
    attempt: int,
    due: datetime,
) -> int:
    stmt = (
        insert(deliveries)
        .values(
            webhook_id=webhook_id,
            event_id=event_id,
            type=type_,
            job_id=job_id,
            attempt=attempt,
            status="pending",
            next_attempt_at=due,
            created_at=models.utcnow(),
        )
        .returning(deliveries.c.id)
    )
    return int(execute(conn, stmt).scalar_one())


def start_chain(conn: Connection, webhook_id: int, event_id: int | None, type_: str) -> int:
    """A first pending attempt due now and the job that drives it: the one way a chain starts
    (an event's fan-out, a redelivery, a ping). The job is the system's: no user's."""
    delivery_id = _pending(conn, webhook_id, event_id, type_, None, 1, models.utcnow())
    job_id = JobRepository(conn).add(DELIVER_JOB, {"delivery_id": delivery_id}, None)
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(job_id=job_id))
    return delivery_id


def fan_out(conn: Connection, store_id: int, event_id: int, type_: str) -> int:
    """Start a chain for each enabled webhook of the store subscribed to this type; how many.
    One indexed read when the store has no webhook (most stores)."""
    found = conn.execute(
        select(webhooks.c.id, webhooks.c.events)
        .where(webhooks.c.store_id == store_id, webhooks.c.enabled.is_(True))
        .order_by(webhooks.c.id)
    ).all()
    started = 0
    for row in found:
        if subscribed(json.loads(row.events), type_):
            start_chain(conn, row.id, event_id, type_)
            started += 1
    return started


class WebhookRepository:
    """Webhooks and deliveries in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # Webhooks

    def count_webhooks(self, store_id: int) -> int:
        query = select(func.count()).select_from(webhooks).where(webhooks.c.store_id == store_id)
        return int(self.conn.execute(query).scalar_one())

    def list_webhooks(self, store_id: int, page: PageRequest[Any]) -> Page[Webhook]:
        stmt = keyset(
            select(webhooks).where(webhooks.c.store_id == store_id),
            WEBHOOK_SORTS,
            webhooks.c.id,
            page,
        )
        rows, after = page_of(self.conn.execute(stmt).all(), WEBHOOK_SORTS, page)
        return Page([_webhook(r) for r in rows], after)

    def get_webhook(self, webhook_id: int) -> Webhook | None:
        row = self.conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()
        return None if row is None else _webhook(row)

    def lock_webhook(self, webhook_id: int) -> None:
        lock_row(self.conn, webhooks, webhook_id)

    def lock_store_webhooks(self, store_id: int) -> None:
        # The store's row stands for its set of webhooks: two additions at once count in turn.
        lock_row(self.conn, stores, store_id)

    def add_webhook(
        self, store_id: int, new: NewWebhook, secret: str, created_by: int | None
    ) -> int:
        now = models.utcnow()
        stmt = (
            insert(webhooks)
            .values(
                store_id=store_id,
                created_by=created_by,
                url=new.url,
                description=new.description,
                events=_events_json(new.events),
                secret=secret,
                enabled=True,
                created_at=now,
                updated_at=now,
            )
            .returning(webhooks.c.id)
        )
        return int(execute(self.conn, stmt).scalar_one())

    def save_webhook(self, webhook: Webhook) -> None:
        execute(
            self.conn,
            update(webhooks)
            .where(webhooks.c.id == webhook.id)
            .values(
                url=webhook.url,
                description=webhook.description,
                events=_events_json(webhook.events),
                enabled=webhook.enabled,
                disabled_reason=webhook.disabled_reason,
                failing_since=webhook.failing_since,
                secret=webhook.secret,
                previous_secret=webhook.previous_secret,
                previous_secret_expires_at=webhook.previous_secret_expires_at,
                updated_at=models.utcnow(),
            ),
        )

    def delete_webhook(self, webhook_id: int) -> None:
        # Deliveries first and explicitly, so the outcome does not depend on cascade support.
        self.conn.execute(delete(deliveries).where(deliveries.c.webhook_id == webhook_id))
        self.conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))

    # Deliveries, read

    def page_deliveries(self, query: DeliveryQuery) -> Page[Delivery]:
        stmt = select(deliveries).where(deliveries.c.webhook_id == query.webhook_id)
        if query.event_id is not None:
            stmt = stmt.where(deliveries.c.event_id == query.event_id)
        if query.status is not None:
            stmt = stmt.where(deliveries.c.status == query.status)
        stmt = keyset(stmt, DELIVERY_SORTS, deliveries.c.id, query.page)
        rows, after = page_of(self.conn.execute(stmt).all(), DELIVERY_SORTS, query.page)
        return Page([_delivery(r) for r in rows], after)

    def get_delivery(self, webhook_id: int, delivery_id: int) -> Delivery | None:
        row = self.conn.execute(
            select(deliveries).where(
                deliveries.c.id == delivery_id, deliveries.c.webhook_id == webhook_id
            )
        ).first()
        return None if row is None else _delivery(row)

    def _by_id(self, delivery_id: int) -> Delivery:
        row = self.conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one()
        return _delivery(row)

    # Deliveries, written

    def start_chain(self, webhook_id: int, event_id: int | None, type_: str) -> Delivery:
        return self._by_id(start_chain(self.conn, webhook_id, event_id, type_))

    def pending_of_job(self, job_id: int) -> Delivery | None:
        row = self.conn.execute(
            select(deliveries)
            .where(deliveries.c.job_id == job_id, deliveries.c.status == "pending")
            .order_by(deliveries.c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else _delivery(row)

    def record_attempt(self, delivery_id: int, attempt: Attempt) -> bool:
        done = self.conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id, deliveries.c.status == "pending")
            .values(
                status=attempt.status,
                response_status=attempt.response_status,
                duration_ms=attempt.duration_ms,
                error=None if attempt.error is None else attempt.error[:500],
                attempted_at=attempt.attempted_at,
                next_attempt_at=attempt.next_attempt_at,
            )
        )
        return bool(done.rowcount)

    def due_pending(self, webhook_id: int, now: datetime, limit: int) -> list[Delivery]:
        rows = self.conn.execute(
            select(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.status == "pending",
                deliveries.c.next_attempt_at <= now,
            )
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        return [_delivery(row) for row in rows]

    def add_attempt(self, previous: Delivery, due: datetime) -> Delivery:
        delivery_id = _pending(
            self.conn,
            previous.webhook_id,
            previous.event_id,
            previous.type,
            previous.job_id,
            previous.attempt + 1,
            due,
        )
        return self._by_id(delivery_id)

    def fail_pending(self, webhook_id: int, error: str, now: datetime) -> int:
        done = self.conn.execute(
            update(deliveries)
            .where(deliveries.c.webhook_id == webhook_id, deliveries.c.status == "pending")
            .values(status="failed", error=error[:500], attempted_at=now, next_attempt_at=None)
        )
        return int(done.rowcount)

    def purge_deliveries(self, created_before: datetime, limit: int) -> int:
        chosen = (
            select(deliveries.c.id).where(deliveries.c.created_at < created_before).limit(limit)
        )
        done = self.conn.execute(delete(deliveries).where(deliveries.c.id.in_(chosen)))
        return int(done.rowcount)

    # Delivery's state on the webhook

    def take_lease(self, webhook_id: int, now: datetime, until: datetime) -> bool:
        # One conditional update decides between runners: of two at once, one matches.
        free = or_(webhooks.c.sending_until.is_(None), webhooks.c.sending_until < now)
        done = self.conn.execute(
            update(webhooks).where(webhooks.c.id == webhook_id, free).values(sending_until=until)
        )
        return bool(done.rowcount)

    def release_lease(self, webhook_id: int, until: datetime) -> None:
        self.conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.sending_until == until)
            .values(sending_until=None)
        )

    def disable(self, webhook_id: int, reason: DisabledReason, now: datetime) -> None:
        self.conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.enabled.is_(True))
            .values(enabled=False, disabled_reason=reason, updated_at=now)
        )

    def mark_failing(self, webhook_id: int, now: datetime) -> datetime:
        self.conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.failing_since.is_(None))
            .values(failing_since=now)
        )
        since = self.conn.execute(
            select(webhooks.c.failing_since).where(webhooks.c.id == webhook_id)
        ).scalar()
        return models.utc_datetime(since) or now

    def clear_failing(self, webhook_id: int) -> None:
        self.conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
