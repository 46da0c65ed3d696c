"""HTTP semantics beyond the course: ETags, conditional writes, idempotent POST retries."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from storekeeper.db.session import Database
from tests.helpers import PASSWORD, User, assert_problem, auth, item, login, store, tag


def etag(answer: Any) -> str:
    """The strong ETag of an answer."""
    value: str = answer.headers["ETag"]
    assert value.startswith('"')
    assert value.endswith('"')
    return value


# ETags and If-None-Match


def test_single_resources_carry_stable_etags(client: FlaskClient, alice: User) -> None:
    created = store(client, alice)
    chair = item(client, alice, created["id"])
    wood = tag(client, alice, created["id"])
    for path in (
        f"/store/{created['id']}",
        f"/item/{chair['id']}",
        f"/tag/{wood['id']}",
        f"/user/{alice.id}",
    ):
        first = client.get(path, headers=alice.headers)
        assert etag(first) == etag(client.get(path, headers=alice.headers))
        assert (
            client.get(path, headers={**alice.headers, "If-None-Match": etag(first)}).status_code
            == 304
        )
    assert "ETag" not in client.get("/item").headers


def test_304_has_no_body_and_weak_or_listed_tags_match(client: FlaskClient, alice: User) -> None:
    chair = item(client, alice, store(client, alice)["id"])
    path = f"/item/{chair['id']}"
    current = etag(client.get(path))
    for header in (current, f"W/{current}", f'"other", {current}', "*"):
        answer = client.get(path, headers={"If-None-Match": header})
        assert answer.status_code == 304, header
        assert answer.get_data() == b""
        assert answer.headers["ETag"] == current
    assert client.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_etags_change_with_what_the_representation_embeds(client: FlaskClient, alice: User) -> None:
    created = store(client, alice)
    chair = item(client, alice, created["id"])
    store_tag = etag(client.get(f"/store/{created['id']}"))
    item_tag = etag(client.get(f"/item/{chair['id']}"))
    client.patch(f"/item/{chair['id']}", json={"price": 20}, headers=alice.headers)
    assert etag(client.get(f"/store/{created['id']}")) != store_tag
    item_tag = etag(client.get(f"/item/{chair['id']}"))
    client.patch(f"/store/{created['id']}", json={"name": "Renamed"}, headers=alice.headers)
    assert etag(client.get(f"/item/{chair['id']}")) != item_tag


def test_writes_that_return_the_resource_carry_its_etag(client: FlaskClient, alice: User) -> None:
    created = client.post("/store", json={"name": "Shop"}, headers=alice.headers)
    assert etag(created) == etag(client.get(created.headers["Location"]))
    patched = client.patch(
        created.headers["Location"], json={"name": "Shop 2"}, headers=alice.headers
    )
    assert etag(patched) == etag(client.get(created.headers["Location"]))


# If-Match


def test_if_match_on_item_writes(client: FlaskClient, alice: User) -> None:
    chair = item(client, alice, store(client, alice)["id"])
    path = f"/item/{chair['id']}"
    current = etag(client.get(path))
    stale = client.patch(path, json={"price": 1}, headers={**alice.headers, "If-Match": '"stale"'})
    assert_problem(stale, 412)
    assert client.get(path).get_json()["price"] == 9.99
    fresh = client.patch(path, json={"price": 1}, headers={**alice.headers, "If-Match": current})
    assert fresh.status_code == 200
    assert_problem(
        client.put(
            path, json={"name": "N", "price": 2}, headers={**alice.headers, "If-Match": current}
        ),
        412,
    )
    assert (
        client.put(
            path, json={"name": "N", "price": 2}, headers={**alice.headers, "If-Match": etag(fresh)}
        ).status_code
        == 200
    )
    assert_problem(client.delete(path, headers={**alice.headers, "If-Match": current}), 412)
    assert client.get(path).status_code == 200
    assert client.delete(path, headers={**alice.headers, "If-Match": "*"}).status_code == 204


def test_if_match_on_stores_tags_and_users(client: FlaskClient, alice: User) -> None:
    created = store(client, alice)
    wood = tag(client, alice, created["id"])
    stale = {**alice.headers, "If-Match": '"stale"'}
    assert_problem(client.patch(f"/store/{created['id']}", json={"name": "X"}, headers=stale), 412)
    assert_problem(client.delete(f"/tag/{wood['id']}", headers=stale), 412)
    assert_problem(client.delete(f"/store/{created['id']}", headers=stale), 412)
    assert_problem(client.delete(f"/user/{alice.id}", headers=stale), 412)
    assert client.get(f"/store/{created['id']}").get_json()["name"] == "Shop"
    current = etag(client.get(f"/tag/{wood['id']}"))
    assert (
        client.delete(
            f"/tag/{wood['id']}", headers={**alice.headers, "If-Match": current}
        ).status_code
        == 204
    )


def test_put_preconditions_for_creation(client: FlaskClient, alice: User) -> None:
    created = store(client, alice)
    body = {"name": "New", "price": 1, "store_id": created["id"]}
    assert_problem(
        client.put("/item/500", json=body, headers={**alice.headers, "If-Match": "*"}), 412
    )
    assert_problem(client.get("/item/500"), 404)
    create_only = {**alice.headers, "If-None-Match": "*"}
    assert client.put("/item/500", json=body, headers=create_only).status_code == 201
    assert_problem(client.put("/item/500", json=body, headers=create_only), 412)


def test_preconditions_do_not_hide_404_or_403(client: FlaskClient, alice: User, bob: User) -> None:
    chair = item(client, alice, store(client, alice)["id"])
    current = etag(client.get(f"/item/{chair['id']}"))
    assert_problem(
        client.patch(
            "/item/999", json={"price": 1}, headers={**alice.headers, "If-Match": current}
        ),
        404,
    )
    assert_problem(
        client.patch(
            f"/item/{chair['id']}", json={"price": 1}, headers={**bob.headers, "If-Match": current}
        ),
        403,
    )


# Idempotency-Key


def keyed(user: User, key: str) -> dict[str, str]:
    """The user's headers with an Idempotency-Key."""
    return {**user.headers, "Idempotency-Key": key}


