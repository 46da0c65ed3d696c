"""JSON on the wire with exact money: Decimal in, Decimal out, never a binary float."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

# A list of names (a webhook's event types) is the one nested value a body holds.
JsonBody = Mapping[str, "str | int | bool | Decimal | list[str] | None"]


def number(value: Decimal | int) -> str:
    """A JSON number written exactly: Decimal('19.99') -> '19.99', never 19.989999..."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        # A float has already lost the exact amount the caller meant.
        raise TypeError(f"amounts are Decimal or int, not {type(value).__name__}: {value!r}")
    if isinstance(value, int):
        return str(value)
    if not value.is_finite():
        raise ValueError(f"an amount must be finite, not {value}")
    return format(value, "f")


def encode(body: JsonBody) -> bytes:
    """A JSON object of plain values (and lists of names), its Decimals written exactly."""
    parts = []
    for key, value in body.items():
        if isinstance(value, Decimal):
            text = number(value)
        elif isinstance(value, float):
            text = number(value)  # raises: floats are refused for amounts
        else:
            text = json.dumps(value, ensure_ascii=False)
        parts.append(f"{json.dumps(key)}:{text}")
    return ("{" + ",".join(parts) + "}").encode()


def decode(content: bytes) -> Any:
    """Parse an answer, every number with a fraction or exponent as a Decimal."""
    return json.loads(content, parse_float=Decimal)


def query_value(value: object) -> str:
    """A query parameter as the API reads it (`true`, `19.99`); a float is refused, as in bodies."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal | int):
        return number(value)
    raise TypeError(f"a query value is str, int, bool or Decimal, not {type(value).__name__}")
