"""The client and the live /openapi.json agree: the same models, every operation, its inputs."""

from __future__ import annotations

import inspect
import typing
from decimal import Decimal
from typing import Any

import httpx
import pydantic
import pytest

from storekeeper_client import Storekeeper, models
from storekeeper_client.operations import Operation, operations_of
from tests.client.codegen import MODELS, generate

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def document(base_url: str) -> dict[str, Any]:
    """The OpenAPI document the live server serves."""
    found: dict[str, Any] = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    return found


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): spec
        for path, item in document["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    }


def _client_operations() -> dict[tuple[str, str], tuple[str, Operation]]:
    found: dict[tuple[str, str], tuple[str, Operation]] = {}
    for name, op in operations_of(Storekeeper).items():
        assert (op.method, op.path) not in found, f"two methods perform {op.method} {op.path}"
        found[op.method, op.path] = (name, op)
    return found


def _body_schema(document: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any] | None:
    content = spec.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None  # none, or a file (an upload): no fields
    ref: str = content["application/json"]["schema"]["$ref"]
    schema: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def test_the_committed_models_are_what_the_generator_makes_of_the_live_document(
    document: dict[str, Any],
) -> None:
    assert MODELS.read_text() == generate(document), "models.py is stale: make client-models"


def test_every_amount_in_the_models_is_a_decimal() -> None:
    amounts = [
        (model.__name__, name)
        for model in vars(models).values()
        if isinstance(model, type) and issubclass(model, pydantic.BaseModel)
        for name, info in model.model_fields.items()
        if name == "price" or info.annotation in (float, Decimal)
    ]
    assert amounts
    for model_name, name in amounts:
        annotation = getattr(models, model_name).model_fields[name].annotation
        assert annotation is Decimal, (model_name, name, annotation)


def test_every_operation_has_exactly_one_client_method(document: dict[str, Any]) -> None:
    assert set(_client_operations()) == set(_operations(document))


def test_each_method_takes_the_operations_parameters_and_body_fields(
    document: dict[str, Any],
) -> None:
    client = _client_operations()
    for key, spec in _operations(document).items():
        name, op = client[key]
        signature = inspect.signature(getattr(Storekeeper, name))
        params = signature.parameters
        for parameter in spec.get("parameters", []):
            where, wire = parameter["in"], parameter["name"]
            if where == "path":
                assert op.path_parameters[wire] in params, (name, wire)
            elif where == "query":
                assert wire in params and params[wire].default is None, (name, wire)
            elif wire == "If-None-Match" and key[0] == "GET":
                assert "cached" in params, name  # sends the ETag of the value given
            elif wire in ("Idempotency-Key", "If-Match"):
                assert wire.lower().replace("-", "_") in params, (name, wire)
        schema = _body_schema(document, spec)
        fields = set(schema["properties"]) if schema else set()
        for field in fields:
            assert field in params, (name, field)
            required = field in schema.get("required", []) if schema else False
            assert (params[field].default is inspect.Parameter.empty) == required, (name, field)
        extra = set(params) - fields - set(op.path_parameters.values()) - {"self"}
        known = {p["name"] for p in spec.get("parameters", []) if p["in"] == "query"}
        known |= {"idempotency_key", "if_match", "cached"}
        if "requestBody" in spec and schema is None:
            # A file body: given as a path, bytes or a file, with its type and how to send it.
            known |= {"file", "path_or_bytes", "content_type", "multipart"}
        if "202" in spec["responses"]:
            known |= {"wait", "timeout"}  # a job: the method may wait for it to finish
        assert extra <= known, (name, extra)


def test_sort_choices_are_the_documents(document: dict[str, Any]) -> None:
    client = _client_operations()
    for key, spec in _operations(document).items():
        for parameter in spec.get("parameters", []):
            if parameter["name"] != "sort":
                continue
            method = getattr(Storekeeper, client[key][0])
            hint = typing.get_type_hints(method)["sort"]
            choices = {arg for part in typing.get_args(hint) for arg in typing.get_args(part)}
            assert choices == set(parameter["schema"]["enum"]), key


def test_each_list_has_an_iterator_taking_the_same_filters() -> None:
    lists = [name for name in operations_of(Storekeeper) if name.startswith("list_")]
    assert lists, "the client has list methods"
    for name in lists:
        listed = inspect.signature(getattr(Storekeeper, name)).parameters
        iterated = inspect.signature(
            getattr(Storekeeper, name.replace("list_", "iter_"))
        ).parameters
        assert list(iterated) == [p for p in listed if p != "cursor"], name
