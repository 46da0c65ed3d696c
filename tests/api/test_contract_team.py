"""A store's team over HTTP: members, roles, leaving, and GET /store?member=me, on both databases.

Who may do what is tests/api/test_authorization_matrix.py's; this is the team's own rules.
"""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.helpers import User, assert_problem, new_user, store


def add(client: FlaskClient, by: User, store_id: int, username: str, role: str) -> object:
    return client.post(
        f"/store/{store_id}/member", json={"username": username, "role": role}, headers=by.headers
    )


def test_the_owner_builds_a_team_and_everyone_on_it_sees_it(
    client: FlaskClient, alice: User, bob: User
) -> None:
    shop = store(client, alice)
    added = client.post(
        f"/store/{shop['id']}/member",
        json={"username": "BOB", "role": "staff"},
        headers=alice.headers,
    )
    assert added.status_code == 201, added.get_json()
    assert added.headers["Location"] == f"/store/{shop['id']}/member/{bob.id}"
    assert added.get_json()["role"] == "staff"
    assert added.get_json()["username"] == "bob"
    team = client.get(f"/store/{shop['id']}/member", headers=bob.headers)
    assert team.status_code == 200
    assert [(m["user_id"], m["role"]) for m in team.get_json()] == [
        (alice.id, "owner"),
        (bob.id, "staff"),
    ]
    mine = client.get(f"/store/{shop['id']}/member/{bob.id}", headers=bob.headers)
    assert mine.status_code == 200
    assert mine.headers["ETag"]


def test_adding_refuses_unknown_users_duplicates_and_the_owner(
    client: FlaskClient, alice: User, bob: User
) -> None:
    shop = store(client, alice)
    unknown = assert_problem(add(client, alice, shop["id"], "nobody", "staff"), 422)
    assert "username" in unknown["errors"]
    assert add(client, alice, shop["id"], "bob", "staff").status_code == 201  # type: ignore[attr-defined]
    assert_problem(add(client, alice, shop["id"], "bob", "manager"), 409)
    assert_problem(add(client, alice, shop["id"], "alice", "staff"), 409)
    assert_problem(add(client, alice, shop["id"], "bob", "owner"), 422)


def test_roles_change_and_members_leave(client: FlaskClient, alice: User, bob: User) -> None:
    shop = store(client, alice)
    add(client, alice, shop["id"], "bob", "staff")
    path = f"/store/{shop['id']}/member/{bob.id}"
    etag = client.get(path, headers=alice.headers).headers["ETag"]
    stale = client.patch(
        path, json={"role": "manager"}, headers={**alice.headers, "If-Match": '"x"'}
    )
    assert stale.status_code == 412
    changed = client.patch(
        path, json={"role": "manager"}, headers={**alice.headers, "If-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.get_json()["role"] == "manager"
    assert_problem(
        client.patch(
            f"/store/{shop['id']}/member/{alice.id}", json={"role": "staff"}, headers=alice.headers
        ),
        409,
    )
    assert_problem(
        client.delete(f"/store/{shop['id']}/member/{alice.id}", headers=alice.headers), 409
    )
    assert client.delete(path, headers=bob.headers).status_code == 204  # leaving
    assert_problem(client.get(path, headers=bob.headers), 404)
    assert_problem(client.get(f"/store/{shop['id']}/member", headers=bob.headers), 403)
    assert_problem(client.delete(path, headers=alice.headers), 404)


def test_strangers_and_anonymous_callers_do_not_see_a_team(
    client: FlaskClient, alice: User, bob: User
) -> None:
    shop = store(client, alice)
    assert_problem(client.get(f"/store/{shop['id']}/member", headers=bob.headers), 403)
    assert_problem(client.get(f"/store/{shop['id']}/member"), 401)
    assert_problem(client.get(f"/store/{shop['id']}/member/{alice.id}", headers=bob.headers), 403)
    assert_problem(client.get(f"/store/{shop['id']}/member/{bob.id}", headers=bob.headers), 404)
    assert_problem(client.get(f"/store/999/member/{bob.id}", headers=bob.headers), 404)


def test_my_stores_are_the_owned_and_the_joined_ones(
    client: FlaskClient, alice: User, bob: User
) -> None:
    carol = new_user(client, "carol")
    owned = store(client, bob, "Bob's")
    joined = store(client, alice, "Alice's")
    store(client, alice, "Not Bob's")
    store(client, carol, "Carol's")
    add(client, alice, joined["id"], "bob", "staff")
    mine = client.get("/store?member=me&limit=1", headers=bob.headers)
    assert mine.status_code == 200
    assert [s["id"] for s in mine.get_json()] == [owned["id"]]
    following = client.get(mine.headers["Link"].split(">")[0][1:], headers=bob.headers)
    assert [s["id"] for s in following.get_json()] == [joined["id"]]
    assert "Link" not in following.headers
    assert [
        s["id"] for s in client.get("/store?member=me&sort=-name", headers=bob.headers).get_json()
    ] == [
        owned["id"],
        joined["id"],
    ]
    assert_problem(client.get("/store?member=me"), 401)
    assert_problem(client.get("/store?member=you", headers=bob.headers), 422)
    assert len(client.get("/store").get_json()) == 4


def test_deleting_a_member_account_removes_its_memberships(
    client: FlaskClient, alice: User, bob: User
) -> None:
    shop = store(client, alice)
    add(client, alice, shop["id"], "bob", "staff")
    assert client.delete(f"/user/{bob.id}", headers=bob.headers).status_code == 204
    team = client.get(f"/store/{shop['id']}/member", headers=alice.headers).get_json()
    assert [m["role"] for m in team] == ["owner"]


def test_permissions_say_what_the_caller_may_do(
    client: FlaskClient, alice: User, bob: User, admin: User
) -> None:
    shop = store(client, alice)
    add(client, alice, shop["id"], "bob", "staff")
    path = f"/store/{shop['id']}/permission"
    answer = client.get(path, headers=bob.headers)
    assert answer.headers["Cache-Control"] == "private, no-cache"
    assert "Authorization" in answer.headers["Vary"]
    staff = answer.get_json()
    assert staff == {"role": "staff", "is_admin": False, "actions": ["item.write", "member.list"]}
    owner = client.get(path, headers=alice.headers).get_json()
    assert owner["role"] == "owner"
    assert {"store.delete", "member.add_manager", "item.delete"} <= set(owner["actions"])
    everything = client.get(path, headers=admin.headers).get_json()
    assert everything["role"] is None
    assert everything["is_admin"] is True
    assert len(everything["actions"]) == len(owner["actions"])
    assert client.get(path).get_json() == {"role": None, "is_admin": False, "actions": []}
    assert_problem(client.get("/store/999/permission"), 404)
