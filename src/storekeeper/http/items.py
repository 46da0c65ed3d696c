"""Item endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from flask import Blueprint, Response
from pydantic import Field, model_validator

from storekeeper.domain import catalog
from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.model import Actor, Item, ItemChanges, ItemFields, ItemQuery
from storekeeper.domain.ports import Work
from storekeeper.domain.search import SEARCH_MAX_CHARS, SEARCH_MAX_WORDS, parse_search
from storekeeper.domain.values import CLIENT_ID_MAX
from storekeeper.http import transfer
from storekeeper.http.bodies import guard, respond
from storekeeper.http.conditional import Preconditions
from storekeeper.http.operations import operation
from storekeeper.http.paging import page_request, respond_page
from storekeeper.http.schemas import (
    CREATED_AT,
    NO_NUL,
    UPDATED_AT,
    Description,
    InModel,
    ListParams,
    Name,
    OutModel,
    PriceIn,
    PriceOut,
    Quantity,
    QueryBool,
    QueryId,
    QueryPrice,
    QueryText,
    RefOut,
    ResourceId,
    example,
)

bp = Blueprint("items", __name__)


# Request and response models


class ItemFieldsIn(InModel):
    """Fields every item body may carry."""

    name: Name
    price: PriceIn
    quantity: Quantity = 0
    description: Description = ""

    def to_fields(self) -> ItemFields:
        """The domain's item fields (price in cents)."""
        return ItemFields(self.name, self.price, self.quantity, self.description)


class ItemCreate(ItemFieldsIn):
    """A new item in the store named by `store_id`."""

    model_config = example({"name": "Pine table", "price": 120, "store_id": 1})

    store_id: ResourceId


class StoreItemCreate(ItemFieldsIn):
    """A new item in the store of the path."""

    model_config = example(
        {
            "name": "Oak chair",
            "price": 19.99,
            "quantity": 4,
            "description": "Solid oak, seat height 45 cm.",
        }
    )


class ItemReplace(ItemFieldsIn):
    """The whole state of an item; `store_id` may be omitted when the item exists."""

    model_config = example(
        {
            "name": "Oak chair",
            "price": 17.5,
            "quantity": 3,
            "description": "Solid oak, seat height 45 cm.",
            "store_id": 1,
        }
    )

    store_id: ResourceId | None = None


class ItemPatch(InModel):
    """Changes to an item (JSON merge patch: absent fields stay; none of them may be null)."""

    model_config = example({"price": 17.5, "quantity": 3}, merge_patch=True)

    name: Name = None  # type: ignore[assignment]
    price: PriceIn = None  # type: ignore[assignment]
    quantity: Quantity = None  # type: ignore[assignment]
    description: Description = None  # type: ignore[assignment]
    store_id: ResourceId = None  # type: ignore[assignment]

    def changes(self) -> ItemChanges:
        """The fields the patch sets (the others stay as they are)."""
        return ItemChanges(**{name: getattr(self, name) for name in self.model_fields_set})


class ImageOut(OutModel):
    """An item's photo: its URLs (with its version: cacheable for good) and what it is."""

    model_config = example(
        {
            "url": "/item/7/image?v=" + "3f" * 32,
            "thumbnail_url": "/item/7/image?size=thumb&v=" + "3f" * 32,
            "width": 1600,
            "height": 1200,
            "content_type": "image/jpeg",
            "bytes": 284731,
            "etag": '"' + "3f" * 32 + '"',
        }
    )

    url: str
    thumbnail_url: str
    width: int
    height: int
    content_type: str
    bytes: int
    etag: str


ITEM_EXAMPLE = {
    "id": 7,
    "name": "Oak chair",
    "price": 19.99,
    "quantity": 4,
    "description": "Solid oak, seat height 45 cm.",
    "store_id": 1,
    "store": {"id": 1, "name": "Corner Shop"},
    "tags": [{"id": 3, "name": "furniture"}],
    "created_at": CREATED_AT,
    "updated_at": UPDATED_AT,
    "image": None,
}


