"""Values no request may carry, whatever the field: text no database stores, numbers too big.

The fields are taken from the OpenAPI document, so a field added later is covered too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.test_contract_catalog import assert_problem, item, store
from tests.conftest import PASSWORD, User

NUL_MESSAGE = ["must not contain NUL characters"]


def _operations(client: FlaskClient) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(method, path, operation, component schemas) of every documented operation."""
    document = client.get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation, schemas


def _is_string(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" or any(
        branch.get("type") == "string" for branch in schema.get("anyOf", [])
    )


def _url(path: str, shop_id: int, item_id: int) -> str:
    return path.format(id=item_id if path.startswith("/item/") else shop_id)


def _valid_body(properties: dict[str, Any], path: str, shop_id: int) -> dict[str, Any]:
    """A body the operation would accept, with every documented field set."""
    samples: dict[str, Any] = {
        "name": "Fresh",
        "price": 1,
        "quantity": 1,
        "description": "plain",
        "store_id": shop_id,
        "username": "alice" if path == "/login" else "newcomer",
        "password": PASSWORD,
        "email": "newcomer@example.com",
    }
    return {field: samples[field] for field in properties}


def test_nul_in_any_query_parameter_is_422_naming_it(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)
    thing = item(client, alice, shop["id"])
    checked = set()
    for method, path, operation, _ in _operations(client):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            name = parameter["name"]
            for value in ("\x00", "a\x00b", "\x00" * 3 + "1"):
                answer = client.open(
                    _url(path, shop["id"], thing["id"]),
                    method=method,
                    query_string={name: value},
                    headers=alice.headers,
                )
                errors = assert_problem(answer, 422)["errors"]
                assert errors == {name: NUL_MESSAGE}, (path, name)
            checked.add((path, name))
    filters = {"name", "q", "limit", "cursor", "sort"}
    item_filters = filters | {"tag", "min_price", "max_price", "in_stock"}
    assert checked >= {("/store", name) for name in filters}
    assert checked >= {("/store/{id}/tag", name) for name in filters}
    assert checked >= {("/store/{id}/item", name) for name in item_filters}
    assert checked >= {("/item", name) for name in item_filters | {"store_id"}}


def test_nul_in_any_body_string_is_422_naming_it(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)
    thing = item(client, alice, shop["id"])
    checked = set()
    for method, path, operation, schemas in _operations(client):
        if "requestBody" not in operation:
            continue
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        properties = schemas[ref.rsplit("/", 1)[1]]["properties"]
        valid = _valid_body(properties, path, shop["id"])
        for field, schema in properties.items():
            if not _is_string(schema):
                continue
            for value in ("\x00", f"x\x00{valid[field]}", f"{valid[field]}\x00"):
                answer = client.open(
                    _url(path, shop["id"], thing["id"]),
                    method=method,
                    json={**valid, field: value},
                    headers=alice.headers,
                )
                errors = assert_problem(answer, 422)["errors"]
                assert errors == {field: NUL_MESSAGE}, (method, path, field)
            checked.add((method, path, field))
    assert checked >= {
        ("POST", "/store", "name"),
        ("PATCH", "/store/{id}", "name"),
        ("POST", "/store/{id}/tag", "name"),
        ("POST", "/register", "username"),
        ("POST", "/register", "password"),
        ("POST", "/register", "email"),
        ("POST", "/login", "username"),
        ("POST", "/login", "password"),
    }
    for method, path in (
        ("POST", "/item"),
        ("POST", "/store/{id}/item"),
        ("PUT", "/item/{id}"),
        ("PATCH", "/item/{id}"),
    ):
        assert {(method, path, "name"), (method, path, "description")} <= checked
    # Nothing was written by any of them.
    assert [s["name"] for s in client.get("/store").get_json()] == ["Shop"]
    assert client.get(f"/item/{thing['id']}").get_json()["name"] == thing["name"]


@pytest.mark.parametrize("value", ["\x00", "alice\x00", "\x00alice"])
def test_nul_in_the_login_username_is_422_before_any_counting(
    client: FlaskClient, alice: User, value: str
) -> None:
    answer = client.post("/login", json={"username": value, "password": PASSWORD})
    assert assert_problem(answer, 422)["errors"] == {"username": NUL_MESSAGE}
