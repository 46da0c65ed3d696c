"""A store's webhooks: their API, and the fan-out of each store event to their deliveries."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from storekeeper.db.models import Job, StoreEvent, WebhookDelivery
from storekeeper.db.session import Database
from storekeeper.db.webhooks import WebhookRepository
from storekeeper.domain.webhooks import NewWebhook, new_secret
from tests.helpers import User, item, new_user, store


def hook_row(database: Database, store_id: int, events: tuple[str, ...], user: User) -> int:
    """A webhook written straight to the database (the API's own tests make theirs by POST)."""
    with database.unit_of_work(write=True) as conn:
        return WebhookRepository(conn).add_webhook(
            store_id, NewWebhook("https://example.com/hook", events), new_secret(), user.id
        )


def deliveries(database: Database) -> list[dict[str, Any]]:
    with database.unit_of_work(write=False) as conn:
        rows = conn.execute(select(WebhookDelivery.__table__).order_by("id")).all()
        return [dict(r._mapping) for r in rows]


def jobs(database: Database, kind: str = "webhook.deliver") -> list[dict[str, Any]]:
    with database.unit_of_work(write=False) as conn:
        table = Job.__table__
        rows = conn.execute(select(table).where(table.c.kind == kind).order_by("id")).all()
        return [dict(r._mapping) for r in rows]


def last_event_id(database: Database) -> int:
    with database.unit_of_work(write=False) as conn:
        table = StoreEvent.__table__
        return int(conn.execute(select(table.c.id).order_by(table.c.id.desc())).scalar_one())


def test_an_event_starts_one_pending_delivery_and_its_job_per_subscribed_webhook(
    client: FlaskClient, database: Database
) -> None:
    alice = new_user(client, "alice")
    shop = store(client, alice)
    other = store(client, alice, "Other")
    every = hook_row(database, shop["id"], ("*",), alice)
    created = hook_row(database, shop["id"], ("item.created",), alice)
    hook_row(database, shop["id"], ("tag.created",), alice)  # not subscribed
    hook_row(database, other["id"], ("*",), alice)  # another store's
    item(client, alice, shop["id"])
    event_id = last_event_id(database)
    rows = deliveries(database)
    assert [(r["webhook_id"], r["event_id"], r["type"]) for r in rows] == [
        (every, event_id, "item.created"),
        (created, event_id, "item.created"),
    ]
    assert {(r["status"], r["attempt"]) for r in rows} == {("pending", 1)}
    assert all(r["next_attempt_at"] is not None and r["attempted_at"] is None for r in rows)
    made = jobs(database)
    assert [j["id"] for j in made] == [r["job_id"] for r in rows]
    assert [j["payload"] for j in made] == [f'{{"delivery_id":{r["id"]}}}' for r in rows]
    assert {j["status"] for j in made} == {"queued"}


def test_a_rolled_back_write_starts_no_delivery(client: FlaskClient, database: Database) -> None:
    alice = new_user(client, "alice")
    shop = store(client, alice)
    hook_row(database, shop["id"], ("*",), alice)
    chair = item(client, alice, shop["id"])
    before = deliveries(database)
    # A duplicate name: the write fails inside its transaction (409).
    clash = client.post(
        f"/store/{shop['id']}/item",
        json={"name": chair["name"], "price": 1},
        headers=alice.headers,
    )
    assert clash.status_code == 409
    # A stale ETag: refused before anything is written (412).
    stale = client.patch(
        f"/item/{chair['id']}",
        json={"quantity": 9},
        headers={**alice.headers, "If-Match": '"stale"'},
    )
    assert stale.status_code == 412
    assert deliveries(database) == before
    assert len(jobs(database)) == len(before)
