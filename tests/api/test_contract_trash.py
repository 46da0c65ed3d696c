"""The trash: DELETE /item moves an item there, GET /store/{id}/trash lists it, POST
/item/{id}/restore brings it back, the worker purges it after 30 days; on both databases."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from storekeeper.background.relay import Relay
from storekeeper.db import models
from storekeeper.db.session import Database
from storekeeper.domain.trash import RETENTION, purge_trash
from storekeeper.services import Services
from tests.helpers import User, assert_problem, item, store, tag
from tests.images import picture
from tests.jobs.inbox import run_jobs


@pytest.fixture
def shop(client: FlaskClient, alice: User) -> dict[str, Any]:
    return store(client, alice)


def _delete(client: FlaskClient, user: User, item_id: int, **headers: str) -> Any:
    return client.delete(f"/item/{item_id}", headers={**user.headers, **headers})


def _restore(client: FlaskClient, user: User, item_id: int, body: Any = None, **hdrs: str) -> Any:
    headers = {**user.headers, **hdrs}
    if body is None:
        return client.post(f"/item/{item_id}/restore", headers=headers)
    return client.post(f"/item/{item_id}/restore", json=body, headers=headers)


def _trash(client: FlaskClient, user: User | None, store_id: int, query: str = "") -> Any:
    return client.get(f"/store/{store_id}/trash{query}", headers=user.headers if user else {})


def _units(app: Flask) -> Any:
    found: Services = app.extensions["storekeeper"]
    return found.units


def test_a_deleted_item_is_gone_from_every_read_and_its_name_is_free(
    client: FlaskClient, alice: User, shop: dict[str, Any]
) -> None:
    wood = tag(client, alice, shop["id"])
    chair = item(client, alice, shop["id"], "Oak chair", description="Solid oak.")
    kept = item(client, alice, shop["id"], "Table")
    assert (
        client.post(f"/item/{chair['id']}/tag/{wood['id']}", headers=alice.headers).status_code
        == 201
    )
    assert _delete(client, alice, chair["id"]).status_code == 204

    assert_problem(client.get(f"/item/{chair['id']}"), 404)
    assert [i["id"] for i in client.get("/item").get_json()] == [kept["id"]]
    assert [i["id"] for i in client.get(f"/store/{shop['id']}/item").get_json()] == [kept["id"]]
    assert client.get("/item?name=Oak chair").get_json() == []
    assert client.get(f"/item?tag={wood['id']}").get_json() == []
    assert client.get("/item?search=oak").get_json() == []
    detail = client.get(f"/store/{shop['id']}").get_json()
    assert [i["id"] for i in detail["items"]] == [kept["id"]]
    assert detail["item_count"] == 1
    assert client.get(f"/tag/{wood['id']}").get_json()["items"] == []
    # Writes to it: 404, as for any item that is not there.
    assert_problem(
        client.patch(f"/item/{chair['id']}", json={"price": 1}, headers=alice.headers), 404
    )
    assert_problem(_delete(client, alice, chair["id"]), 404)
    # Its id is held while it is in the trash: a PUT cannot create over it.
    put = client.put(
        f"/item/{chair['id']}",
        json={"name": "Other", "price": 1, "store_id": shop["id"]},
        headers=alice.headers,
    )
    assert_problem(put, 409)
    # Its name is free.
    again = item(client, alice, shop["id"], "OAK CHAIR")
    assert again["id"] != chair["id"]
    assert client.get(f"/store/{shop['id']}").get_json()["item_count"] == 2


def test_restore_brings_the_item_back_as_it_was(
    client: FlaskClient, alice: User, shop: dict[str, Any]
) -> None:
    wood, old = tag(client, alice, shop["id"]), tag(client, alice, shop["id"], "old")
    chair = item(client, alice, shop["id"], "Oak chair", quantity=3, description="Solid.")
    for t in (wood, old):
        client.post(f"/item/{chair['id']}/tag/{t['id']}", headers=alice.headers)
    put = client.put(
        f"/item/{chair['id']}/image",
        data=picture(40, 30),
        content_type="image/jpeg",
        headers=alice.headers,
    )
    assert put.status_code == 201
    before = client.get(f"/item/{chair['id']}")
    assert _delete(client, alice, chair["id"]).status_code == 204
    # A tag linked only to items in the trash may go; the restored item comes back without it.
    assert client.delete(f"/tag/{old['id']}", headers=alice.headers).status_code == 204
    restored = _restore(client, alice, chair["id"])
    assert restored.status_code == 200, restored.get_json()
    body = restored.get_json()
    expected = {**before.get_json(), "tags": [{"id": wood["id"], "name": "wood"}]}
    assert body == expected
    assert client.get(f"/item/{chair['id']}").get_json() == body
    assert client.get(f"/item/{chair['id']}/image").status_code == 200
    assert client.get(f"/store/{shop['id']}").get_json()["item_count"] == 1
    assert client.get("/item?search=oak").get_json()[0]["id"] == chair["id"]
    # Not in the trash any more: live, so 409; never existed: 404.
    assert_problem(_restore(client, alice, chair["id"]), 409)
    assert_problem(_restore(client, alice, 999999), 404)


def test_a_tag_on_a_live_item_still_cannot_be_deleted(
    client: FlaskClient, alice: User, shop: dict[str, Any]
) -> None:
    wood = tag(client, alice, shop["id"])
    live, gone = item(client, alice, shop["id"], "A"), item(client, alice, shop["id"], "B")
    for i in (live, gone):
        client.post(f"/item/{i['id']}/tag/{wood['id']}", headers=alice.headers)
    _delete(client, alice, gone["id"])
    assert_problem(client.delete(f"/tag/{wood['id']}", headers=alice.headers), 409)
    # The trashed item keeps its link meanwhile.
    assert _restore(client, alice, gone["id"]).get_json()["tags"] == [
        {"id": wood["id"], "name": "wood"}
    ]


def test_restore_under_a_taken_name_needs_a_new_one(
    client: FlaskClient, alice: User, shop: dict[str, Any]
) -> None:
    chair = item(client, alice, shop["id"], "Chair")
    _delete(client, alice, chair["id"])
    item(client, alice, shop["id"], "chair")
    item(client, alice, shop["id"], "Stool")
    assert "new `name`" in assert_problem(_restore(client, alice, chair["id"]), 409)["detail"]
    assert_problem(_restore(client, alice, chair["id"], {"name": "STOOL"}), 409)
    assert_problem(_restore(client, alice, chair["id"], {"name": "  "}), 422)
    assert_problem(_restore(client, alice, chair["id"], {"name": "x", "price": 1}), 422)
    answer = _restore(client, alice, chair["id"], {"name": " Old chair "})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["name"] == "Old chair"
    assert client.get(f"/store/{shop['id']}").get_json()["item_count"] == 3


def test_the_trash_lists_deletions_newest_first_a_page_at_a_time(
    client: FlaskClient, alice: User, admin: User, shop: dict[str, Any]
) -> None:
    made = [item(client, alice, shop["id"], f"Item {n}") for n in range(5)]
    for found in made[:3]:
        assert _delete(client, alice, found["id"]).status_code == 204
    assert _delete(client, admin, made[3]["id"]).status_code == 204
    first = _trash(client, alice, shop["id"], "?limit=3")
    assert first.status_code == 200
    rows = first.get_json()
    assert [r["id"] for r in rows] == [made[3]["id"], made[2]["id"], made[1]["id"]]
    assert rows[0]["deleted_by"] == admin.id and rows[1]["deleted_by"] == alice.id
    assert rows[1]["name"] == "Item 2" and rows[1]["store"] == {"id": shop["id"], "name": "Shop"}
    assert datetime.fromisoformat(rows[0]["deleted_at"]) >= datetime.fromisoformat(
        rows[1]["deleted_at"]
    )
    following = first.headers["Link"].split(">")[0].lstrip("<")
    rest = client.get(following.split("localhost", 1)[-1], headers=alice.headers).get_json()
    assert [r["id"] for r in rest] == [made[0]["id"]]
    oldest = _trash(client, admin, shop["id"], "?sort=deleted_at").get_json()
    assert [r["id"] for r in oldest] == [m["id"] for m in made[:4]]
    assert_problem(_trash(client, alice, shop["id"], "?sort=name"), 422)


def test_only_the_stores_managers_see_its_trash_or_restore(
    client: FlaskClient, alice: User, bob: User, shop: dict[str, Any]
) -> None:
    chair = item(client, alice, shop["id"])
    assert_problem(_delete(client, bob, chair["id"]), 403)
    _delete(client, alice, chair["id"])
    assert_problem(_trash(client, None, shop["id"]), 401)
    assert_problem(_trash(client, bob, shop["id"]), 403)
    assert_problem(_trash(client, alice, 999999), 404)
    assert_problem(client.post(f"/item/{chair['id']}/restore"), 401)
    assert_problem(_restore(client, bob, chair["id"]), 403)


def test_restore_honours_if_match_and_idempotency_keys(
    client: FlaskClient, alice: User, shop: dict[str, Any]
) -> None:
    chair = item(client, alice, shop["id"])
    etag = client.get(f"/item/{chair['id']}").headers["ETag"]
    assert_problem(_delete(client, alice, chair["id"], **{"If-Match": '"stale"'}), 412)
    assert _delete(client, alice, chair["id"], **{"If-Match": etag}).status_code == 204
    assert_problem(_restore(client, alice, chair["id"], **{"If-Match": '"stale"'}), 412)
    key = {"Idempotency-Key": "restore-1"}
    first = _restore(client, alice, chair["id"], {}, **{"If-Match": etag}, **key)
    assert first.status_code == 200, first.get_json()
    replay = _restore(client, alice, chair["id"], {}, **key)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()


def _age(database: Database, item_id: int, days: float) -> None:
    """Backdate an item's deletion, as if it had been in the trash for `days`."""
    with database.unit_of_work(write=True) as conn:
        conn.execute(
            update(models.Item)
            .where(models.Item.id == item_id)
            .values(deleted_at=datetime.now(UTC) - timedelta(days=days))
        )


