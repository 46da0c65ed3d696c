"""Lists: keyset pages, Link headers, cursors, sorts and filters."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from storekeeper.app import create_app
from storekeeper.db.session import Database
from storekeeper.domain.names import look_alike_digest
from storekeeper.domain.values import name_key
from storekeeper.settings import DEFAULT_PUBLIC_URL
from tests.helpers import ProvisionedDatabase, User, assert_problem, item, make_settings, store, tag


def next_link(answer: Any) -> str | None:
    """The rel=next URL of a list answer, as a path with query."""
    link = answer.headers.get("Link")
    if link is None:
        return None
    url, rel = link.split(";")
    assert rel.strip() == 'rel="next"'
    parts = urlsplit(url.strip()[1:-1])
    assert parts.scheme == "http"
    assert parts.netloc
    return f"{parts.path}?{parts.query}"


def walk(client: FlaskClient, path: str) -> list[dict[str, Any]]:
    """Every row of a list, following Link headers."""
    rows: list[dict[str, Any]] = []
    url: str | None = path
    while url is not None:
        answer = client.get(url)
        assert answer.status_code == 200, answer.get_json()
        rows += answer.get_json()
        url = next_link(answer)
    return rows


def seed_items(database: Database, owner: int, count: int, store_name: str = "Bulk") -> int:
    """A store with `count` items (prices and names varied), inserted with SQL; its id."""
    with database.unit_of_work(write=True) as conn:
        now = "2026-01-01 00:00:00"
        store_id = conn.execute(
            text(
                "INSERT INTO stores (name, name_key, name_skeleton, owner_id,"
                " created_at, updated_at) VALUES (:n, :k, :s, :o, :t, :t) RETURNING id"
            ),
            {
                "n": store_name,
                "k": name_key(store_name),
                "s": look_alike_digest(store_name),
                "o": owner,
                "t": now,
            },
        ).scalar_one()
        # The store's item count, whole in one of its slots (db/models.py, StoreItemCount).
        conn.execute(
            text("INSERT INTO store_item_counts (store_id, slot, count) VALUES (:s, 0, :c)"),
            {"s": store_id, "c": count},
        )
        conn.execute(
            text(
                "INSERT INTO items (store_id, name, name_key, price_cents, quantity, description,"
                " created_at, updated_at) VALUES (:s, :n, :k, :p, :q, '', :t, :t)"
            ),
            [
                {
                    "s": store_id,
                    "n": f"Item {n:04d}",
                    "k": name_key(f"Item {n:04d}"),
                    "p": (n * 37) % 500,
                    "q": n % 3,
                    "t": f"2026-01-01 00:{n // 60 % 60:02d}:{n % 60:02d}",
                }
                for n in range(count)
            ],
        )
    return int(store_id)


def test_default_limit_is_50_and_bounds_are_1_to_200(
    client: FlaskClient, alice: User, database: Database
) -> None:
    seed_items(database, alice.id, 210)
    assert len(client.get("/item").get_json()) == 50
    assert len(client.get("/item?limit=1").get_json()) == 1
    assert len(client.get("/item?limit=200").get_json()) == 200
    for bad in ("0", "201", "-1", "abc", "1.5", "01"):
        assert "limit" in assert_problem(client.get(f"/item?limit={bad}"), 422)["errors"]


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("id", lambda r: (r["id"],)),
        ("-id", lambda r: (-r["id"],)),
        ("name", lambda r: (name_key(r["name"]), r["id"])),
        ("-name", lambda r: (tuple(-ord(c) for c in name_key(r["name"])), -r["id"])),
        ("price", lambda r: (Decimal(str(r["price"])), r["id"])),
        ("-price", lambda r: (-Decimal(str(r["price"])), -r["id"])),
        ("created_at", lambda r: (r["created_at"], r["id"])),
    ],
)
def test_walking_every_page_yields_each_row_once_in_order(
    client: FlaskClient, alice: User, database: Database, sort: str, key: Any
) -> None:
    seed_items(database, alice.id, 137)
    rows = walk(client, f"/item?limit=20&sort={sort}")
    assert len(rows) == 137
    assert len({r["id"] for r in rows}) == 137
    assert rows == sorted(rows, key=key)


def test_last_page_has_no_next_link(client: FlaskClient, alice: User, database: Database) -> None:
    seed_items(database, alice.id, 10)
    assert next_link(client.get("/item?limit=10")) is None
    assert next_link(client.get("/item?limit=9")) is not None


def test_pages_stay_correct_while_rows_change(
    client: FlaskClient, alice: User, database: Database
) -> None:
    store_id = seed_items(database, alice.id, 30)
    first = client.get("/item?limit=10")
    seen = [r["id"] for r in first.get_json()]
    # Delete a row already seen and one not yet seen, and add one at the end.
    assert client.delete(f"/item/{seen[0]}", headers=alice.headers).status_code == 204
    assert client.delete(f"/item/{seen[-1] + 5}", headers=alice.headers).status_code == 204
    added = item(client, alice, store_id, "Newcomer")
    rest = walk(client, next_link(first) or "")
    rest_ids = [r["id"] for r in rest]
    assert not set(rest_ids) & set(seen)
    assert seen[-1] + 5 not in rest_ids
    assert added["id"] in rest_ids
    assert rest_ids == sorted(rest_ids)
    assert len(seen) + len(rest_ids) == 30 - 1 + 1


def test_link_keeps_filters_and_sort(client: FlaskClient, alice: User, database: Database) -> None:
    seed_items(database, alice.id, 40)
    answer = client.get("/item?limit=5&sort=-price&min_price=1&unknown=kept")
    query = parse_qs(urlsplit(next_link(answer) or "").query)
    assert query["sort"] == ["-price"]
    assert query["min_price"] == ["1"]
    assert query["limit"] == ["5"]
    assert len(query["cursor"]) == 1


SPOOFS = [
    {"Host": "evil.example"},
    {"Host": "evil.example:443", "X-Forwarded-Host": "evil.example"},
    {"Host": "127.0.0.1:8000@evil.example"},
    {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "Forwarded": "host=evil"},
]


@pytest.mark.parametrize("spoof", SPOOFS)
def test_next_link_never_uses_the_host_the_client_sent(
    client: FlaskClient, alice: User, database: Database, spoof: dict[str, str]
) -> None:
    bulk = seed_items(database, alice.id, 3)
    for path in ("/item?limit=1", f"/store/{bulk}/item?limit=1"):
        link = client.get(path, headers=spoof).headers["Link"]
        assert "evil" not in link
        assert link.startswith(f"<{DEFAULT_PUBLIC_URL}{path.split('?')[0]}?"), link
    answer = client.get("/item?limit=1", base_url="https://evil.example")
    assert answer.headers["Link"].startswith(f"<{DEFAULT_PUBLIC_URL}/item?")


def test_next_link_uses_the_configured_public_url(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path, alice: User
) -> None:
    settings = make_settings(test_database.url, tmp_path, public_url="https://api.example.com:8443")
    configured = create_app(settings, database).test_client()
    seed_items(database, alice.id, 3)
    for headers in ({}, *SPOOFS):
        link = configured.get("/item?limit=1&sort=-price", headers=headers).headers["Link"]
        url = link.split(";")[0].strip()[1:-1]
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == (
            "https",
            "api.example.com:8443",
            "/item",
        )
        assert parse_qs(parts.query)["sort"] == ["-price"]
        # The link leads on: its path and query are the next page of the same list.
        assert configured.get(f"{parts.path}?{parts.query}").status_code == 200


def test_tampered_or_foreign_cursors_are_422(
    client: FlaskClient, alice: User, database: Database
) -> None:
    seed_items(database, alice.id, 30)
    link = next_link(client.get("/item?limit=5&sort=price")) or ""
    cursor = parse_qs(urlsplit(link).query)["cursor"][0]
    payload, signature = cursor.split(".")
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    for bad in (tampered, cursor + "x", "garbage", "a.b.c", "", "%00"):
        assert (
            "cursor" in assert_problem(client.get(f"/item?sort=price&cursor={bad}"), 422)["errors"]
        )
    # A cursor only works with the sort it was made for.
    assert_problem(client.get(f"/item?sort=name&cursor={cursor}"), 422)
    assert client.get(f"/item?sort=price&cursor={cursor}").status_code == 200


def cursor_of(answer: Any) -> str:
    """The cursor of a list answer's next link."""
    return parse_qs(urlsplit(next_link(answer) or "").query)["cursor"][0]


