"""Store endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import Blueprint, Response
from pydantic import Field

from storekeeper.domain import catalog
from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.model import Actor, StoreQuery
from storekeeper.domain.ports import Work
from storekeeper.http.bodies import guard, respond
from storekeeper.http.conditional import Preconditions
from storekeeper.http.operations import operation
from storekeeper.http.paging import page_request, respond_page
from storekeeper.http.schemas import (
    CREATED_AT,
    UPDATED_AT,
    InModel,
    ItemBriefOut,
    Name,
    NamedListParams,
    OutModel,
    RefOut,
    example,
)

bp = Blueprint("stores", __name__)

# The one 409 of a store's create and rename (docs/api.md, "Names").
NAME_TAKEN = (
    "Another store has this name or one that looks the same: equal ignoring case, invisible "
    "characters (zero-width and other format characters), runs of white space, and characters "
    "Unicode lists as confusable (UTS #39: Greek or Cyrillic letters for Latin ones, full-width "
    "and mathematical letters, 0 for O, m for rn). The name is kept as typed; only the check "
    "compares look-alikes. Or the request with this Idempotency-Key is still in flight."
)


# Request and response models


class StoreCreate(InModel):
    """A new store."""

    model_config = example({"name": "Corner Shop"})

    name: Name


class StoreUpdate(InModel):
    """Changes to a store (JSON merge patch)."""

    model_config = example({"name": "Corner Shop & Café"}, merge_patch=True)

    name: Name = None  # type: ignore[assignment]


_STORE = {
    "id": 1,
    "name": "Corner Shop",
    "owner_id": 1,
    "item_count": 2,
    "created_at": CREATED_AT,
    "updated_at": UPDATED_AT,
}


class StoreSummaryOut(OutModel):
    """A store in a list."""

    model_config = example(_STORE)

    id: int
    name: str
    owner_id: int | None
    item_count: int
    created_at: datetime
    updated_at: datetime


class StoreOut(StoreSummaryOut):
    """A store with its first 50 items and first 50 tags (by id)."""

    model_config = example(
        {
            **_STORE,
            "items": [
                {"id": 7, "name": "Oak chair", "price": 19.99, "quantity": 4},
                {"id": 8, "name": "Pine table", "price": 120, "quantity": 0},
            ],
            "tags": [{"id": 3, "name": "furniture"}],
        }
    )

    items: list[ItemBriefOut]
    tags: list[RefOut]


class StoreListParams(NamedListParams):
    """Paging, sorting and filters of /store."""

    member: Annotated[
        Literal["me"] | None,
        Field(
            description="`me`: only the stores the caller owns or is on the team of "
            "(needs a token: 401 without)."
        ),
    ] = None


# Handlers


def _guard(work: Work, store_id: int, conditions: Preconditions | None) -> catalog.Guard:
    repo = work[CATALOG]
    return guard(
        conditions,
        StoreOut,
        lambda: repo.store_detail(store_id, catalog.STORE_EMBED_LIMIT),
        lambda: repo.lock_store(store_id),
    )


@bp.get("/store")
@operation("Stores", response=StoreSummaryOut, many=True, query=StoreListParams, errors=(401,))
def list_stores(query: StoreListParams, actor: Actor | None, work: Work) -> Response:
    """List stores, a page at a time; `?member=me`: the caller's own (owned or on the team)."""
    stores = StoreQuery(page_request(query), query.name, query.q)
    page = catalog.list_stores(work[CATALOG], stores, actor, mine=query.member == "me")
    return respond_page(StoreSummaryOut, page, query)


@bp.post("/store")
@operation(
    "Stores",
    status=201,
    response=StoreOut,
    body=StoreCreate,
    auth=True,
    errors=(409,),
    error_text={409: NAME_TAKEN},
    creates="/store/{id}",
)
def create_store(body: StoreCreate, actor: Actor, work: Work) -> Response:
    """Create a store owned by the caller; no two stores have names that look the same."""
    store = catalog.create_store(work[CATALOG], actor, body.name)
    return respond(StoreOut, store, 201, {"Location": f"/store/{store.id}"})


@bp.get("/store/<id:id>")
@operation("Stores", response=StoreOut)
def get_store(id: int, work: Work) -> Response:
    """Read a store with its first 50 items and tags; `item_count` gives the total."""
    return respond(StoreOut, catalog.get_store(work[CATALOG], id))


@bp.patch("/store/<id:id>")
@operation(
    "Stores",
    response=StoreOut,
    body=StoreUpdate,
    auth=True,
    merge_patch=True,
    errors=(409,),
    error_text={409: NAME_TAKEN},
    conditional=True,
)
def update_store(
    id: int, body: StoreUpdate, actor: Actor, work: Work, conditions: Preconditions | None
) -> Response:
    """Rename a store (its owner, managers and admins)."""
    check = _guard(work, id, conditions)
    return respond(StoreOut, catalog.rename_store(work[CATALOG], actor, id, body.name, check))


@bp.delete("/store/<id:id>")
@operation("Stores", status=204, auth=True, conditional=True)
def delete_store(id: int, actor: Actor, work: Work, conditions: Preconditions | None) -> Response:
    """Delete a store with everything in it: its items, tags, links and team (owner or admin).

    The items in its trash go too, at once and for good: none can be restored afterwards.
    """
    catalog.delete_store(work[CATALOG], actor, id, _guard(work, id, conditions))
    return Response(status=204)