def test_the_purge_deletes_after_30_days_and_not_before(
    app: Flask, client: FlaskClient, alice: User, database: Database, shop: dict[str, Any]
) -> None:
    wood = tag(client, alice, shop["id"])
    young, old = item(client, alice, shop["id"], "Young"), item(client, alice, shop["id"], "Old")
    client.post(f"/item/{old['id']}/tag/{wood['id']}", headers=alice.headers)
    photo = picture(24, 24)
    for i in (young, old):
        client.put(
            f"/item/{i['id']}/image", data=photo, content_type="image/jpeg", headers=alice.headers
        )
        _delete(client, alice, i["id"])
    units = _units(app)
    now = datetime.now(UTC)
    # Nothing is 30 days old yet.
    assert purge_trash(units, now) == 0
    # A clock 29 days on: still kept. 31 days on: both go, once.
    assert purge_trash(units, now + timedelta(days=29)) == 0
    assert len(_trash(client, alice, shop["id"]).get_json()) == 2
    relay = Relay(
        units,
        lambda job_id: None,
        timedelta(seconds=60),
        lambda: now + RETENTION + timedelta(days=1),
    )
    assert relay.purge() == 2
    assert relay.purge() == 0  # idempotent
    assert _trash(client, alice, shop["id"]).get_json() == []
    assert_problem(_restore(client, alice, old["id"]), 404)
    assert client.get(f"/store/{shop['id']}").get_json()["item_count"] == 0
    with database.unit_of_work(False) as conn:
        blobs = conn.execute(models.ImageBlob.__table__.select()).all()
        links = conn.execute(models.ItemTag.__table__.select()).all()
    assert blobs == [] and links == []
    # The tag they had is free to go now.
    assert client.delete(f"/tag/{wood['id']}", headers=alice.headers).status_code == 204


