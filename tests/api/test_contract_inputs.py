"""Values no request may carry, whatever the field: text no database stores, numbers too big.

The fields are taken from the OpenAPI document, so a field added later is covered too.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient

from storekeeper.http import numbers
from tests.helpers import PASSWORD, User, assert_problem, item, store

NUL_MESSAGE = ["must not contain NUL characters"]
# Before the fix, quantity 1e400000 took 4 s to refuse and 1e1000000 over 30 s (converting the
# value to an integer); a 5000-digit integer was a 400 although it is valid JSON.
HUGE_NUMBERS = [
    "1e400000",
    "1E+1000000",
    "-1e1000000",
    "1e-400000",
    "0e00001000",
    "9" * 5000,
    "-" + "9" * 5000,
    "1." + "0" * 5000,
    "0." + "0" * 5000 + "1",
]


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


def _url(path: str, shop_id: int, item_id: int, user_id: int = 1) -> str:
    """The path with its ids: the item's or the store's, and a team member's (`user_id`)."""
    return path.format(id=item_id if path.startswith("/item/") else shop_id, user_id=user_id)


def _valid_body(schema: dict[str, Any], shop_id: int) -> dict[str, Any]:
    """A body the operation would accept, with every documented field set: the schema's own
    example, completed with each missing field's default (or a plain value of its type)."""
    body = dict(schema["examples"][0])
    for field, prop in schema["properties"].items():
        if field == "store_id":
            body[field] = shop_id
        elif field not in body:
            body[field] = prop.get("default", "plain" if _is_string(prop) else 1)
    return body


def _good_file(content: dict[str, Any]) -> dict[str, Any]:
    """A file body the operation takes, from its document's example."""
    kind = next(k for k in content if k != "multipart/form-data")
    example = content[kind]["example"]
    return {"data": example.encode() if isinstance(example, str) else example, "content_type": kind}


def test_nul_in_any_query_parameter_is_422_naming_it(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)
    thing = item(client, alice, shop["id"])
    checked = set()
    for method, path, operation, _ in _operations(client):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            name = parameter["name"]
            # A file body (an import) is sent as a good file, so the query is what is wrong.
            content = operation.get("requestBody", {}).get("content", {})
            file = {} if not content or "application/json" in content else _good_file(content)
            for value in ("\x00", "a\x00b", "\x00" * 3 + "1"):
                answer = client.open(
                    _url(path, shop["id"], thing["id"]),
                    method=method,
                    query_string={name: value},
                    headers=alice.headers,
                    **file,
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
        if "application/json" not in operation.get("requestBody", {}).get("content", {}):
            continue  # none, or a file: no strings of JSON (a CSV's NULs are row errors)
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = schemas[ref.rsplit("/", 1)[1]]
        properties = schema["properties"]
        valid = _valid_body(schema, shop["id"])
        for field, schema in properties.items():
            if not _is_string(schema):
                continue
            for value in ("\x00", f"x\x00{valid[field]}", f"{valid[field]}\x00"):
                answer = client.open(
                    _url(path, shop["id"], thing["id"], alice.id),
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


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every number literal the app converts to a number, in order."""
    seen: list[str] = []
    convert = numbers.convert

    def counting(literal: str) -> int | Decimal:
        seen.append(literal)
        return convert(literal)

    monkeypatch.setattr(numbers, "convert", counting)
    return seen


@pytest.mark.parametrize("field", ["price", "quantity", "store_id"])
@pytest.mark.parametrize(
    "literal", HUGE_NUMBERS, ids=lambda literal: f"{literal[:12]}({len(literal)})"
)
def test_huge_numbers_in_bodies_are_422_before_any_conversion(
    client: FlaskClient, alice: User, conversions: list[str], field: str, literal: str
) -> None:
    shop = store(client, alice)
    fields = {"name": '"Huge"', "price": "1", "quantity": "2", "store_id": str(shop["id"])}
    fields[field] = literal
    body = "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"
    conversions.clear()
    answer = client.post("/item", data=body, content_type="application/json", headers=alice.headers)
    assert assert_problem(answer, 422)["errors"] == {field: [numbers.OVERSIZED]}
    # The other numbers of the body went through the conversion; the huge one never did.
    assert sorted(conversions) == sorted(v for k, v in fields.items() if k not in ("name", field))


@pytest.mark.parametrize("literal", ["9" * 5000, "9" * 65])
@pytest.mark.parametrize("parameter", ["store_id", "tag", "limit"])
def test_huge_numbers_in_query_parameters_are_422_before_any_conversion(
    client: FlaskClient, alice: User, conversions: list[str], parameter: str, literal: str
) -> None:
    shop = store(client, alice)
    for path in ("/item", f"/store/{shop['id']}/item"):
        if parameter == "store_id" and path != "/item":
            continue
        answer = client.get(path, query_string={parameter: literal})
        assert assert_problem(answer, 422)["errors"] == {parameter: [numbers.OVERSIZED]}
    answer = client.get("/item", query_string={"min_price": literal, "max_price": literal})
    assert set(assert_problem(answer, 422)["errors"]) == {"min_price", "max_price"}
    assert conversions == []


def test_a_huge_number_allocates_nothing_big(client: FlaskClient, alice: User) -> None:
    # Independent of how the app is written: the request never builds the number. A
    # 400000-digit integer alone takes 166 KiB.
    shop = store(client, alice)

    def peak_bytes(quantity: str) -> int:
        body = '{"name": "Huge", "price": 1, "quantity": ' + quantity + "}"
        tracemalloc.start()
        try:
            answer = client.post(
                f"/store/{shop['id']}/item",
                data=body,
                content_type="application/json",
                headers=alice.headers,
            )
            assert answer.status_code == 422
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak_bytes("-1")
    small = peak_bytes("-1")
    for literal in ("1e400000", "9" * 5000):
        assert peak_bytes(literal) < small + 32 * 1024


@pytest.mark.parametrize(
    ("field", "literal", "stored"),
    [
        ("price", "9.99" + "0" * 60, 9.99),  # 64 characters
        ("price", "999e-2", 9.99),
        ("quantity", "1e0005", 100000),  # a 3-digit exponent once its zeros go
        ("quantity", "2147483647.000", 2147483647),
    ],
)
def test_numbers_within_the_bound_are_read_exactly(
    client: FlaskClient, alice: User, field: str, literal: str, stored: object
) -> None:
    shop = store(client, alice)
    fields = {"name": '"Exact"', "price": "1", "quantity": "2"}
    fields[field] = literal
    body = "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"
    answer = client.post(
        f"/store/{shop['id']}/item",
        data=body,
        content_type="application/json",
        headers=alice.headers,
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()[field] == stored
