"""A first walk through the main resources."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.helpers import User


def test_store_item_tag_walkthrough(client: FlaskClient, alice: User) -> None:
    store = client.post("/store", json={"name": "Shop"}, headers=alice.headers)
    assert store.status_code == 201
    store_id = store.get_json()["id"]
    item = client.post(
        f"/store/{store_id}/item", json={"name": "Chair", "price": 9.99}, headers=alice.headers
    )
    assert item.status_code == 201
    assert item.get_json()["price"] == 9.99
    assert client.get(f"/store/{store_id}").get_json()["item_count"] == 1