def test_the_purge_keeps_a_photo_another_item_still_shows(
    app: Flask, client: FlaskClient, alice: User, database: Database, shop: dict[str, Any]
) -> None:
    photo = picture(24, 24)
    gone, kept = item(client, alice, shop["id"], "Gone"), item(client, alice, shop["id"], "Kept")
    for i in (gone, kept):
        client.put(
            f"/item/{i['id']}/image", data=photo, content_type="image/jpeg", headers=alice.headers
        )
    _delete(client, alice, gone["id"])
    _age(database, gone["id"], 31)
    assert purge_trash(_units(app), datetime.now(UTC)) == 1
    assert client.get(f"/item/{kept['id']}/image").status_code == 200


def test_deleting_a_store_deletes_its_trash_too(
    client: FlaskClient, alice: User, database: Database, shop: dict[str, Any]
) -> None:
    chair = item(client, alice, shop["id"])
    _delete(client, alice, chair["id"])
    assert client.delete(f"/store/{shop['id']}", headers=alice.headers).status_code == 204
    with database.unit_of_work(False) as conn:
        rows = conn.execute(models.Item.__table__.select()).all()
    assert rows == []
    assert_problem(_restore(client, alice, chair["id"]), 404)


def test_the_csv_export_leaves_the_trash_out(
    client: FlaskClient, alice: User, shop: dict[str, Any]
) -> None:
    kept, gone = item(client, alice, shop["id"], "Kept"), item(client, alice, shop["id"], "Gone")
    _delete(client, alice, gone["id"])
    answer = client.get(f"/store/{shop['id']}/item", headers={"Accept": "text/csv"})
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True), newline="")))
    assert [r[:2] for r in rows[1:]] == [[str(kept["id"]), "Kept"]]


