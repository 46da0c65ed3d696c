"""An event's JSON, as the history shows it and webhook deliveries carry it: one definition.

Flask-free, so the worker builds a delivery's body from the same model as GET
/store/{id}/event (http/history.py) writes, byte for byte.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storekeeper.domain.events import Event
from storekeeper.http.rendering import object_renderer
from storekeeper.http.schemas import CREATED_AT, OutModel, example


class ActorOut(OutModel):
    """Who made a change."""

    model_config = example({"id": 1, "username": "alice"})

    id: int
    username: str


class ResourceOut(OutModel):
    """What an event is about."""

    model_config = example({"type": "item", "id": 7})

    type: str
    id: int


class EventOut(OutModel):
    """One change of the store's data: what, by whom, in which request, and its fields'
    values before and after."""

    model_config = example(
        {
            "id": 31,
            "type": "item.updated",
            "actor_id": 1,
            "actor": {"id": 1, "username": "alice"},
            "resource": {"type": "item", "id": 7},
            "changes": {"description": ["", "Solid oak."], "quantity": [4, 3]},
            "request_id": "5f0c6a1e9b2d4c7e8a3f1b2c3d4e5f60",
            "created_at": CREATED_AT,
        }
    )

    id: int
    type: str
    actor_id: int | None
    actor: ActorOut | None
    resource: ResourceOut
    changes: dict[str, Any]
    request_id: str | None
    created_at: datetime


def event_json(event: Event) -> dict[str, Any]:
    """The event's values as GET /store/{id}/event writes them (datetimes left to orjson)."""
    values: dict[str, Any] = object_renderer(EventOut)(event)
    return values
