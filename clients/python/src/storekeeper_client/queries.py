"""What each list may be asked (its page size, sort and filters), declared once.

A list method and its iterator take these as keyword arguments (`**query: Unpack[ItemQuery]`),
so mypy checks every name and type, and `keyword_query` shows them in the method's signature
(for `help`, editors and notebooks) and refuses a name the list does not know, as a method
that spelled them out would. A new filter is one line here.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal, TypedDict, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

StoreSort = Literal["id", "-id", "name", "-name", "created_at", "-created_at"]
TagSort = StoreSort
ItemSort = Literal[
    "id", "-id", "name", "-name", "price", "-price", "created_at", "-created_at", "relevance"
]
TrashSort = Literal["-deleted_at", "deleted_at", "id", "-id"]
Amount = Decimal | int


class NamedQuery(TypedDict, total=False):
    """What every list takes: a page size, and `name` (exact) or `q` (a part), ignoring case."""

    limit: int | None
    name: str | None
    q: str | None


class StoreQuery(NamedQuery, total=False):
    """A list of stores; `member="me"`: only those you own or are on the team of."""

    sort: StoreSort | None
    member: Literal["me"] | None


class MemberQuery(TypedDict, total=False):
    """A list of a store's team (by user id)."""

    limit: int | None


class TrashQuery(TypedDict, total=False):
    """A store's trash: latest deletion first unless `sort` says otherwise."""

    limit: int | None
    sort: TrashSort | None


class TagQuery(NamedQuery, total=False):
    """A list of a store's tags."""

    sort: TagSort | None


class StoreItemQuery(NamedQuery, total=False):
    """A list of a store's items."""

    sort: ItemSort | None
    tag: int | None
    min_price: Amount | None
    max_price: Amount | None
    in_stock: bool | None
    search: str | None


class ItemQuery(StoreItemQuery, total=False):
    """A list of the items of every store."""

    store_id: int | None


class EventQuery(TypedDict, total=False):
    """A page of a store's history: `type` is an event type ("item.updated"), `resource` a
    resource as "<type>:<id>" ("item:42")."""

    limit: int | None
    type: str | None
    resource: str | None


class WebhookQuery(TypedDict, total=False):
    """A page of a store's webhooks (by id)."""

    limit: int | None


DeliveryStatus = Literal["pending", "succeeded", "failed"]


class DeliveryQuery(TypedDict, total=False):
    """A page of a webhook's delivery attempts, newest first: `event_id` (a history event's
    id) and `status` narrow it."""

    limit: int | None
    event_id: int | None
    status: DeliveryStatus | None


class SearchFilters(TypedDict, total=False):
    """What narrows a search besides its text and store (search_items)."""

    limit: int | None
    name: str | None
    q: str | None
    tag: int | None
    min_price: Amount | None
    max_price: Amount | None
    in_stock: bool | None


def keyword_query(function: F) -> F:
    """Give a method taking `**query: Unpack[SomeQuery]` the signature its keywords spell out."""
    hints = typing.get_type_hints(function)
    signature = inspect.signature(function)
    spread = next(p for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD)
    (query,) = typing.get_args(hints.pop(spread.name))
    fields = typing.get_type_hints(query)
    hints |= fields
    named = [
        p.replace(annotation=hints.get(p.name, p.empty))
        for p in signature.parameters.values()
        if p is not spread
    ]
    keywords = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hint)
        for name, hint in fields.items()
    ]
    spelled = signature.replace(
        parameters=[*named, *keywords], return_annotation=hints.get("return", signature.empty)
    )

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            spelled.bind(*args, **kwargs)
        except TypeError as error:
            # What Python says of a name no parameter has, which `**query` alone would accept.
            raise TypeError(f"{function.__qualname__}() {error}") from None
        return function(*args, **kwargs)

    # What inspect.signature and typing.get_type_hints report: the keywords one by one.
    checked.__signature__ = spelled  # type: ignore[attr-defined]
    checked.__annotations__ = hints
    return typing.cast(F, checked)