def test_an_import_does_not_match_an_item_in_the_trash(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User, shop: dict[str, Any]
) -> None:
    gone = item(client, alice, shop["id"], "Chair", price=1)
    _delete(client, alice, gone["id"])
    answer = client.post(
        f"/store/{shop['id']}/import",
        data=b"name,price\nchair,12.50\n",
        content_type="text/csv",
        headers=alice.headers,
    )
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert run_jobs(app, tmp_path / "mail") == ["succeeded"]
    result = client.get(answer.headers["Location"], headers=alice.headers).get_json()["result"]
    (row,) = result["rows"]
    # A new item: the name in the trash is free, and the trashed item is left as it was.
    assert row["status"] == "created" and row["item_id"] != gone["id"]
    assert client.get(f"/store/{shop['id']}").get_json()["item_count"] == 1
    (trashed,) = _trash(client, alice, shop["id"]).get_json()
    assert (trashed["id"], trashed["price"]) == (gone["id"], 1)
    assert_problem(_restore(client, alice, gone["id"]), 409)


def test_several_workers_purging_at_once_purge_each_item_once(
    app: Flask, client: FlaskClient, alice: User, shop: dict[str, Any]
) -> None:
    made = [item(client, alice, shop["id"], f"Item {n}") for n in range(12)]
    for found in made:
        _delete(client, alice, found["id"])
    units = _units(app)
    later = datetime.now(UTC) + RETENTION + timedelta(days=1)
    with ThreadPoolExecutor(3) as pool:
        counts = list(pool.map(lambda _: purge_trash(units, later), range(3)))
    assert sum(counts) == len(made)
    assert _trash(client, alice, shop["id"]).get_json() == []


def test_deleted_by_is_null_once_that_user_is_deleted(
    client: FlaskClient, alice: User, admin: User, shop: dict[str, Any]
) -> None:
    chair = item(client, alice, shop["id"])
    assert _delete(client, admin, chair["id"]).status_code == 204
    assert client.delete(f"/user/{admin.id}", headers=admin.headers).status_code == 204
    (row,) = _trash(client, alice, shop["id"]).get_json()
    assert (row["id"], row["deleted_by"]) == (chair["id"], None)
    assert _restore(client, alice, chair["id"]).status_code == 200