class ItemOut(OutModel):
    """An item."""

    model_config = example(ITEM_EXAMPLE)

    id: int
    name: str
    price: PriceOut
    quantity: int
    description: str
    store_id: int
    store: RefOut
    tags: list[RefOut]
    created_at: datetime
    updated_at: datetime
    image: ImageOut | None


SEARCH_RULE = (
    "Full-text search over name and description: the words of the text (runs of letters and "
    "digits; everything else, quotes and operators included, only separates words) must each "
    'start a word of the item\'s name or description (`chai` finds "Chairs", `hair` does '
    "not), case and accents ignored. Ranked by relevance: for each word, 2 when it starts a "
    "word of the name, 1 when it starts a word of the description; equal scores by id. "
    "With `search`, `sort` defaults to `relevance`. A text with no letter or digit, or with "
    f"more than {SEARCH_MAX_WORDS} different words: 422 on `search`."
)
SearchText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=SEARCH_MAX_CHARS,
        json_schema_extra=NO_NUL,
        description=SEARCH_RULE,
    ),
]
ItemSortParam = Literal[
    "id", "-id", "name", "-name", "price", "-price", "created_at", "-created_at", "relevance"
]
SORT_RULE = (
    "A leading `-` sorts descending. `relevance` (most relevant first, then by id) needs "
    "`search` and is its default; without `search` it is a 422. `-relevance` is not offered "
    "(least relevant first answers no question): 422."
)


class StoreItemListParams(ListParams):
    """Paging, sorting and filters of one store's items."""

    sort: Annotated[ItemSortParam, Field(description=SORT_RULE)] = "id"
    search: SearchText | None = None
    tag: QueryId | None = None
    min_price: QueryPrice | None = None
    max_price: QueryPrice | None = None
    in_stock: QueryBool | None = None
    name: QueryText | None = None
    q: QueryText | None = None

    @model_validator(mode="after")
    def _relevance_by_default(self) -> Self:
        # Set here, not left to the handler, so the cursor's scope (http/paging.py) names the
        # sort the page was really sorted by.
        if self.search is not None and "sort" not in self.model_fields_set:
            self.sort = "relevance"
        return self


class ItemListParams(StoreItemListParams):
    """Paging, sorting and filters of all items."""

    store_id: QueryId | None = None


# Handlers


def _guard(work: Work, item_id: int, conditions: Preconditions | None) -> catalog.Guard:
    repo = work[CATALOG]
    return guard(
        conditions, ItemOut, lambda: repo.get_item(item_id), lambda: repo.lock_item(item_id)
    )


def _query(params: StoreItemListParams, store_id: int | None) -> ItemQuery:
    return ItemQuery(
        page_request(params),
        store_id=store_id,
        tag_id=params.tag,
        min_price=params.min_price,
        max_price=params.max_price,
        in_stock=params.in_stock,
        name=params.name,
        q=params.q,
        search=None if params.search is None else parse_search(params.search),
    )


@bp.get("/item")
@operation("Items", response=ItemOut, many=True, query=ItemListParams)
def list_items(query: ItemListParams, work: Work) -> Response:
    """List items, a page at a time, with filters and sorts."""
    page = catalog.list_items(work[CATALOG], _query(query, query.store_id))
    return respond_page(ItemOut, page, query)


@bp.get("/store/<id:id>/item")
@operation(
    "Items",
    response=ItemOut,
    many=True,
    query=StoreItemListParams,
    alternatives={transfer.CSV: transfer.EXPORT},
)
def list_store_items(id: int, query: StoreItemListParams, work: Work) -> Response:
    """List one store's items, a page at a time, with filters and sorts; or export them all.

    With `Accept: text/csv` (preferred over JSON by its q-value), every item of the store as
    a CSV download instead of a page; an Accept that names neither gets JSON.
    """
    if transfer.wants_csv():
        return transfer.vary(transfer.export_items(id, work))
    page = catalog.list_items(work[CATALOG], _query(query, id), in_store=True)
    return transfer.vary(respond_page(ItemOut, page, query))


