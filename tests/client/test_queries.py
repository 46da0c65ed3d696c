"""The lists' query keywords, declared once in storekeeper_client.queries, as callers meet them."""

from __future__ import annotations

import inspect
from decimal import Decimal
from typing import Any

import pytest

from storekeeper_client import Storekeeper
from storekeeper_client.queries import ItemQuery, StoreItemQuery
from storekeeper_client.wire import query_value

# Nothing answers on port 9: a call that got as far as sending would raise httpx.ConnectError.
NOWHERE = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("name", "query"), [("list_items", ItemQuery), ("list_store_items", StoreItemQuery)]
)
def test_each_item_list_spells_out_its_query_as_keyword_parameters(
    name: str, query: type[Any]
) -> None:
    parameters = inspect.signature(getattr(Storekeeper, name)).parameters.values()
    keywords = {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}
    assert keywords == dict.fromkeys(["cursor", *query.__annotations__], None)
    assert ("store_id" in keywords) == (name == "list_items")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda sk: sk.list_items(colour="red"), r"list_items\(\) got an unexpected keyword"),
        (lambda sk: sk.iter_store_tags(1, in_stock=True), "unexpected keyword argument 'in_stock'"),
        (lambda sk: sk.list_store_tags(), "missing a required argument: 'store_id'"),
        (lambda sk: sk.list_items(min_price=1.5), "not float"),
    ],
)
def test_a_wrong_keyword_or_a_float_amount_is_refused_before_anything_is_sent(
    call: Any, message: str
) -> None:
    with Storekeeper(NOWHERE) as sk, pytest.raises(TypeError, match=message):
        call(sk)


def test_an_amount_goes_out_exactly() -> None:
    assert [query_value(v) for v in (Decimal("19.990"), 40, True, "lamp")] == [
        "19.990",
        "40",
        "true",
        "lamp",
    ]
