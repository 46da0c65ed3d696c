"""Tag endpoints and the links between items and tags."""

from __future__ import annotations

from flask import Blueprint, Response

from storekeeper.domain import catalog
from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.model import TagQuery
from storekeeper.http.bodies import guard, read_body, respond
from storekeeper.http.context import actor, unit_of_work
from storekeeper.http.idempotency import bind
from storekeeper.http.openapi import operation
from storekeeper.http.paging import page_request, query_params, respond_page
from storekeeper.http.schemas import InModel, Name, NamedListParams, OutModel, TagItemOut, example

bp = Blueprint("tags", __name__)


# Request and response models


class TagCreate(InModel):
    """A new tag."""

    model_config = example({"name": "furniture"})

    name: Name


class TagOut(OutModel):
    """A tag."""

    model_config = example({"id": 3, "name": "furniture", "store_id": 1})

    id: int
    name: str
    store_id: int


class TagDetailOut(TagOut):
    """A tag with the first 50 items it labels (by id); all of them at /item?tag={id}."""

    model_config = example(
        {
            "id": 3,
            "name": "furniture",
            "store_id": 1,
            "items": [{"id": 7, "name": "Oak chair", "price": 19.99}],
        }
    )

    items: list[TagItemOut]


class TagListParams(NamedListParams):
    """Paging, sorting and filters of a store's tags."""


# Handlers


@bp.get("/store/<id:id>/tag")
@operation("Tags", response=TagOut, many=True, query=TagListParams)
def list_store_tags(id: int) -> Response:
    """List one store's tags, a page at a time."""
    params = query_params(TagListParams)
    query = TagQuery(id, page_request(params), params.name, params.q)
    with unit_of_work() as work:
        page = catalog.list_tags(work[CATALOG], query)
    return respond_page(TagOut, page, params)


@bp.post("/store/<id:id>/tag")
@operation(
    "Tags",
    status=201,
    response=TagOut,
    body=TagCreate,
    auth=True,
    errors=(409,),
    creates="/tag/{id}",
)
def create_tag(id: int) -> Response:
    """Create a tag in a store (owner or admin); names are unique per store case-insensitively."""
    data = read_body(TagCreate)
    with unit_of_work(write=True) as work:
        tag = catalog.create_tag(work[CATALOG], actor(), id, data.name)
        return bind(work, respond(TagOut, tag, 201, {"Location": f"/tag/{tag.id}"}))


@bp.get("/tag/<id:id>")
@operation("Tags", response=TagDetailOut)
def get_tag(id: int) -> Response:
    """Read a tag with the first 50 items it labels; all of them at /item?tag={id}."""
    with unit_of_work() as work:
        tag = catalog.get_tag(work[CATALOG], id)
    return respond(TagDetailOut, tag)


@bp.delete("/tag/<id:id>")
@operation("Tags", status=204, auth=True, errors=(409,), conditional=True)
def delete_tag(id: int) -> Response:
    """Delete a tag that labels no item (owner or admin); otherwise 409."""
    with unit_of_work(write=True) as work:
        repo = work[CATALOG]
        check = guard(
            TagDetailOut, lambda: repo.get_tag(id, with_items=True), lambda: repo.lock_tag(id)
        )
        catalog.delete_tag(repo, actor(), id, check)
    return Response(status=204)


@bp.post("/item/<id:id>/tag/<id:tag_id>")
@operation(
    "Tags",
    status=201,
    response=TagOut,
    auth=True,
    errors=(422,),
    also={200: "The item already had this tag."},
    creates="/item/{id}/tag/{tag_id}",
)
def link_tag(id: int, tag_id: int) -> Response:
    """Label an item with a tag of the same store: 201 when new, 200 when already linked.

    A new link's `Location` is its own URL, the one `DELETE` removes it at.
    """
    with unit_of_work(write=True) as work:
        tag, created = catalog.link_tag(work[CATALOG], actor(), id, tag_id)
        if created:
            answer = respond(TagOut, tag, 201, {"Location": f"/item/{id}/tag/{tag_id}"})
        else:
            answer = respond(TagOut, tag)
        return bind(work, answer)


@bp.delete("/item/<id:id>/tag/<id:tag_id>")
@operation("Tags", status=204, auth=True)
def unlink_tag(id: int, tag_id: int) -> Response:
    """Remove a tag from an item; 404 when the item does not have it."""
    with unit_of_work(write=True) as work:
        catalog.unlink_tag(work[CATALOG], actor(), id, tag_id)
    return Response(status=204)