def _created(item: Item) -> Response:
    return respond(ItemOut, item, 201, {"Location": f"/item/{item.id}"})


@bp.post("/item")
@operation(
    "Items",
    status=201,
    response=ItemOut,
    body=ItemCreate,
    auth=True,
    errors=(409,),
    creates="/item/{id}",
)
def create_item(body: ItemCreate, actor: Actor, work: Work) -> Response:
    """Create an item in the store named by `store_id` (its team or an admin)."""
    fields = body.to_fields()
    return _created(
        catalog.create_item(work[CATALOG], actor, body.store_id, fields, from_body=True)
    )


@bp.post("/store/<id:id>/item")
@operation(
    "Items",
    status=201,
    response=ItemOut,
    body=StoreItemCreate,
    auth=True,
    errors=(409,),
    creates="/item/{id}",
)
def create_store_item(id: int, body: StoreItemCreate, actor: Actor, work: Work) -> Response:
    """Create an item in the store of the path (its team or an admin)."""
    fields = body.to_fields()
    return _created(catalog.create_item(work[CATALOG], actor, id, fields, from_body=False))


@bp.get("/item/<id:id>")
@operation("Items", response=ItemOut)
def get_item(id: int, work: Work) -> Response:
    """Read an item."""
    return respond(ItemOut, catalog.get_item(work[CATALOG], id))


@bp.put("/item/<id:id>")
@operation(
    "Items",
    response=ItemOut,
    body=ItemReplace,
    auth=True,
    errors=(409,),
    conditional=True,
    also={201: "Created with the id of the path (ids up to 2^53-1 may be chosen this way)."},
    creates="/item/{id}",
    id_max=CLIENT_ID_MAX,
)
def replace_item(
    id: int, body: ItemReplace, actor: Actor, work: Work, conditions: Preconditions | None
) -> Response:
    """Make the item exist with exactly this state: replaced (200) or created (201).

    Omitted optional fields take their defaults. `store_id` may be omitted only when the item
    exists. Moving an item to another store removes its tags (they belong to the old store).
    """
    check = _guard(work, id, conditions)
    item, created = catalog.replace_item(
        work[CATALOG], actor, id, body.to_fields(), body.store_id, check
    )
    return _created(item) if created else respond(ItemOut, item)


@bp.patch("/item/<id:id>")
@operation(
    "Items",
    response=ItemOut,
    body=ItemPatch,
    auth=True,
    merge_patch=True,
    errors=(409,),
    conditional=True,
)
def update_item(
    id: int, body: ItemPatch, actor: Actor, work: Work, conditions: Preconditions | None
) -> Response:
    """Change some fields of an item (JSON merge patch; null is not a value of any field).

    Moving an item to another store (`store_id`) needs ownership of both and removes its tags.
    """
    check = _guard(work, id, conditions)
    return respond(ItemOut, catalog.patch_item(work[CATALOG], actor, id, body.changes(), check))


@bp.delete("/item/<id:id>")
@operation("Items", status=204, auth=True, conditional=True)
def delete_item(id: int, actor: Actor, work: Work, conditions: Preconditions | None) -> Response:
    """Delete an item (owner of its store or an admin): it goes to its store's trash.

    From then on it is gone from every read (404 here, absent from every list, search, store
    and tag) and its name is free for another item; its id stays taken (a PUT to it: 409).
    For 30 days it can be brought back with `POST /item/{id}/restore` (its fields, tags and
    photo) and is listed at `GET /store/{store_id}/trash`; then the worker purges it.
    """
    catalog.delete_item(work[CATALOG], actor, id, _guard(work, id, conditions))
    return Response(status=204)
