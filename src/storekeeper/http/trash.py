"""A store's trash: the items deleted from it, and bringing one back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import Blueprint, Response
from pydantic import Field

from storekeeper.domain import trash
from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.model import Actor, TrashQuery
from storekeeper.domain.ports import Work
from storekeeper.domain.trash import TRASH
from storekeeper.http.bodies import guard, respond
from storekeeper.http.conditional import Preconditions
from storekeeper.http.items import ITEM_EXAMPLE, ItemOut
from storekeeper.http.operations import operation
from storekeeper.http.paging import page_request, respond_page
from storekeeper.http.schemas import InModel, ListParams, Name, example

bp = Blueprint("trash", __name__)

DELETED_AT = "2026-11-24T09:30:00Z"


class TrashedItemOut(ItemOut):
    """An item in its store's trash: as it was, with when and by whom it was deleted."""

    model_config = example({**ITEM_EXAMPLE, "deleted_at": DELETED_AT, "deleted_by": 1})

    deleted_at: datetime
    deleted_by: Annotated[
        int | None, Field(description="The user who deleted it; null once that user is deleted.")
    ]


TRASH_SORT_RULE = (
    "`-deleted_at` (default): the latest deletion first; `deleted_at`: the oldest first, "
    "i.e. the next to be purged. Equal times by id."
)


class TrashListParams(ListParams):
    """Paging and sort of a store's trash."""

    sort: Annotated[
        Literal["-deleted_at", "deleted_at", "id", "-id"], Field(description=TRASH_SORT_RULE)
    ] = "-deleted_at"


class RestoreIn(InModel):
    """How to restore an item: under a new name when its own is taken meanwhile."""

    # Absent means "its own name"; null is not a name (422): no default of null is shown.
    model_config = example({"name": "Oak chair (2)"}, merge_patch=True)

    name: Name = None  # type: ignore[assignment]


@bp.get("/store/<id:id>/trash")
@operation("Trash", response=TrashedItemOut, many=True, query=TrashListParams, auth=True)
def list_trash(id: int, query: TrashListParams, actor: Actor, work: Work) -> Response:
    """List the items deleted from a store in the last 30 days (owner, managers, admins).

    Newest deletion first by default. After 30 days in the trash an item is purged for good;
    deleting the store deletes its trash with it.
    """
    page = trash.list_trash(work[CATALOG], work[TRASH], actor, TrashQuery(id, page_request(query)))
    return respond_page(TrashedItemOut, page, query)


@bp.post("/item/<id:id>/restore")
@operation(
    "Trash",
    response=ItemOut,
    body=RestoreIn,
    body_optional=True,
    auth=True,
    errors=(409,),
    conditional=True,
)
def restore_item(
    id: int, body: RestoreIn, actor: Actor, work: Work, conditions: Preconditions | None
) -> Response:
    """Bring an item back from its store's trash (owner of its store or an admin).

    It comes back as it was: its fields, its photo, and the tags it had that still exist.
    The body is optional. When another item has taken its name meanwhile: 409, unless a new
    `name` is given (validated like any item name; 409 again when that one is taken too).
    An item that is not in the trash: 409 when it is live, 404 when there is no such item
    (never was, or purged after 30 days). `If-Match` compares with the ETag the item had
    when it was deleted.
    """
    check = guard(
        conditions,
        ItemOut,
        lambda: work[TRASH].trashed(id),
        lambda: work[CATALOG].lock_item(id),
    )
    item = trash.restore_item(work[CATALOG], work[TRASH], actor, id, body.name, check)
    return respond(ItemOut, item)
