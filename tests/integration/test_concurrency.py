"""Constraints decide races: concurrent requests never break a rule nor answer 500."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storekeeper.db.catalog import COUNT_SLOTS, CatalogRepository
from storekeeper.db.session import Database
from storekeeper.domain.model import ItemFields
from storekeeper.domain.values import Money
from tests.helpers import User, item


def _parallel(app: Flask, count: int, call: object) -> list[int]:
    def one(_: int) -> int:
        response = call(app.test_client())  # type: ignore[operator]
        status: int = response.status_code
        return status

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


def test_concurrent_duplicate_store_names_make_one_store(
    app: Flask, client: FlaskClient, alice: User
) -> None:
    statuses = _parallel(
        app, 12, lambda c: c.post("/store", json={"name": "Race"}, headers=alice.headers)
    )
    assert sorted(statuses) == [201] + [409] * 11
    assert len(client.get("/store?name=race").get_json()) == 1


def test_concurrent_look_alike_store_names_make_one_store(
    app: Flask, client: FlaskClient, alice: User
) -> None:
    """The unique index decides between look-alikes too, not a look-up before the insert."""
    names = ["Race", "R\u0430ce", "RACE", "R\u200bace", "\u211bace", "\uff32ace"] * 2
    statuses = _parallel(
        app, 12, lambda c: c.post("/store", json={"name": names.pop()}, headers=alice.headers)
    )
    assert sorted(statuses) == [201] + [409] * 11
    assert len(client.get("/store").get_json()) == 1


def test_concurrent_item_creates_keep_the_count_exact(
    app: Flask, client: FlaskClient, alice: User
) -> None:
    store = client.post("/store", json={"name": "Counted"}, headers=alice.headers).get_json()

    def create(c: FlaskClient) -> object:
        body = {"name": uuid.uuid4().hex, "price": 1, "store_id": store["id"]}
        return c.post("/item", json=body, headers=alice.headers)

    statuses = _parallel(app, 20, create)
    assert statuses == [201] * 20
    assert client.get(f"/store/{store['id']}").get_json()["item_count"] == 20


def test_a_restore_racing_creates_of_its_name_leaves_one_item_of_that_name(
    app: Flask, client: FlaskClient, alice: User
) -> None:
    """The partial unique index decides between a restore and creates of the same name."""
    store = client.post("/store", json={"name": "Bin"}, headers=alice.headers).get_json()
    made = client.post(
        f"/store/{store['id']}/item", json={"name": "Vase", "price": 1}, headers=alice.headers
    ).get_json()
    assert client.delete(f"/item/{made['id']}", headers=alice.headers).status_code == 204

    def restore(c: FlaskClient) -> object:
        return c.post(f"/item/{made['id']}/restore", headers=alice.headers)

    def create(c: FlaskClient) -> object:
        body = {"name": "vase", "price": 2}
        return c.post(f"/store/{store['id']}/item", json=body, headers=alice.headers)

    calls: list[Callable[[FlaskClient], object]] = [restore, *[create] * 7]
    statuses = _parallel(app, 8, lambda c: calls.pop()(c))
    assert sorted(statuses).count(409) == 7 and set(statuses) <= {200, 201, 409}
    assert len(client.get(f"/store/{store['id']}/item?name=vase").get_json()) == 1
    assert client.get(f"/store/{store['id']}").get_json()["item_count"] == 1


def test_concurrent_deletes_of_one_item_count_it_once(
    app: Flask, client: FlaskClient, alice: User
) -> None:
    store = client.post("/store", json={"name": "Twice"}, headers=alice.headers).get_json()
    for name in ("A", "B"):
        client.post(
            f"/store/{store['id']}/item", json={"name": name, "price": 1}, headers=alice.headers
        )
    first = client.get(f"/store/{store['id']}/item").get_json()[0]
    statuses = _parallel(app, 8, lambda c: c.delete(f"/item/{first['id']}", headers=alice.headers))
    assert statuses.count(204) == 1 and set(statuses) <= {204, 404}
    assert client.get(f"/store/{store['id']}").get_json()["item_count"] == 1


def _slots_and_live(database: Database, store_id: int) -> tuple[int, int]:
    """How many count slots a store has, and how many live items it holds."""
    with database.unit_of_work(write=False) as conn:
        slots = conn.execute(
            text("SELECT count(*) FROM store_item_counts WHERE store_id = :s"), {"s": store_id}
        ).scalar_one()
        live = conn.execute(
            text("SELECT count(*) FROM items WHERE store_id = :s AND deleted_at IS NULL"),
            {"s": store_id},
        ).scalar_one()
    return int(slots), int(live)


def test_concurrent_creates_and_deletes_in_one_store_keep_the_count_exact_over_slots(
    app: Flask, client: FlaskClient, alice: User, database: Database, backend: str
) -> None:
    """The count is the sum of its slots, exact however the writers interleave; on
    PostgreSQL concurrent transactions add to different slots (no one hot row)."""
    store = client.post("/store", json={"name": "Busy"}, headers=alice.headers).get_json()
    doomed = [item(client, alice, store["id"], f"Old {n}")["id"] for n in range(24)]

    def create(c: FlaskClient) -> object:
        body = {"name": uuid.uuid4().hex, "price": 1}
        return c.post(f"/store/{store['id']}/item", json=body, headers=alice.headers)

    def deleter(item_id: int) -> Callable[[FlaskClient], object]:
        return lambda c: c.delete(f"/item/{item_id}", headers=alice.headers)

    # Creates and deletes interleaved, eight at a time.
    calls: list[Callable[[FlaskClient], object]] = []
    for item_id in doomed:
        calls += [create, create, deleter(item_id)]
    statuses = _parallel(app, len(calls), lambda c: calls.pop()(c))
    assert sorted(statuses) == [201] * 48 + [204] * 24
    slots, live = _slots_and_live(database, store["id"])
    assert live == 48
    assert client.get(f"/store/{store['id']}").get_json()["item_count"] == live
    listed = client.get("/store?name=busy").get_json()
    assert [s["item_count"] for s in listed] == [live]
    if backend == "postgresql":
        assert 1 < slots <= COUNT_SLOTS
    else:
        assert slots == 1  # one writer at a time: one slot


def _on_two_slots(database: Database, stack: ExitStack) -> Iterator[Connection]:
    """Connections of the pool (PostgreSQL), one for each count slot met, held in `stack`."""
    seen: set[int] = set()
    for _ in range(16):
        conn = stack.enter_context(database.engine.connect())
        slot = conn.execute(text("SELECT pg_backend_pid()")).scalar_one() % COUNT_SLOTS
        conn.rollback()
        if slot not in seen:
            seen.add(slot)
            yield conn


def test_two_open_creates_in_one_store_do_not_wait_for_each_other(
    client: FlaskClient, alice: User, database: Database, backend: str
) -> None:
    """The store's row is only read: a create into it waits for no other's commit."""
    if backend != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time")
    store = client.post("/store", json={"name": "Open"}, headers=alice.headers).get_json()
    with ExitStack() as stack:
        first, second = itertools.islice(_on_two_slots(database, stack), 2)
        with first.begin():
            CatalogRepository(first).add_item(store["id"], ItemFields("First", Money(100)))
            # The first create stays open until the second has committed: had the second to
            # wait for it, it would wait for ever, so any lock wait at all fails it instead.
            with second.begin():
                second.execute(text("SET LOCAL lock_timeout = '5s'"))
                CatalogRepository(second).add_item(store["id"], ItemFields("Second", Money(1)))
    assert client.get(f"/store/{store['id']}").get_json()["item_count"] == 2


def test_creates_racing_their_stores_deletion_answer_cleanly_and_leave_no_count(
    app: Flask, client: FlaskClient, alice: User, database: Database
) -> None:
    """A create either lands before the store goes (and goes with it) or is refused."""
    store = client.post("/store", json={"name": "Closing"}, headers=alice.headers).get_json()
    kept = [item(client, alice, store["id"], f"Kept {n}")["id"] for n in range(4)]

    def create(c: FlaskClient) -> object:
        body = {"name": uuid.uuid4().hex, "price": 1}
        return c.post(f"/store/{store['id']}/item", json=body, headers=alice.headers)

    def delete(c: FlaskClient) -> object:
        return c.delete(f"/store/{store['id']}", headers=alice.headers)

    def trash(item_id: int) -> Callable[[FlaskClient], object]:
        return lambda c: c.delete(f"/item/{item_id}", headers=alice.headers)

    # Creates and deletes of its items on either side of the store's deletion.
    calls: list[Callable[[FlaskClient], object]] = [*[create] * 6, trash(kept[0]), trash(kept[1])]
    calls += [delete, *[create] * 6, trash(kept[2]), trash(kept[3])]
    statuses = _parallel(app, len(calls), lambda c: calls.pop()(c))
    assert set(statuses) <= {201, 204, 404, 409}, statuses
    assert statuses.count(204) in range(1, 6), statuses  # the store's, and items' before it
    assert client.get(f"/store/{store['id']}").status_code == 404
    with database.unit_of_work(write=False) as conn:
        for table in ("store_item_counts", "items"):
            left = conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE store_id = :s"),  # noqa: S608
                {"s": store["id"]},
            ).scalar_one()
            assert left == 0, table
