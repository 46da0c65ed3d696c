"""Who may do what, generated from the permission table in docs/api.md, on both databases.

The table ("Who may do what") is parsed from the docs, checked to equal the code's own
(domain/policy.py ALLOWED), and crossed with every caller (the store's owner, a manager,
staff, a member of another store, a signed-in stranger, an anonymous caller, an admin) and
every write to a store's data (the CSV import included: its job is queued, not run; its
webhooks too, whose deliveries are queued, not sent). Each
case runs on a store of its own, made for it, so a success cannot spill into the next case;
a refusal must leave the store's data exactly as it was (its store, items, tags and team,
read before and after). Users are registered once per
module (password hashing is the slow part); the database is emptied when the module ends.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storekeeper.db.session import Database
from storekeeper.domain.policy import ALLOWED, ROLES, Action
from tests.helpers import HOOK_URL, User, empty_database, make_admin, new_user
from tests.images import picture

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
_TABLE = re.compile(r"<!-- permissions.*?-->\n(.*?)<!-- /permissions -->", re.S)


def permission_table() -> dict[str, frozenset[str]]:
    """docs/api.md's permission table: each action and the roles it allows."""
    found = _TABLE.search(DOCS.read_text(encoding="utf-8"))
    assert found, "docs/api.md has no <!-- permissions --> table"
    lines = [line for line in found.group(1).splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[1:4] == list(ROLES), header
    table: dict[str, frozenset[str]] = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        action = cells[0].strip("`")
        assert all(c in ("yes", "no") for c in cells[1:4]), line
        table[action] = frozenset(r for r, c in zip(ROLES, cells[1:4], strict=True) if c == "yes")
    return table


TABLE = permission_table()


def test_the_documented_table_is_the_policy() -> None:
    assert {action.value: roles for action, roles in ALLOWED.items()} == TABLE


# The callers: a role in the store under test, or none.
CALLERS = ("owner", "manager", "staff", "other_member", "stranger", "anonymous", "admin")


@dataclass
class World:
    """The module's users (registered once) and a counter for unique names and ids."""

    http: FlaskClient
    users: dict[str, User]
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def unique(self) -> int:
        return next(self.counter)


@dataclass
class Shop:
    """A store made for one case, with its team and a little of everything."""

    id: int
    item: int
    tag: int
    linked_tag: int
    spare_tag: int
    staff_target: int
    manager_target: int
    webhook: int
    delivery: int


@pytest.fixture(scope="module")
def world(app: Flask, session_database: Database) -> Iterator[World]:
    http = app.test_client()
    empty_database(session_database)
    names = ("owner", "manager", "staff", "other_member", "stranger", "admin")
    users = {name: new_user(http, f"mx_{name}") for name in names}
    for extra in ("staff_target", "manager_target", "newcomer", "other_owner"):
        users[extra] = new_user(http, f"mx_{extra}")
    make_admin(session_database, users["admin"].id)
    # The other member belongs to another store, as a manager there.
    other = _ok(
        http.post("/store", json={"name": "Elsewhere"}, headers=users["other_owner"].headers)
    )
    _add(http, users["other_owner"], other["id"], "mx_other_member", "manager")
    yield World(http, users)
    empty_database(session_database)


def _ok(answer: Any) -> Any:
    assert answer.status_code < 300, (answer.status_code, answer.get_json())
    return answer.get_json()


def _add(http: FlaskClient, by: User, store_id: int, username: str, role: str) -> None:
    _ok(
        http.post(
            f"/store/{store_id}/member",
            json={"username": username, "role": role},
            headers=by.headers,
        )
    )


def make_shop(world: World) -> Shop:
    """A fresh store owned by `owner`, with a manager, staff, an item, tags and a link."""
    http, users = world.http, world.users
    owner = users["owner"]
    store_id = _ok(
        http.post("/store", json={"name": f"Shop {world.unique()}"}, headers=owner.headers)
    )["id"]
    # First, so the writes below each start a delivery to it.
    webhook_id = _ok(
        http.post(
            f"/store/{store_id}/webhook",
            json={"url": HOOK_URL, "events": ["*"]},
            headers=owner.headers,
        )
    )["id"]
    for name, role in (
        ("manager", "manager"),
        ("staff", "staff"),
        ("staff_target", "staff"),
        ("manager_target", "manager"),
    ):
        _add(http, owner, store_id, f"mx_{name}", role)
    item_id = _ok(
        http.post(
            f"/store/{store_id}/item", json={"name": "Chair", "price": 9.99}, headers=owner.headers
        )
    )["id"]
    tags = [
        _ok(http.post(f"/store/{store_id}/tag", json={"name": n}, headers=owner.headers))["id"]
        for n in ("wood", "oak", "spare")
    ]
    _ok(http.post(f"/item/{item_id}/tag/{tags[1]}", headers=owner.headers))
    sent = _ok(http.get(f"/webhook/{webhook_id}/delivery", headers=owner.headers))
    return Shop(
        store_id,
        item_id,
        tags[0],
        tags[1],
        tags[2],
        users["staff_target"].id,
        users["manager_target"].id,
        webhook_id,
        sent[0]["id"],
    )


def snapshot(world: World, shop: Shop) -> dict[str, Any]:
    """Everything of the store's data a write could change, as its owner reads it."""
    http, owner = world.http, world.users["owner"].headers
    return {
        "store": (s := http.get(f"/store/{shop.id}", headers=owner)).status_code,
        "store_body": s.get_json(),
        "items": http.get(f"/store/{shop.id}/item?limit=200", headers=owner).get_json(),
        "tags": http.get(f"/store/{shop.id}/tag?limit=200", headers=owner).get_json(),
        "team": http.get(f"/store/{shop.id}/member?limit=200", headers=owner).get_json(),
        "image": http.get(f"/item/{shop.item}/image").status_code,
        "trash": http.get(f"/store/{shop.id}/trash?limit=200", headers=owner).get_json(),
        "history": http.get(f"/store/{shop.id}/event?limit=200", headers=owner).get_json(),
        "webhooks": http.get(f"/store/{shop.id}/webhook?limit=200", headers=owner).get_json(),
        "deliveries": http.get(
            f"/webhook/{shop.webhook}/delivery?limit=200", headers=owner
        ).get_json(),
    }


@dataclass(frozen=True)
class Write:
    """One write to a store's data, the action it is, and its status on success."""

    name: str
    action: str
    success: tuple[int, ...]
    send: Callable[[FlaskClient, World, Shop, dict[str, str]], Any]
    # Made before the snapshot, as the owner: what the write needs to find (a photo to remove).
    prepare: Callable[[FlaskClient, World, Shop], None] | None = None
    # Whether a success is one event in the store's history: not a store's deletion (its
    # history goes with it), nor an import, whose event comes when its job has run
    # (tests/api/test_contract_history.py), nor a ping or redelivery (they change no data).
    recorded: bool = True


def _in_the_trash(http: FlaskClient, world: World, shop: Shop) -> None:
    owner = world.users["owner"].headers
    assert http.delete(f"/item/{shop.item}", headers=owner).status_code == 204


def _with_photo(http: FlaskClient, world: World, shop: Shop) -> None:
    owner = world.users["owner"].headers
    _ok(
        http.put(
            f"/item/{shop.item}/image", data=picture(), content_type="image/jpeg", headers=owner
        )
    )


WRITES = (
    Write(
        "store PATCH",
        "store.rename",
        (200,),
        lambda h, w, s, a: h.patch(
            f"/store/{s.id}", json={"name": f"Renamed {w.unique()}"}, headers=a
        ),
    ),
    Write(
        "store DELETE",
        "store.delete",
        (204,),
        lambda h, w, s, a: h.delete(f"/store/{s.id}", headers=a),
        recorded=False,
    ),
    Write(
        "item POST /item",
        "item.write",
        (201,),
        lambda h, w, s, a: h.post(
            "/item", json={"name": "Lamp", "price": 5, "store_id": s.id}, headers=a
        ),
    ),
    Write(
        "item POST /store/{id}/item",
        "item.write",
        (201,),
        lambda h, w, s, a: h.post(
            f"/store/{s.id}/item", json={"name": "Lamp", "price": 5}, headers=a
        ),
    ),
    Write(
        "item PUT (replace)",
        "item.write",
        (200,),
        lambda h, w, s, a: h.put(f"/item/{s.item}", json={"name": "Stool", "price": 3}, headers=a),
    ),
    Write(
        "item PUT (create)",
        "item.write",
        (201,),
        lambda h, w, s, a: h.put(
            f"/item/{1_000_000 + w.unique()}",
            json={"name": "Bench", "price": 3, "store_id": s.id},
            headers=a,
        ),
    ),
    Write(
        "item PATCH",
        "item.write",
        (200,),
        lambda h, w, s, a: h.patch(f"/item/{s.item}", json={"price": 12.5}, headers=a),
    ),
    Write(
        "item DELETE",
        "item.delete",
        (204,),
        lambda h, w, s, a: h.delete(f"/item/{s.item}", headers=a),
    ),
    Write(
        "item restore",
        "item.restore",
        (200,),
        lambda h, w, s, a: h.post(f"/item/{s.item}/restore", headers=a),
        _in_the_trash,
    ),
    Write(
        "item image PUT",
        "item.write",
        (201,),
        lambda h, w, s, a: h.put(
            f"/item/{s.item}/image", data=picture(), content_type="image/jpeg", headers=a
        ),
    ),
    Write(
        "item image DELETE",
        "item.write",
        (204,),
        lambda h, w, s, a: h.delete(f"/item/{s.item}/image", headers=a),
        _with_photo,
    ),
    Write(
        "tag POST",
        "tag.create",
        (201,),
        lambda h, w, s, a: h.post(f"/store/{s.id}/tag", json={"name": "new"}, headers=a),
    ),
    Write(
        "tag DELETE",
        "tag.delete",
        (204,),
        lambda h, w, s, a: h.delete(f"/tag/{s.spare_tag}", headers=a),
    ),
    Write(
        "link",
        "item.write",
        (201,),
        lambda h, w, s, a: h.post(f"/item/{s.item}/tag/{s.tag}", headers=a),
    ),
    Write(
        "unlink",
        "item.write",
        (204,),
        lambda h, w, s, a: h.delete(f"/item/{s.item}/tag/{s.linked_tag}", headers=a),
    ),
    Write(
        "import",
        "item.import",
        (202,),
        lambda h, w, s, a: h.post(
            f"/store/{s.id}/import",
            data=b"name,price\nBench,30\n",
            content_type="text/csv",
            headers=a,
        ),
        recorded=False,
    ),
    Write(
        "member POST staff",
        "member.add_staff",
        (201,),
        lambda h, w, s, a: h.post(
            f"/store/{s.id}/member", json={"username": "mx_newcomer", "role": "staff"}, headers=a
        ),
    ),
    Write(
        "member POST manager",
        "member.add_manager",
        (201,),
        lambda h, w, s, a: h.post(
            f"/store/{s.id}/member", json={"username": "mx_newcomer", "role": "manager"}, headers=a
        ),
    ),
    Write(
        "member PATCH staff",
        "member.change_role",
        (200,),
        lambda h, w, s, a: h.patch(
            f"/store/{s.id}/member/{s.staff_target}", json={"role": "manager"}, headers=a
        ),
    ),
    Write(
        "member PATCH manager",
        "member.change_role",
        (200,),
        lambda h, w, s, a: h.patch(
            f"/store/{s.id}/member/{s.manager_target}", json={"role": "staff"}, headers=a
        ),
    ),
    Write(
        "member DELETE staff",
        "member.remove_staff",
        (204,),
        lambda h, w, s, a: h.delete(f"/store/{s.id}/member/{s.staff_target}", headers=a),
    ),
    Write(
        "member DELETE manager",
        "member.remove_manager",
        (204,),
        lambda h, w, s, a: h.delete(f"/store/{s.id}/member/{s.manager_target}", headers=a),
    ),
    Write(
        "webhook POST",
        "webhook.manage",
        (201,),
        lambda h, w, s, a: h.post(
            f"/store/{s.id}/webhook", json={"url": HOOK_URL, "events": ["*"]}, headers=a
        ),
    ),
    Write(
        "webhook PATCH",
        "webhook.manage",
        (200,),
        lambda h, w, s, a: h.patch(
            f"/webhook/{s.webhook}", json={"description": f"Sync {w.unique()}"}, headers=a
        ),
    ),
    Write(
        "webhook rotate",
        "webhook.manage",
        (200,),
        lambda h, w, s, a: h.patch(
            f"/webhook/{s.webhook}", json={"rotate_secret": True}, headers=a
        ),
    ),
    Write(
        "webhook DELETE",
        "webhook.manage",
        (204,),
        lambda h, w, s, a: h.delete(f"/webhook/{s.webhook}", headers=a),
    ),
    Write(
        "webhook ping",
        "webhook.manage",
        (202,),
        lambda h, w, s, a: h.post(f"/webhook/{s.webhook}/ping", headers=a),
        recorded=False,
    ),
    Write(
        "webhook redeliver",
        "webhook.manage",
        (202,),
        lambda h, w, s, a: h.post(
            f"/webhook/{s.webhook}/delivery/{s.delivery}/redeliver", headers=a
        ),
        recorded=False,
    ),
)


def expected(caller: str, action: str) -> str:
    """What the table says this caller gets: 'ok', 401 or 403."""
    if caller == "anonymous":
        return "401"
    if caller == "admin" or caller in TABLE[action]:
        return "ok"
    return "403"


CASES = [
    pytest.param(write, caller, id=f"{write.name}-{caller}")
    for write in WRITES
    for caller in CALLERS
]


def test_every_write_and_every_action_is_covered() -> None:
    assert {w.action for w in WRITES} <= set(TABLE)
    assert len(WRITES) == len({w.name for w in WRITES})
    assert {a.value for a in Action} == set(TABLE)


@pytest.mark.parametrize(("write", "caller"), CASES)
def test_the_table_decides(world: World, write: Write, caller: str) -> None:
    http = world.http
    shop = make_shop(world)
    if write.prepare is not None:
        write.prepare(http, world, shop)
    headers = {} if caller == "anonymous" else world.users[caller].headers
    before = snapshot(world, shop)
    answer = write.send(http, world, shop, headers)
    want = expected(caller, write.action)
    if want == "ok":
        assert answer.status_code in write.success, (answer.status_code, answer.get_json())
        # Every allowed write is one event in the store's history, by its caller (but those
        # Write.recorded says are not).
        if write.recorded:
            after = snapshot(world, shop)["history"]
            (event,) = after[: len(after) - len(before["history"])]
            assert event["actor_id"] == world.users[caller].id
        return
    assert answer.status_code == int(want), (answer.status_code, answer.get_json())
    assert answer.mimetype == "application/problem+json"
    if want == "401":
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot(world, shop) == before


@pytest.mark.parametrize("caller", ["owner", "manager", "staff", "admin", "stranger"])
def test_a_missing_store_or_item_is_a_404_for_anyone_signed_in(world: World, caller: str) -> None:
    http, headers = world.http, world.users[caller].headers
    assert http.patch("/store/999999", json={"name": "X"}, headers=headers).status_code == 404
    assert http.delete("/item/999999", headers=headers).status_code == 404
    assert (
        http.post(
            "/store/999999/member",
            json={"username": "mx_newcomer", "role": "staff"},
            headers=headers,
        ).status_code
        == 404
    )


def test_moving_an_item_needs_item_write_in_both_stores(world: World) -> None:
    http, users = world.http, world.users
    shop, other = make_shop(world), make_shop(world)
    # Staff of both stores may move; remove them from the second: now they may not.
    staff = users["staff"]
    moved = http.patch(
        f"/item/{shop.item}", json={"store_id": other.id, "name": "Moved"}, headers=staff.headers
    )
    assert moved.status_code == 200, moved.get_json()
    _ok(http.delete(f"/store/{shop.id}/member/{staff.id}", headers=users["owner"].headers))
    back = http.patch(f"/item/{shop.item}", json={"store_id": shop.id}, headers=staff.headers)
    assert back.status_code == 403
    assert http.get(f"/item/{shop.item}").get_json()["store_id"] == other.id
