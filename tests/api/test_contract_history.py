"""A store's history (GET /store/{id}/event): one event per change, written with the change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from storekeeper.db.models import StoreEvent
from storekeeper.db.session import Database
from tests.helpers import User, assert_problem, item, make_admin, new_user, store, tag
from tests.images import picture
from tests.jobs.inbox import run_jobs


def events(client: FlaskClient, user: User, store_id: int, **params: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/store/{store_id}/event", headers=user.headers, query_string=params)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body: list[dict[str, Any]] = answer.get_json()
    return body


class Recorder:
    """Sends each write with its own X-Request-ID and checks that it left exactly one event."""

    def __init__(self, client: FlaskClient, user: User, store_id: int) -> None:
        self.client = client
        self.user = user
        self.store_id = store_id
        self.seen = len(events(client, user, store_id, limit=200))
        self.count = 0

    def send(self, method: str, path: str, status: int, **kwargs: Any) -> tuple[str, Any]:
        self.count += 1
        request_id = f"history-test-{self.count}"
        headers = {**self.user.headers, "X-Request-ID": request_id, **kwargs.pop("headers", {})}
        answer = self.client.open(path, method=method, headers=headers, **kwargs)
        assert answer.status_code == status, answer.get_data(as_text=True)
        return request_id, answer

    def only_new(self, store_id: int | None = None) -> list[dict[str, Any]]:
        found = events(self.client, self.user, store_id or self.store_id, limit=200)
        new = found[: len(found) - self.seen] if store_id is None else found
        if store_id is None:
            self.seen = len(found)
        return new

    def one(
        self,
        method: str,
        path: str,
        status: int,
        type_: str,
        resource: tuple[str, int] | None,
        changes: dict[str, Any],
        **kwargs: Any,
    ) -> Any:
        request_id, answer = self.send(method, path, status, **kwargs)
        (event,) = self.only_new()
        if resource is None:  # the created resource is the answer's
            resource = (type_.split(".")[0], answer.get_json()["id"])
        assert event["type"] == type_
        assert event["actor_id"] == self.user.id
        assert event["actor"] == {"id": self.user.id, "username": self.user.username}
        assert event["resource"] == {"type": resource[0], "id": resource[1]}
        assert event["changes"] == changes
        assert event["request_id"] == request_id
        assert event["created_at"].endswith("Z")
        return answer


def test_every_write_records_its_one_event(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)["id"]
    other = store(client, alice, "Other")["id"]
    rec = Recorder(client, alice, shop)

    rec.one(
        "PATCH", f"/store/{shop}", 200, "store.updated", ("store", shop),
        {"name": ["Shop", "Corner"]}, json={"name": "Corner"},
    )  # fmt: skip
    created = {"name": [None, "Chair"], "price": [None, 19.99], "quantity": [None, 4],
               "description": [None, ""], "store_id": [None, shop]}  # fmt: skip
    chair = rec.one(
        "POST", f"/store/{shop}/item", 201, "item.created", None, created,
        json={"name": "Chair", "price": 19.99, "quantity": 4},
    ).get_json()["id"]  # fmt: skip
    table = rec.one(
        "POST", "/item", 201, "item.created", None,
        {**created, "name": [None, "Table"], "price": [None, 120]},
        json={"name": "Table", "price": 120, "quantity": 4, "store_id": shop},
    ).get_json()["id"]  # fmt: skip
    rec.one(
        "PUT", "/item/4242", 201, "item.created", ("item", 4242),
        {**created, "name": [None, "Lamp"], "price": [None, 5], "quantity": [None, 0]},
        json={"name": "Lamp", "price": 5, "store_id": shop},
    )  # fmt: skip
    rec.one(
        "PUT", f"/item/{chair}", 200, "item.updated", ("item", chair),
        {"price": [19.99, 17.5], "description": ["", "Oak"]},
        json={"name": "Chair", "price": 17.5, "quantity": 4, "description": "Oak"},
    )  # fmt: skip
    rec.one(
        "PATCH", f"/item/{chair}", 200, "item.updated", ("item", chair),
        {"quantity": [4, 3]}, json={"quantity": 3},
    )  # fmt: skip
    # The photo's hash is known only from the answer.
    _, answer = rec.send(
        "PUT", f"/item/{chair}/image", 201, data=picture(), content_type="image/jpeg"
    )
    sha = answer.get_json()["image"]["etag"].strip('"')
    (event,) = rec.only_new()
    assert (event["type"], event["changes"]) == ("item.image.updated", {"image": [None, sha]})
    rec.one(
        "DELETE", f"/item/{chair}/image", 204, "item.image.deleted", ("item", chair),
        {"image": [sha, None]},
    )  # fmt: skip
    wood = rec.one(
        "POST", f"/store/{shop}/tag", 201, "tag.created", None, {"name": [None, "wood"]},
        json={"name": "wood"},
    ).get_json()["id"]  # fmt: skip
    ref = {"id": wood, "name": "wood"}
    rec.one(
        "POST", f"/item/{chair}/tag/{wood}", 201, "item.tagged", ("item", chair),
        {"tag": [None, ref]},
    )  # fmt: skip
    rec.one(
        "DELETE", f"/item/{chair}/tag/{wood}", 204, "item.untagged", ("item", chair),
        {"tag": [ref, None]},
    )  # fmt: skip
    rec.one("DELETE", f"/tag/{wood}", 204, "tag.deleted", ("tag", wood), {"name": ["wood", None]})
    rec.one(
        "DELETE", f"/item/{table}", 204, "item.deleted", ("item", table),
        {"name": ["Table", None], "price": [120, None], "quantity": [4, None],
         "description": ["", None], "store_id": [shop, None]},
    )  # fmt: skip

    # Deleting puts the item in the trash; restoring it is an event of its own.
    rec.one(
        "POST", f"/item/{table}/restore", 200, "item.restored", ("item", table),
        {"name": [None, "Table"], "price": [None, 120], "quantity": [None, 4],
         "description": [None, ""], "store_id": [None, shop]},
    )  # fmt: skip

    # An import is one event with its counts, carrying the id of the request that queued it.
    request_id, answer = rec.send(
        "POST", f"/store/{shop}/import", 202,
        data=b"name,price\r\nStool,3\r\nBench,4.5\r\nChair,17.50\r\n", content_type="text/csv",
    )  # fmt: skip
    assert rec.only_new() == []  # queued, nothing changed yet
    assert set(run_jobs(app, tmp_path / "mail")) == {"succeeded"}  # the photo's variants too
    (event,) = rec.only_new()
    assert event["type"] == "import.finished"
    assert event["resource"] == {"type": "job", "id": answer.get_json()["id"]}
    assert (event["actor_id"], event["request_id"]) == (alice.id, request_id)
    assert event["changes"] == {
        "created": [None, 2],
        "updated": [None, 0],
        "unchanged": [None, 1],
        "failed": [None, 0],
    }

    # The team: one event per change, about member:<user id>.
    bob = new_user(client, "bob")
    rec.one(
        "POST", f"/store/{shop}/member", 201, "member.added", ("member", bob.id),
        {"username": [None, "bob"], "role": [None, "staff"]},
        json={"username": "bob", "role": "staff"},
    )  # fmt: skip
    rec.one(
        "PATCH", f"/store/{shop}/member/{bob.id}", 200, "member.updated", ("member", bob.id),
        {"role": ["staff", "manager"]}, json={"role": "manager"},
    )  # fmt: skip
    rec.send("PATCH", f"/store/{shop}/member/{bob.id}", 200, json={"role": "manager"})
    assert rec.only_new() == []  # the same role again changes nothing
    rec.one(
        "DELETE", f"/store/{shop}/member/{bob.id}", 204, "member.removed", ("member", bob.id),
        {"username": ["bob", None], "role": ["manager", None]},
    )  # fmt: skip

    # Moving an item is an update in both stores, with the store_id change.
    request_id, _ = rec.send("PATCH", f"/item/{chair}", 200, json={"store_id": other})
    (left,) = rec.only_new()
    (arrived,) = rec.only_new(other)
    for event in (left, arrived):
        assert event["type"] == "item.updated"
        assert event["changes"] == {"store_id": [shop, other]}
        assert event["request_id"] == request_id


def test_writes_that_change_nothing_record_nothing(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)["id"]
    chair = item(client, alice, shop, price=5)
    wood = tag(client, alice, shop)
    rec = Recorder(client, alice, shop)
    rec.send("PATCH", f"/store/{shop}", 200, json={"name": "Shop"})
    rec.send("PATCH", f"/item/{chair['id']}", 200, json={"price": 5, "name": "Chair"})
    rec.send("PUT", f"/item/{chair['id']}", 200, json={"name": "Chair", "price": 5.00})
    rec.send("POST", f"/item/{chair['id']}/tag/{wood['id']}", 201)
    assert len(rec.only_new()) == 1  # the first link only
    rec.send("POST", f"/item/{chair['id']}/tag/{wood['id']}", 200)
    assert rec.only_new() == []


def test_a_refused_write_leaves_no_event(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)["id"]
    chair = item(client, alice, shop, "Chair")
    item(client, alice, shop, "Table")
    rec = Recorder(client, alice, shop)
    # Refused by the database after the use case recorded its event: both roll back.
    rec.send("PATCH", f"/item/{chair['id']}", 409, json={"name": "table", "price": 1})
    rec.send("PATCH", f"/item/{chair['id']}", 412, json={"price": 1}, headers={"If-Match": '"x"'})
    store(client, alice, "Taken")
    rec.send("PATCH", f"/store/{shop}", 409, json={"name": "TAKEN"})
    assert rec.only_new() == []
    assert client.get(f"/item/{chair['id']}").get_json()["price"] == 9.99


def test_pages_are_newest_first_with_a_link(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)["id"]
    for n in range(5):
        item(client, alice, shop, f"Item {n}")
    answer = client.get(f"/store/{shop}/event?limit=2", headers=alice.headers)
    first = answer.get_json()
    assert [e["resource"]["id"] for e in first] == [5, 4]
    assert first[0]["id"] > first[1]["id"]
    seen = [e["id"] for e in first]
    while "Link" in answer.headers:
        url = answer.headers["Link"].split(">")[0].lstrip("<")
        answer = client.get(url, headers=alice.headers)
        assert answer.status_code == 200
        seen += [e["id"] for e in answer.get_json()]
    assert seen == sorted(seen, reverse=True) and len(seen) == 5


def test_filters_by_type_and_resource(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)["id"]
    chair = item(client, alice, shop, "Chair")["id"]
    table = item(client, alice, shop, "Table")["id"]
    client.patch(f"/item/{chair}", json={"price": 1}, headers=alice.headers)
    wood = tag(client, alice, shop)["id"]
    updated = events(client, alice, shop, type="item.updated")
    assert [(e["type"], e["resource"]["id"]) for e in updated] == [("item.updated", chair)]
    about_chair = events(client, alice, shop, resource=f"item:{chair}")
    assert [e["type"] for e in about_chair] == ["item.updated", "item.created"]
    assert [e["type"] for e in events(client, alice, shop, resource=f"tag:{wood}")] == [
        "tag.created"
    ]
    assert events(client, alice, shop, resource=f"item:{table}", type="item.updated") == []
    for bad in (
        "item",
        "item:",
        "item:0",
        "item:x",
        "shelf:1",
        "item:01",
        " item:1",
        "item:9999999999999999999",
    ):
        answer = client.get(f"/store/{shop}/event", headers=alice.headers, query_string={
            "resource": bad})  # fmt: skip
        assert_problem(answer, 422)
    answer = client.get(f"/store/{shop}/event?type=item.renamed", headers=alice.headers)
    assert_problem(answer, 422)


def test_only_managers_read_the_history(
    client: FlaskClient, alice: User, bob: User, admin: User
) -> None:
    shop = store(client, alice)["id"]
    item(client, alice, shop)
    assert len(events(client, alice, shop)) == 1
    assert len(events(client, admin, shop)) == 1
    assert_problem(client.get(f"/store/{shop}/event", headers=bob.headers), 403)
    # The policy's store.history: managers too, staff not.
    for role, status in (("staff", 403), ("manager", 200)):
        answer = client.post(
            f"/store/{shop}/member", json={"username": bob.username, "role": role},
            headers=alice.headers,
        ) if role == "staff" else client.patch(
            f"/store/{shop}/member/{bob.id}", json={"role": role}, headers=alice.headers
        )  # fmt: skip
        assert answer.status_code in (200, 201), answer.get_data(as_text=True)
        assert client.get(f"/store/{shop}/event", headers=bob.headers).status_code == status
    assert_problem(client.get(f"/store/{shop}/event"), 401)
    assert_problem(client.get("/store/999/event", headers=alice.headers), 404)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_history_cannot_be_written_through_the_api(
    client: FlaskClient, alice: User, method: str
) -> None:
    shop = store(client, alice)["id"]
    item(client, alice, shop)
    for path in (f"/store/{shop}/event", f"/store/{shop}/event/1"):
        answer = client.open(path, method=method, headers=alice.headers, json={})
        assert answer.status_code in (404, 405), path
    assert (
        client.open(f"/store/{shop}/event", method=method, headers=alice.headers).status_code == 405
    )
    assert len(events(client, alice, shop)) == 1


def test_a_deleted_actor_leaves_their_events_without_an_actor(
    client: FlaskClient, database: Database, alice: User, admin: User
) -> None:
    # Alice edits as an admin in a store she does not own (an owner cannot be deleted).
    shop = store(client, admin)["id"]
    chair = item(client, admin, shop)["id"]
    make_admin(database, alice.id)
    answer = client.patch(f"/item/{chair}", json={"quantity": 7}, headers=alice.headers)
    assert answer.status_code == 200
    assert client.delete(f"/user/{alice.id}", headers=admin.headers).status_code == 204
    latest, created = events(client, admin, shop)
    assert (latest["type"], latest["actor_id"], latest["actor"]) == ("item.updated", None, None)
    assert latest["changes"] == {"quantity": [0, 7]}
    assert created["actor"] == {"id": admin.id, "username": admin.username}


def test_deleting_a_store_deletes_its_history(
    client: FlaskClient, database: Database, alice: User
) -> None:
    shop = store(client, alice)["id"]
    item(client, alice, shop)
    assert client.delete(f"/store/{shop}", headers=alice.headers).status_code == 204
    with database.unit_of_work(write=False) as session:
        assert session.execute(select(func.count()).select_from(StoreEvent)).scalar() == 0