def test_a_cursor_only_works_in_the_list_that_gave_it_out(
    client: FlaskClient, alice: User, database: Database
) -> None:
    bulk = seed_items(database, alice.id, 30)
    other = seed_items(database, alice.id, 30, store_name="Other")
    for n in range(3):
        store(client, alice, f"Shop {n}")
        tag(client, alice, bulk, f"tag {n}")
    issued = cursor_of(client.get("/item?limit=5&sort=price&min_price=1"))
    foreign = [
        "/store",
        f"/store/{bulk}/item",
        f"/store/{bulk}/tag",
        "/item",  # another sort: the default id
        "/item?sort=-price&min_price=1",
        "/item?sort=price",  # the filter dropped
        "/item?sort=price&min_price=2",
        "/item?sort=price&min_price=1&q=item",
        f"/item?sort=price&min_price=1&store_id={bulk}",
    ]
    for path in foreign:
        sep = "&" if "?" in path else "?"
        answer = client.get(f"{path}{sep}cursor={issued}")
        assert "cursor" in assert_problem(answer, 422)["errors"], path
    # The list that gave it out takes it, with any limit, the same filter however spelt, and
    # with unknown parameters added.
    for path in (
        "/item?sort=price&min_price=1",
        "/item?sort=price&min_price=1.00&limit=7&utm=x",
        "/item?min_price=1&sort=price",
    ):
        assert client.get(f"{path}&cursor={issued}").status_code == 200, path
    # Each store's own item list binds its cursors to that store.
    mine = cursor_of(client.get(f"/store/{bulk}/item?limit=5"))
    assert client.get(f"/store/{bulk}/item?cursor={mine}").status_code == 200
    for path in (f"/store/{other}/item", "/item", f"/item?store_id={bulk}", "/store"):
        sep = "&" if "?" in path else "?"
        assert_problem(client.get(f"{path}{sep}cursor={mine}"), 422)
    # Stores and tags too.
    stores_cursor = cursor_of(client.get("/store?limit=1"))
    tags_cursor = cursor_of(client.get(f"/store/{bulk}/tag?limit=1"))
    assert client.get(f"/store?cursor={stores_cursor}").status_code == 200
    assert client.get(f"/store/{bulk}/tag?cursor={tags_cursor}").status_code == 200
    assert_problem(client.get(f"/store/{bulk}/tag?cursor={stores_cursor}"), 422)
    assert_problem(client.get(f"/store?cursor={tags_cursor}"), 422)
    assert_problem(client.get(f"/store/{other}/tag?cursor={tags_cursor}"), 422)
    assert_problem(client.get(f"/store?q=shop&cursor={stores_cursor}"), 422)


