"""Constraints decide races: concurrent requests never break a rule nor answer 500."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import User


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
        import uuid

        body = {"name": uuid.uuid4().hex, "price": 1, "store_id": store["id"]}
        return c.post("/item", json=body, headers=alice.headers)

    statuses = _parallel(app, 20, create)
    assert statuses == [201] * 20
    assert client.get(f"/store/{store['id']}").get_json()["item_count"] == 20