def test_same_key_same_body_replays_the_first_answer(client: FlaskClient, alice: User) -> None:
    first = client.post("/store", json={"name": "Once"}, headers=keyed(alice, "k-1"))
    again = client.post("/store", json={"name": "Once"}, headers=keyed(alice, "k-1"))
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert again.headers["Location"] == first.headers["Location"]
    assert len(client.get("/store").get_json()) == 1


def test_same_key_other_body_is_422(client: FlaskClient, alice: User) -> None:
    client.post("/store", json={"name": "Once"}, headers=keyed(alice, "k-2"))
    answer = client.post("/store", json={"name": "Twice"}, headers=keyed(alice, "k-2"))
    assert "Idempotency-Key" in assert_problem(answer, 422)["errors"]
    other_path = client.post("/store/1/tag", json={"name": "Once"}, headers=keyed(alice, "k-2"))
    assert_problem(other_path, 422)


def test_keys_belong_to_their_user(client: FlaskClient, alice: User, bob: User) -> None:
    mine = client.post("/store", json={"name": "Alice's"}, headers=keyed(alice, "shared"))
    theirs = client.post("/store", json={"name": "Bob's"}, headers=keyed(bob, "shared"))
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers


@pytest.mark.parametrize("key", ["", "k" * 256, "caf\u00e9", "with space", "tab\tkey"])
def test_malformed_keys_are_400(client: FlaskClient, alice: User, key: str) -> None:
    answer = client.post(
        "/store",
        json={"name": "X"},
        headers={**alice.headers, "Idempotency-Key": key.encode().decode("latin-1")},
    )
    assert_problem(answer, 400)
    assert client.get("/store").get_json() == []


def test_a_255_character_key_is_fine(client: FlaskClient, alice: User) -> None:
    answer = client.post("/store", json={"name": "X"}, headers=keyed(alice, "k" * 255))
    assert answer.status_code == 201


def test_invalid_requests_bind_nothing(client: FlaskClient, alice: User) -> None:
    assert_problem(client.post("/store", json={"name": ""}, headers=keyed(alice, "k-3")), 422)
    fixed = client.post("/store", json={"name": ""}, headers=keyed(alice, "k-3"))
    assert_problem(fixed, 422)
    assert "Idempotent-Replayed" not in fixed.headers
    created = client.post("/store", json={"name": "Fixed"}, headers=keyed(alice, "k-4"))
    assert created.status_code == 201


def test_conflicts_are_replayed(client: FlaskClient, alice: User) -> None:
    store(client, alice, "Taken")
    first = client.post("/store", json={"name": "Taken"}, headers=keyed(alice, "k-5"))
    assert_problem(first, 409)
    store_list = client.get("/store").get_json()
    client.delete(f"/store/{store_list[0]['id']}", headers=alice.headers)
    again = client.post("/store", json={"name": "Taken"}, headers=keyed(alice, "k-5"))
    assert again.status_code == 409
    assert again.headers["Idempotent-Replayed"] == "true"


