"""The document's examples are real: each one is what the API takes or gives."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import jsonschema
from flask.testing import FlaskClient

from storekeeper.http.operations import TAGS


def _document(client: FlaskClient) -> dict[str, Any]:
    # Decimals, so that 19.99 is a multiple of 0.01 as it is in JSON, not in binary floats.
    document: dict[str, Any] = json.loads(client.get("/openapi.json").data, parse_float=Decimal)
    return document


def _media(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every request and response body of every operation, named for messages."""
    found = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            where = f"{method.upper()} {path}"
            for media in op.get("requestBody", {}).get("content", {}).values():
                found.append((f"{where} body", media))
            for status, answer in op["responses"].items():
                for media in answer.get("content", {}).values():
                    found.append((f"{where} {status}", media))
    return found


def _is_file(schema: dict[str, Any]) -> bool:
    """A file's bytes (an upload, a photo): nothing a JSON document can hold an example of."""
    if schema.get("type") == "object" and "properties" in schema:
        return all(_is_file(field) for field in schema["properties"].values())
    return schema.get("type") == "string" and (
        schema.get("format") == "binary" or "contentMediaType" in schema
    )


def test_every_body_and_answer_has_an_example_its_schema_accepts(client: FlaskClient) -> None:
    document = _document(client)
    for name, media in _media(document):
        if _is_file(media["schema"]):
            continue
        assert "example" in media, name
        # The components ride along, so "#/components/schemas/..." resolves in the schema.
        schema = {**media["schema"], "components": document["components"]}
        validator = jsonschema.Draft202012Validator(schema)
        errors = [e.message for e in validator.iter_errors(media["example"])]
        assert not errors, (name, errors)


def test_every_schema_of_a_body_has_examples(client: FlaskClient) -> None:
    schemas = _document(client)["components"]["schemas"]
    for name, schema in schemas.items():
        if schema.get("type") == "object":
            assert schema.get("examples"), name


def test_tags_come_in_the_order_people_meet_the_resources(client: FlaskClient) -> None:
    document = _document(client)
    assert [t["name"] for t in document["tags"]] == [name for name, _ in TAGS]
    used = {op["tags"][0] for methods in document["paths"].values() for op in methods.values()}
    assert used == {name for name, _ in TAGS}


def test_example_bodies_are_accepted_by_the_api(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    register = document["paths"]["/register"]["post"]["requestBody"]["content"]
    answer = client.post("/register", json=register["application/json"]["example"])
    assert answer.status_code == 201, answer.get_json()
    login = document["paths"]["/login"]["post"]["requestBody"]["content"]
    tokens = client.post("/login", json=login["application/json"]["example"]).get_json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    store_body = document["paths"]["/store"]["post"]["requestBody"]["content"]
    store = client.post("/store", json=store_body["application/json"]["example"], headers=headers)
    assert store.status_code == 201, store.get_json()
    item_body = document["paths"]["/store/{id}/item"]["post"]["requestBody"]["content"]
    item = client.post(
        f"/store/{store.get_json()['id']}/item",
        json=item_body["application/json"]["example"],
        headers=headers,
    )
    assert item.status_code == 201, item.get_json()
    assert json.loads(item.data, parse_float=Decimal)["price"] == Decimal("19.99")
