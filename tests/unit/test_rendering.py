"""The fast list renderer writes byte for byte what each response model's serialiser writes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from storekeeper.domain.values import Money
from storekeeper.http.openapi import example_of
from storekeeper.http.rendering import render_list
from storekeeper.http.schemas import OutModel
from tests.helpers import declared_operations


def _listed_models() -> list[type[BaseModel]]:
    """Every response model an operation of the app answers with."""
    found = {op.response for op in declared_operations() if op.response is not None}
    return sorted(found, key=lambda model: model.__name__)


def _as_domain(value: Any) -> Any:
    """An example as the domain hands it over: prices as Money, as output models take them."""
    if isinstance(value, dict):
        return {
            k: Money(int(Decimal(str(v)) * 100)) if k == "price" else _as_domain(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_as_domain(v) for v in value]
    return value


@pytest.mark.parametrize("model", _listed_models(), ids=lambda model: model.__name__)
def test_every_response_model_renders_as_its_serialiser_does(model: type[BaseModel]) -> None:
    sample = example_of(model)
    assert sample is not None, f"{model.__name__} declares no example"
    instance = model.model_validate(_as_domain(sample))
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
    assert render_list(model, [instance, instance]) == adapter.dump_json([instance] * 2) + b"\n"


def test_a_field_type_it_cannot_render_is_refused_when_built() -> None:
    class Odd(OutModel):
        amount: Decimal

    with pytest.raises(TypeError, match="no fast rendering"):
        render_list(Odd, [])


def test_an_embedded_object_that_may_be_null_renders_both_ways() -> None:
    from storekeeper.http.items import ImageOut, ItemOut

    sample = _as_domain(example_of(ItemOut))
    with_photo = ItemOut.model_validate({**sample, "image": example_of(ImageOut)})
    without = ItemOut.model_validate({**sample, "image": None})
    adapter = TypeAdapter(list[ItemOut])
    rows = [with_photo, without]
    assert render_list(ItemOut, rows) == adapter.dump_json(rows) + b"\n"
    assert b'"image":{"url":' in render_list(ItemOut, rows)
