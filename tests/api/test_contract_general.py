"""The contract's general rules: media types, malformed bodies, errors, ids, sizes."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from storekeeper.db.session import Database
from tests.helpers import User, assert_problem, item, store, tag


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        None,
        "application/json; charset=latin-1",
    ],
)
def test_bodies_must_be_json(client: FlaskClient, alice: User, content_type: str | None) -> None:
    headers = dict(alice.headers)
    if content_type:
        headers["Content-Type"] = content_type
    answer = client.post("/store", data=b'{"name": "x"}', headers=headers)
    assert_problem(answer, 415)


def test_merge_patch_only_where_documented(client: FlaskClient, alice: User) -> None:
    answer = client.post(
        "/store",
        data=b'{"name": "x"}',
        content_type="application/merge-patch+json",
        headers=alice.headers,
    )
    assert_problem(answer, 415)
    assert (
        client.post(
            "/store",
            data=b'{"name": "x"}',
            content_type="application/json; charset=utf-8",
            headers=alice.headers,
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"name": NaN}',
        b'{"name": Infinity}',
        b'{"name": -Infinity}',
        b'\xef\xbb\xbf{"name": "x"}',
        b'{"name": "\\ud800"}',
        b'{"name": "x"} trailing',
        b'{"name": "x",}',
        b"{'name': 'x'}",
        b'{"name": "\xff"}',
        b'{"name": "a", "name": "b"}',
        b"[" * 5000 + b"]" * 5000,
        # What the standard library's parser would let through on its own:
        b'{"name": "\\udc00"}',
        b'{"name": "\\ud800\\ud800"}',
        b'{"name": "x", "\\uD83D": 1}',
        b'{"name": ["ok", {"deeper": "\\ud800x"}]}',
        b'{"name": "x", "n": NaN}',
        '{"name": "x"}'.encode("utf-16"),
        b'{"name": "\xed\xa0\x80"}',
        b'\x0c{"name": "x"}',
        b'{"name": "x", "price": 01}',
        b'{"name": "x", "price": 1.}',
        b'{"name": "x", "price": .5}',
        b'{"name": "x", "price": +1}',
    ],
)
def test_malformed_json_is_400(client: FlaskClient, alice: User, body: bytes) -> None:
    answer = client.post(
        "/store", data=body, content_type="application/json", headers=alice.headers
    )
    assert_problem(answer, 400)
    assert client.get("/store").get_json() == []


def test_escaped_surrogate_pairs_are_characters(client: FlaskClient, alice: User) -> None:
    body = b'{"name": "Smile \\ud83d\\ude00 \\\\ud800"}'  # and an escaped backslash
    answer = client.post(
        "/store", data=body, content_type="application/json", headers=alice.headers
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["name"] == "Smile \U0001f600 \\ud800"


@pytest.mark.parametrize("body", [b"[]", b'"name"', b"42", b"null", b'{"name": "x", "extra": 1}'])
def test_wrong_shapes_are_422(client: FlaskClient, alice: User, body: bytes) -> None:
    answer = client.post(
        "/store", data=body, content_type="application/json", headers=alice.headers
    )
    assert isinstance(assert_problem(answer, 422)["errors"], dict)


def test_bodies_over_1_mib_are_413(client: FlaskClient, alice: User) -> None:
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    answer = client.post("/store", data=big, content_type="application/json", headers=alice.headers)
    assert_problem(answer, 413)


@pytest.mark.parametrize(
    "raw_id",
    [
        "0",
        "-1",
        "007",
        "1.5",
        "\uff11",  # full-width 1
        "\u0663",  # Arabic-Indic 3
        "9223372036854775808",
        "99999999999999999999",
        "1e3",
        "%201",
    ],
)
def test_non_canonical_ids_are_404(client: FlaskClient, alice: User, raw_id: str) -> None:
    shop = store(client, alice)
    item(client, alice, shop["id"])
    for path in (f"/store/{raw_id}", f"/item/{raw_id}", f"/tag/{raw_id}", f"/store/{raw_id}/item"):
        assert_problem(client.get(path), 404)
    assert_problem(client.delete(f"/item/{raw_id}", headers=alice.headers), 404)


def raw_path(client: FlaskClient, method: str, path: str, **kwargs: Any) -> Any:
    """A request whose PATH_INFO is exactly `path`, as a server hands it over.

    The test client would read a path starting with "//" as a URL with a host in it.
    """
    return client.open("/", method=method, environ_overrides={"PATH_INFO": path}, **kwargs)


NON_CANONICAL = [
    "//store/{store}",
    "///store/{store}",
    "//evil.example/store/{store}",
    "/store//{store}",
    "/store/{store}//item",
    "/store/{store}/item/",
    "/store/{store}/",
    "/store/./{store}",
    "/store/{store}/./item",
    "/store/{store}/../{store}",
    "/./store/{store}",
    "/item//{item}",
    "//item",
    "//store",
    "/store//",
]


@pytest.mark.parametrize("template", NON_CANONICAL)
def test_non_canonical_paths_are_404(client: FlaskClient, alice: User, template: str) -> None:
    shop = store(client, alice)
    chair = item(client, alice, shop["id"])
    path = template.format(store=shop["id"], item=chair["id"])
    assert_problem(raw_path(client, "GET", path), 404)
    assert raw_path(client, "HEAD", path).status_code == 404
    for method in ("DELETE", "PATCH", "PUT", "POST"):
        answer = raw_path(client, method, path, headers=alice.headers, json={"name": "X"})
        assert_problem(answer, 404)
    # Nothing was changed through the second URL, and the canonical one still answers.
    assert client.get(f"/store/{shop['id']}").get_json()["name"] == shop["name"]
    assert client.get(f"/item/{chair['id']}").get_json()["name"] == chair["name"]
    assert raw_path(client, "GET", f"/store/{shop['id']}").status_code == 200


def test_largest_id_is_a_plain_404(client: FlaskClient) -> None:
    assert_problem(client.get("/item/9223372036854775807"), 404)


def test_unknown_routes_and_methods(client: FlaskClient) -> None:
    assert_problem(client.get("/nothing/here"), 404)
    assert_problem(client.get("/store/"), 404)
    wrong = client.delete("/store")
    assert_problem(wrong, 405)
    assert set(wrong.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    put_on_store = client.put("/store/1", json={})
    assert_problem(put_on_store, 405)
    assert "PATCH" in put_on_store.headers["Allow"]


def test_request_ids(client: FlaskClient) -> None:
    given = client.get("/store", headers={"X-Request-ID": "client-chosen-1"})
    assert given.headers["X-Request-ID"] == "client-chosen-1"
    generated = client.get("/nothing")
    assert generated.headers["X-Request-ID"]
    too_long = client.get("/store", headers={"X-Request-ID": "x" * 129})
    assert too_long.headers["X-Request-ID"] != "x" * 129


def test_no_internals_in_error_bodies(client: FlaskClient, alice: User) -> None:
    store(client, alice, "Dup")
    for answer in (
        client.post("/store", json={"name": "Dup"}, headers=alice.headers),
        client.post("/store", data=b"{", content_type="application/json", headers=alice.headers),
        client.get("/item?limit=abc"),
    ):
        text = answer.get_data(as_text=True).lower()
        for leak in (
            "traceback",
            "sqlalchemy",
            "select ",
            "insert ",
            "/work/",
            ".py",
            "psycopg",
            "sqlite3",
        ):
            assert leak not in text


def test_statements_per_request(client: FlaskClient, alice: User, database: Database) -> None:
    shop = store(client, alice)
    ids = [item(client, alice, shop["id"], f"Item {n}")["id"] for n in range(60)]
    wood = tag(client, alice, shop["id"])
    for item_id in ids:
        client.post(f"/item/{item_id}/tag/{wood['id']}", headers=alice.headers)
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        for path, expected in (
            (f"/item/{ids[0]}", 1),
            (f"/store/{shop['id']}", 1),
            (f"/tag/{wood['id']}", 1),
            ("/item?limit=50", 1),
            ("/item?limit=10", 1),
            ("/store", 1),
        ):
            seen.clear()
            assert client.get(path).status_code == 200
            assert len(seen) == expected, (path, seen)
        seen.clear()
        assert client.get(f"/store/{shop['id']}/item?limit=50").status_code == 200
        assert len(seen) == 2  # the store must exist, then one statement for the page
        seen.clear()
        assert client.get("/user/me", headers=alice.headers).status_code == 200
        assert len(seen) == 2  # the token's session check, then the user
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def test_one_pooled_connection_per_request(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice)
    checkouts: list[object] = []

    def checkout(*_: object) -> None:
        checkouts.append(None)

    event.listen(database.engine, "checkout", checkout)
    try:
        # Key claim, session check, create and key completion: four units of work.
        headers = alice.headers | {"Idempotency-Key": "one-connection"}
        body = {"name": "Lamp", "price": 5, "store_id": shop["id"]}
        created = client.post("/item", json=body, headers=headers)
        assert created.status_code == 201
        assert client.get(created.headers["Location"], headers=alice.headers).status_code == 200
        assert client.get("/openapi.json").status_code == 200  # no unit of work: no checkout
        assert len(checkouts) == 2
    finally:
        event.remove(database.engine, "checkout", checkout)
