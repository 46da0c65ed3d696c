"""A store's history: one event per change of its data, written with the change.

The event types are a stable vocabulary (docs/api.md, "History"): webhooks will be built on
them, so a type is never renamed or given another meaning; new ones may be added.

An event is written by the use case that makes the change, through the repository of the
same unit of work, so it commits or rolls back with the change. Nothing changes or removes an
event afterwards: the repository offers `add` and reads only. Deleting a store deletes its
events with it (the foreign key cascades), as it deletes everything else of the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from storekeeper.domain.model import Actor, Item, Page, PageRequest
from storekeeper.domain.ports import Slot
from storekeeper.domain.values import Money


class EventType(StrEnum):
    """What happened; its resource is given beside each."""

    STORE_UPDATED = "store.updated"  # store:<id>
    ITEM_CREATED = "item.created"  # item:<id>
    ITEM_UPDATED = "item.updated"
    ITEM_DELETED = "item.deleted"
    ITEM_RESTORED = "item.restored"
    ITEM_IMAGE_UPDATED = "item.image.updated"
    ITEM_IMAGE_DELETED = "item.image.deleted"
    ITEM_TAGGED = "item.tagged"
    ITEM_UNTAGGED = "item.untagged"
    TAG_CREATED = "tag.created"  # tag:<id>
    TAG_DELETED = "tag.deleted"
    MEMBER_ADDED = "member.added"  # member:<user id>
    MEMBER_UPDATED = "member.updated"
    MEMBER_REMOVED = "member.removed"
    IMPORT_FINISHED = "import.finished"  # job:<id>
    WEBHOOK_CREATED = "webhook.created"  # webhook:<id>; never a secret in its changes
    WEBHOOK_UPDATED = "webhook.updated"
    WEBHOOK_DELETED = "webhook.deleted"


# The kinds of resource an event names, as `?resource=<kind>:<id>` takes them.
RESOURCE_TYPES = ("store", "item", "tag", "member", "job", "webhook")

# A change of one field: [old, new], JSON values (null where there was or is none).
Changes = dict[str, list[Any]]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event as a use case records it."""

    store_id: int
    type: EventType
    resource_type: str
    resource_id: int
    changes: Changes
    actor_id: int | None
    request_id: str | None


@dataclass(frozen=True, slots=True)
class Resource:
    """What an event is about: `item:42`, `member:7` (a user id), `job:3`."""

    type: str
    id: int


@dataclass(frozen=True, slots=True)
class Who:
    """Who made a change, named: usernames are not secret (a store's members list shows them),
    and a history reader would otherwise need to read users they may not read."""

    id: int
    username: str


@dataclass(frozen=True, slots=True)
class Event:
    """An event as the history shows it; `actor` is None once the user is deleted."""

    id: int
    store_id: int
    type: str
    actor: Who | None
    resource: Resource
    changes: Changes
    request_id: str | None
    created_at: datetime

    @property
    def actor_id(self) -> int | None:
        """The user who made the change (None once deleted)."""
        return None if self.actor is None else self.actor.id


@dataclass(frozen=True, slots=True)
class EventQuery:
    """A page of one store's events, newest first, with its filters."""

    store_id: int
    page: PageRequest[Any]
    type: str | None = None
    resource: tuple[str, int] | None = None


class EventRepository(Protocol):
    """A store's history inside one unit of work: written once, then only read."""

    def add(self, event: NewEvent) -> None:
        """Write the event, and start a delivery to each of the store's webhooks that wants it."""
        ...

    def get(self, event_id: int) -> Event | None: ...
    def page(self, query: EventQuery) -> Page[Event]:
        """A page of the store's events, newest (highest id) first."""
        ...


EVENTS: Slot[EventRepository] = Slot("events")


def json_value(value: Any) -> Any:
    """A field's value as the API writes it: a price as its JSON number, as items show it."""
    return value.as_json_number() if isinstance(value, Money) else value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> Changes:
    """The fields of `after` whose value differs from `before`: {field: [old, new]}."""
    return {
        name: [json_value(before.get(name)), json_value(new)]
        for name, new in after.items()
        if before.get(name) != new
    }


def created(state: Mapping[str, Any]) -> Changes:
    """A new resource's fields: {field: [null, value]}."""
    return {name: [None, json_value(value)] for name, value in state.items()}


def deleted(state: Mapping[str, Any]) -> Changes:
    """A removed resource's fields: {field: [value, null]}."""
    return {name: [json_value(value), None] for name, value in state.items()}


def item_state(item: Item) -> dict[str, Any]:
    """The fields of an item its events compare."""
    return {
        "name": item.name,
        "price": item.price,
        "quantity": item.quantity,
        "description": item.description,
        "store_id": item.store_id,
    }


def record(
    events: EventRepository,
    actor: Actor | None,
    store_id: int,
    type_: EventType,
    resource: tuple[str, int],
    changes: Changes,
) -> None:
    """Write one event of the actor's request (the actor of a write is always known)."""
    events.add(
        NewEvent(
            store_id,
            type_,
            resource[0],
            resource[1],
            changes,
            actor.user_id if actor else None,
            actor.request_id if actor else None,
        )
    )
