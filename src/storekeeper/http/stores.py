"""Store endpoints."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response

from storekeeper.domain import catalog
from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.model import StoreQuery
from storekeeper.domain.ports import Work
from storekeeper.http.bodies import guard, read_body, respond
from storekeeper.http.context import actor, unit_of_work
from storekeeper.http.idempotency import bind
from storekeeper.http.openapi import operation
from storekeeper.http.paging import page_request, query_params, respond_page
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


# Handlers


def _guard(work: Work, store_id: int) -> catalog.Guard:
    repo = work[CATALOG]
    return guard(
        StoreOut,
        lambda: repo.store_detail(store_id, catalog.STORE_EMBED_LIMIT),
        lambda: repo.lock_store(store_id),
    )


@bp.get("/store")
@operation("Stores", response=StoreSummaryOut, many=True, query=StoreListParams)
def list_stores() -> Response:
    """List stores, a page at a time."""
    params = query_params(StoreListParams)
    query = StoreQuery(page_request(params), params.name, params.q)
    with unit_of_work() as work:
        page = catalog.list_stores(work[CATALOG], query)
    return respond_page(StoreSummaryOut, page, params)


@bp.post("/store")
@operation(
    "Stores",
    status=201,
    response=StoreOut,
    body=StoreCreate,
    auth=True,
    errors=(409,),
    creates="/store/{id}",
)
def create_store() -> Response:
    """Create a store owned by the caller; names are unique case-insensitively."""
    data = read_body(StoreCreate)
    with unit_of_work(write=True) as work:
        store = catalog.create_store(work[CATALOG], actor(), data.name)
        return bind(work, respond(StoreOut, store, 201, {"Location": f"/store/{store.id}"}))


@bp.get("/store/<id:id>")
@operation("Stores", response=StoreOut)
def get_store(id: int) -> Response:
    """Read a store with its first 50 items and tags; `item_count` gives the total."""
    with unit_of_work() as work:
        store = catalog.get_store(work[CATALOG], id)
    return respond(StoreOut, store)


@bp.patch("/store/<id:id>")
@operation(
    "Stores",
    response=StoreOut,
    body=StoreUpdate,
    auth=True,
    merge_patch=True,
    errors=(409,),
    conditional=True,
)
def update_store(id: int) -> Response:
    """Rename a store (owner or admin)."""
    data = read_body(StoreUpdate, merge_patch=True)
    with unit_of_work(write=True) as work:
        check = _guard(work, id)
        store = catalog.rename_store(work[CATALOG], actor(), id, data.name, check)
    return respond(StoreOut, store)


@bp.delete("/store/<id:id>")
@operation("Stores", status=204, auth=True, conditional=True)
def delete_store(id: int) -> Response:
    """Delete a store with everything in it: its items, tags and links (owner or admin)."""
    with unit_of_work(write=True) as work:
        catalog.delete_store(work[CATALOG], actor(), id, _guard(work, id))
    return Response(status=204)
