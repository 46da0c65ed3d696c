"""A store's history: its events, newest first, for those who manage the store."""

from __future__ import annotations

import re
from typing import Annotated

from flask import Blueprint, Response
from pydantic import AfterValidator, Field

from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.events import EVENTS, RESOURCE_TYPES, EventQuery, EventType
from storekeeper.domain.history import store_history
from storekeeper.domain.model import Actor, PageRequest
from storekeeper.domain.ports import Work
from storekeeper.domain.values import ID_MAX
from storekeeper.http.event_json import EventOut
from storekeeper.http.operations import operation
from storekeeper.http.paging import decode_cursor, respond_page
from storekeeper.http.schemas import ListParams

bp = Blueprint("history", __name__)

RESOURCE_PATTERN = r"^(store|item|tag|member|job|webhook):[1-9][0-9]{0,18}$"
_RESOURCE = re.compile(RESOURCE_PATTERN)


def _resource(value: str | None) -> str | None:
    # Checked here rather than by Field(pattern=...), so the refusal reads as the API's own.
    if value is not None and (
        not _RESOURCE.fullmatch(value) or int(value.partition(":")[2]) > ID_MAX
    ):
        raise ValueError(
            "must be <type>:<id>, e.g. item:42 (types: " + ", ".join(RESOURCE_TYPES) + ")"
        )
    return value


class EventListParams(ListParams):
    """Paging and filters of a store's history."""

    type: Annotated[
        EventType | None,
        Field(description="Only events of this type (docs/api.md lists them)."),
    ] = None
    resource: Annotated[
        str | None,
        AfterValidator(_resource),
        Field(
            json_schema_extra={"pattern": RESOURCE_PATTERN},
            description="Only events about this resource, as `<type>:<id>`: `item:42`, "
            "`tag:3`, `member:7` (a user id), `job:5`, `store:1`, `webhook:2`. Another form is a "
            "422.",
        ),
    ] = None

    def resource_ref(self) -> tuple[str, int] | None:
        """The resource filter as (type, id)."""
        if self.resource is None:
            return None
        kind, _, number = self.resource.partition(":")
        return kind, int(number)


@bp.get("/store/<id:id>/event")
@operation("History", response=EventOut, many=True, query=EventListParams, auth=True)
def list_store_events(id: int, query: EventListParams, actor: Actor, work: Work) -> Response:
    """List a store's history, newest first: every change of its data, one event each.

    For the store's owner, its managers and admins. `changes` holds each changed field as
    `[old, new]` (null for none: a creation's old values, a deletion's new ones).
    """
    events = EventQuery(
        id,
        PageRequest("id", descending=True, limit=query.limit, after=decode_cursor(query)),
        query.type,
        query.resource_ref(),
    )
    page = store_history(work[CATALOG], work[EVENTS], actor, events)
    return respond_page(EventOut, page, query)
