"""Every refusal of a body or a query parameter is worded in the API's own voice."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from storekeeper.http.schemas import field_errors
from tests.helpers import declared_operations

WRONG_VALUES: list[Any] = [None, True, -1, 0, 1.5, 10**12, "", "x", "a b", "z" * 5000, [], {}]


def _models() -> list[type[BaseModel]]:
    models = {m for op in declared_operations() for m in (op.body, op.query) if m is not None}
    return sorted(models, key=lambda m: m.__name__)


def _messages(model: type[BaseModel]) -> list[str]:
    found: list[str] = []
    samples: list[Any] = [[1], "text", 5, {"unknown": 1}]
    for name in model.model_fields:
        samples += [{name: value} for value in WRONG_VALUES]
    for sample in samples:
        try:
            model.model_validate(sample)
        except ValidationError as exc:
            found += [m for messages in field_errors(exc.errors()).values() for m in messages]
    return found


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_messages_read_as_the_api_writes_them(model: type[BaseModel]) -> None:
    messages = _messages(model)
    assert messages
    for message in messages:
        # "<field> is required", "<field> must be ...": never pydantic's own sentences, its
        # internal class names, or a type name a client never sent.
        assert message[:1].islower(), message
        assert "Input should" not in message and "String should" not in message, message
        assert model.__name__ not in message, message