def test_every_creating_post_takes_a_key(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)
    chair = item(client, alice, shop["id"])
    wood = tag(client, alice, shop["id"])
    calls = [
        ("/item", {"name": "Lamp", "price": 1, "store_id": shop["id"]}),
        (f"/store/{shop['id']}/item", {"name": "Desk", "price": 1}),
        (f"/store/{shop['id']}/tag", {"name": "oak"}),
        (f"/item/{chair['id']}/tag/{wood['id']}", None),
    ]
    for n, (path, body) in enumerate(calls):
        first = client.post(path, json=body, headers=keyed(alice, f"every-{n}"))
        again = client.post(path, json=body, headers=keyed(alice, f"every-{n}"))
        assert first.status_code == 201, (path, first.get_json())
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
    anonymous = {"username": "newbie", "password": PASSWORD}
    first = client.post("/register", json=anonymous, headers={"Idempotency-Key": "reg-1"})
    again = client.post("/register", json=anonymous, headers={"Idempotency-Key": "reg-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"


def test_logout_is_idempotent_by_itself_and_ignores_idempotency_keys(
    client: FlaskClient, alice: User
) -> None:
    # Once, a key reused on /logout in a new session replayed the first 204 and revoked
    # nothing. Ending a session is idempotent without a key: a retry is a 401, the session
    # being over, and a key never stands in for the session it names.
    first = client.post("/logout", headers=keyed(alice, "bye"))
    again = client.post("/logout", headers=keyed(alice, "bye"))
    assert (first.status_code, again.status_code) == (204, 401)
    fresh = login(client, "alice")
    reused = client.post(
        "/logout", headers={**auth(fresh["access_token"]), "Idempotency-Key": "bye"}
    )
    assert reused.status_code == 204 and "Idempotent-Replayed" not in reused.headers
    assert client.get("/user/me", headers=auth(fresh["access_token"])).status_code == 401


def test_a_revoked_token_cannot_replay_a_stored_answer(client: FlaskClient, alice: User) -> None:
    headers = keyed(alice, "make-store")
    created = client.post("/store", json={"name": "Kept"}, headers=headers)
    assert created.status_code == 201
    assert client.post("/logout", headers=alice.headers).status_code == 204
    replay = client.post("/store", json={"name": "Kept"}, headers=headers)
    assert replay.status_code == 401
    assert "Idempotent-Replayed" not in replay.headers


def test_login_answers_are_never_stored(client: FlaskClient, alice: User) -> None:
    body = {"username": "alice", "password": PASSWORD}
    first = client.post("/login", json=body, headers={"Idempotency-Key": "login"})
    again = client.post("/login", json=body, headers={"Idempotency-Key": "login"})
    assert first.status_code == again.status_code == 200
    assert first.get_json()["access_token"] != again.get_json()["access_token"]
    assert "Idempotent-Replayed" not in again.headers


def _fingerprint(path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in ("POST", path, "application/json"):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


def _claim(database: Database, user: int, key: str, fingerprint: str, age: timedelta) -> None:
    when = datetime.now(UTC) - age
    with database.unit_of_work(write=True) as conn:
        conn.execute(
            text(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at, locked_at)"
                " VALUES (:u, :k, :f, :t, :t)"
            ),
            {"u": user, "k": key, "f": fingerprint, "t": when.replace(tzinfo=None)},
        )


def test_in_flight_is_409_and_a_dead_claim_is_taken_over(
    client: FlaskClient, alice: User, database: Database
) -> None:
    body = b'{"name": "Racing"}'
    _claim(database, alice.id, "busy", _fingerprint("/store", body), timedelta(seconds=1))
    answer = client.post(
        "/store", data=body, content_type="application/json", headers=keyed(alice, "busy")
    )
    assert_problem(answer, 409)
    _claim(database, alice.id, "dead", _fingerprint("/store", body), timedelta(minutes=2))
    taken = client.post(
        "/store", data=body, content_type="application/json", headers=keyed(alice, "dead")
    )
    assert taken.status_code == 201


def test_records_expire_after_24_hours(
    client: FlaskClient, alice: User, database: Database
) -> None:
    first = client.post("/store", json={"name": "Old"}, headers=keyed(alice, "old"))
    assert first.status_code == 201
    with database.unit_of_work(write=True) as conn:
        conn.execute(
            text("UPDATE idempotency_keys SET created_at = :t"),
            {"t": (datetime.now(UTC) - timedelta(hours=25)).replace(tzinfo=None)},
        )
    client.delete(first.headers["Location"], headers=alice.headers)
    again = client.post("/store", json={"name": "Old"}, headers=keyed(alice, "old"))
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