def test_known_parameter_twice_is_422_unknown_ignored(client: FlaskClient) -> None:
    assert "limit" in assert_problem(client.get("/item?limit=2&limit=3"), 422)["errors"]
    assert client.get("/item?whatever=1&foo=bar").status_code == 200


@pytest.mark.parametrize("sort", ["bogus", "price", "-price", "+id", "id,name"])
def test_store_and_tag_sorts_are_checked(client: FlaskClient, alice: User, sort: str) -> None:
    created = store(client, alice)
    assert_problem(client.get(f"/store?sort={sort}"), 422)
    assert_problem(client.get(f"/store/{created['id']}/tag?sort={sort}"), 422)


def test_item_filters(client: FlaskClient, alice: User) -> None:
    one = store(client, alice, "One")
    two = store(client, alice, "Two")
    cheap = item(client, alice, one["id"], "Cheap 100% Chair", price=1, quantity=0)
    mid = item(client, alice, one["id"], "Mid_Table", price=50, quantity=3)
    dear = item(client, alice, two["id"], "Dear Lamp", price=500.5, quantity=1)
    wood = tag(client, alice, one["id"])
    client.post(f"/item/{mid['id']}/tag/{wood['id']}", headers=alice.headers)

    def ids(query: str) -> list[int]:
        answer = client.get(f"/item?{query}")
        assert answer.status_code == 200, answer.get_json()
        return [r["id"] for r in answer.get_json()]

    assert ids(f"store_id={two['id']}") == [dear["id"]]
    assert ids(f"tag={wood['id']}") == [mid["id"]]
    assert ids("min_price=50") == [mid["id"], dear["id"]]
    assert ids("max_price=50.00") == [cheap["id"], mid["id"]]
    assert ids("min_price=2&max_price=500.50") == [mid["id"], dear["id"]]
    assert ids("in_stock=true") == [mid["id"], dear["id"]]
    assert ids("in_stock=false") == [cheap["id"]]
    assert ids("name=dear%20LAMP") == [dear["id"]]
    assert ids("name=dear") == []
    assert ids("q=TABLE") == [mid["id"]]
    assert ids("q=100%25") == [cheap["id"]]
    assert ids("q=_") == [mid["id"]]
    assert ids("q=%25") == [cheap["id"]]
    assert [r["id"] for r in client.get(f"/store/{one['id']}/item?q=chair").get_json()] == [
        cheap["id"]
    ]


@pytest.mark.parametrize(
    "query",
    [
        "store_id=abc",
        "store_id=0",
        "tag=-1",
        "min_price=abc",
        "min_price=1.234",
        "max_price=-1",
        "in_stock=yes",
        "in_stock=1",
        "q=",
        "name=",
    ],
)
def test_malformed_filters_are_422(client: FlaskClient, query: str) -> None:
    field = query.split("=")[0]
    assert field in assert_problem(client.get(f"/item?{query}"), 422)["errors"]


def test_store_filters(client: FlaskClient, alice: User) -> None:
    corner = store(client, alice, "Corner Shop")
    store(client, alice, "Big Mall")
    assert [s["id"] for s in client.get("/store?name=corner%20shop").get_json()] == [corner["id"]]
    assert [s["id"] for s in client.get("/store?q=SHOP").get_json()] == [corner["id"]]
    assert [s["name"] for s in client.get("/store?sort=-name").get_json()] == [
        "Corner Shop",
        "Big Mall",
    ]


def test_store_items_list_only_that_store(client: FlaskClient, alice: User) -> None:
    one = store(client, alice, "One")
    two = store(client, alice, "Two")
    mine = item(client, alice, one["id"])
    item(client, alice, two["id"])
    listed = client.get(f"/store/{one['id']}/item").get_json()
    assert [r["id"] for r in listed] == [mine["id"]]
