"""Which client method performs which operation of the OpenAPI document.

tests/client/test_operations.py checks this registry against a live /openapi.json: every
operation has exactly one method, with the document's parameters and body fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__storekeeper_operation__"


@dataclass(frozen=True)
class Operation:
    """An HTTP method and path template, as /openapi.json spells them, and which method
    parameter fills each path parameter (`{id}` is `item_id` in `get_item`).
    """

    method: str
    path: str
    path_parameters: dict[str, str]


def operation(method: str, path: str, **path_parameters: str) -> Callable[[F], F]:
    """Mark a client method as the one performing `method path`."""

    def mark(function: F) -> F:
        setattr(function, ATTRIBUTE, Operation(method, path, path_parameters))
        return function

    return mark


def operations_of(cls: type) -> dict[str, Operation]:
    """Method name -> the operation it performs, for every marked method of a class."""
    return {
        name: getattr(member, ATTRIBUTE)
        for name, member in vars(cls).items()
        if hasattr(member, ATTRIBUTE)
    }
