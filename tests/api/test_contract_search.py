"""Search: one table of items and queries, the same answers in the same order on both databases."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from tests.helpers import User, assert_problem, item, store

# The items every test here starts from, by store: (name, description). Their ids are 1-8 in
# this order (each test starts from an empty database).
CATALOG: dict[str, list[tuple[str, str]]] = {
    "Furniture": [
        ("Oak chair", "Solid oak, seat height 45 cm."),  # 1
        ("Chairs for kids", "Set of 4 small chairs."),  # 2
        ("Armchair", "Deep seat; pairs with the oak table."),  # 3
        ("Oak table", "Seats six; goes with the oak chair."),  # 4
        ("Crème brûlée torch", "Café-grade, 3.5 kW."),  # 5
        ("Straße sign", "Enamel."),  # 6
    ],
    "Garden": [
        ("Garden hose", "Not a chair."),  # 7
        ("Ωμέγα watch", "ΣΟΦΙΑ edition"),  # 8
    ],
}

# query -> the ids found, most relevant first. Score per query word: 2 when it starts a word
# of the name, 1 when it starts a word of the description; equal scores by id.
SHARED_TABLE: list[tuple[str, list[int]]] = [
    ("chai", [2, 1, 4, 7]),  # 2: name and description (3); 1: name (2); 4 and 7: description
    ("hair", []),  # a word's middle is no prefix: "Armchair" and "chair" stay out
    ("CHAIR", [2, 1, 4, 7]),  # case ignored
    ("oak chair", [1, 4]),  # every word must match: 3 has "oak" but no "chair"
    ("chair oak", [1, 4]),  # word order does not matter
    ("OAK", [1, 4, 3]),  # 1 and 4 in name and description (3), 3 in the description (1)
    ("seat", [1, 3, 4]),  # "seat" starts "Seats" too; all three in the description only
    ("creme BRULEE", [5]),  # accents ignored in the query...
    ("crème", [5]),  # ...and in the text
    ("cafe 3.5", [5]),  # "3.5" is the words 3 and 5 on both databases
    ("café-grade kw", [5]),
    ("straße", [6]),
    ("strasse", []),  # ß is a letter of its own to both tokenizers, not "ss"
    ("ωμέγα", [8]),
    ("σοφ", [8]),  # upper-case Greek folded
    ("set 4", [2]),
    ("oak oak OAK", [1, 4, 3]),  # a repeated word counts once
    ('"chair" OR NEAR(oak*) -table', []),  # operators are plain words: "or", "near" match none
    ("chair* & oak:*", [1, 4]),  # so are * : &: the words are chair and oak
    ("(oak | !chair)", [1, 4]),
    ("kids)", [2]),
    ("garden hose", [7]),
]


@pytest.fixture
def catalog(client: FlaskClient, alice: User) -> dict[str, int]:
    """The shared table's items, created over HTTP; the stores' ids by name."""
    stores: dict[str, int] = {}
    price = 1
    for store_name, rows in CATALOG.items():
        stores[store_name] = store(client, alice, store_name)["id"]
        for name, description in rows:
            item(client, alice, stores[store_name], name, description=description, price=price)
            price += 1
    return stores


def ids(answer: Any) -> list[int]:
    assert answer.status_code == 200, answer.get_json()
    return [row["id"] for row in answer.get_json()]


def next_path(answer: Any) -> str | None:
    link = answer.headers.get("Link")
    if link is None:
        return None
    parts = urlsplit(link.split(";")[0].strip()[1:-1])
    return f"{parts.path}?{parts.query}"


def walk(client: FlaskClient, path: str) -> list[int]:
    """Every id of a list, following its Link headers."""
    found: list[int] = []
    url: str | None = path
    while url is not None:
        answer = client.get(url)
        found += ids(answer)
        url = next_path(answer)
    return found


@pytest.mark.parametrize(("text", "expected"), SHARED_TABLE)
def test_shared_table_finds_and_ranks_alike_on_both_databases(
    client: FlaskClient, catalog: dict[str, int], text: str, expected: list[int]
) -> None:
    assert ids(client.get("/item", query_string={"search": text})) == expected
    sorted_explicitly = client.get("/item", query_string={"search": text, "sort": "relevance"})
    assert ids(sorted_explicitly) == expected


@pytest.mark.parametrize(("text", "expected"), SHARED_TABLE)
def test_shared_table_pages_one_row_at_a_time(
    client: FlaskClient, catalog: dict[str, int], text: str, expected: list[int]
) -> None:
    assert walk(client, f"/item?limit=1&search={text.replace('&', '%26')}") == expected


def test_search_combines_with_every_filter(
    client: FlaskClient, alice: User, catalog: dict[str, int]
) -> None:
    garden, furniture = catalog["Garden"], catalog["Furniture"]
    assert ids(client.get(f"/item?search=chair&store_id={garden}")) == [7]
    assert ids(client.get(f"/store/{furniture}/item?search=chair")) == [2, 1, 4]
    assert ids(client.get("/item?search=chair&min_price=2&max_price=4")) == [2, 4]
    assert ids(client.get("/item?search=chair&name=oak+chair")) == [1]
    assert ids(client.get("/item?search=chair&q=CHAIRS")) == [2]
    assert ids(client.get("/item?search=chair&in_stock=true")) == []
    assert ids(client.get("/item?search=chair&in_stock=false")) == [2, 1, 4, 7]
    wood = client.post(f"/store/{furniture}/tag", json={"name": "wood"}, headers=alice.headers)
    tag_id = wood.get_json()["id"]
    for item_id in (1, 4):
        client.post(f"/item/{item_id}/tag/{tag_id}", headers=alice.headers)
    assert ids(client.get(f"/item?search=chair&tag={tag_id}")) == [1, 4]


def test_search_with_another_sort_keeps_that_sort(
    client: FlaskClient, catalog: dict[str, int]
) -> None:
    assert ids(client.get("/item?search=chair&sort=-price")) == [7, 4, 2, 1]
    assert walk(client, "/item?search=chair&sort=name&limit=1") == [2, 7, 1, 4]


def test_search_follows_every_write(
    client: FlaskClient, alice: User, catalog: dict[str, int]
) -> None:
    client.patch("/item/3", json={"name": "Arm chair"}, headers=alice.headers)
    assert ids(client.get("/item?search=chair")) == [2, 1, 3, 4, 7]
    client.patch("/item/7", json={"description": "Green."}, headers=alice.headers)
    client.delete("/item/2", headers=alice.headers)
    assert ids(client.get("/item?search=chair")) == [1, 3, 4]
    client.put(
        "/item/50",
        json={"name": "Chair cushion", "price": 5, "store_id": catalog["Garden"]},
        headers=alice.headers,
    )
    assert ids(client.get("/item?search=cushion")) == [50]
    client.delete(f"/store/{catalog['Garden']}", headers=alice.headers)
    assert ids(client.get("/item?search=cushion")) == []


def test_pages_hold_while_rows_are_added(
    client: FlaskClient, alice: User, catalog: dict[str, int]
) -> None:
    first = client.get("/item?search=chai&limit=2")
    assert ids(first) == [2, 1]
    # A better match and a weaker one arrive between the pages: the better one ranks before
    # the cursor and is not shown again; the weaker one comes in its place after it.
    item(client, alice, catalog["Garden"], "Chair cover", description="For a chair.")  # 9: 3
    item(client, alice, catalog["Garden"], "Lamp", description="By the chair.")  # 10: 1
    second_path = next_path(first)
    assert second_path is not None
    assert walk(client, second_path) == [4, 7, 10]


def test_tampered_or_borrowed_cursor_is_a_422(client: FlaskClient, catalog: dict[str, int]) -> None:
    first = client.get("/item?search=chai&limit=1")
    path = next_path(first)
    assert path is not None
    cursor = path.split("cursor=")[1]
    payload, signature = cursor.split(".")
    tampered = ("A" if payload[0] != "A" else "B") + payload[1:]
    answer = client.get(f"/item?search=chai&limit=1&cursor={tampered}.{signature}")
    assert "cursor" in assert_problem(answer, 422)["errors"]
    # Another search is another list: its positions do not carry over.
    answer = client.get(f"/item?search=oak&limit=1&cursor={cursor}")
    assert "cursor" in assert_problem(answer, 422)["errors"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("search=", "search"),
        ("search=" + "a" * 201, "search"),
        ("search=%21%21%21", "search"),  # no letter or digit
        ("search=_-_", "search"),
        ("search=" + "+".join(f"w{n}" for n in range(33)), "search"),  # 33 words
        ("search=a&search=b", "search"),
        ("sort=relevance", "sort"),
        ("search=chair&sort=-relevance", "sort"),
        ("search=a%00b", "search"),
    ],
)
def test_bad_searches_are_422(client: FlaskClient, query: str, field: str) -> None:
    assert field in assert_problem(client.get(f"/item?{query}"), 422)["errors"]


def test_a_long_search_is_accepted(client: FlaskClient, catalog: dict[str, int]) -> None:
    assert ids(client.get("/item", query_string={"search": "chair " * 33})) == [2, 1, 4, 7]
    assert ids(client.get("/item", query_string={"search": "x" * 200})) == []


def test_store_list_of_an_unknown_store_is_404_with_a_search(client: FlaskClient) -> None:
    assert_problem(client.get("/store/999/item?search=chair"), 404)
