"""Tag endpoints and the links between items and tags."""

from __future__ import annotations

from flask import Blueprint, Response

from storekeeper.domain import catalog
from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.model import Actor, TagQuery
from storekeeper.domain.ports import Work
from storekeeper.http.bodies import guard, respond
from storekeeper.http.conditional import Preconditions
from storekeeper.http.operations import operation
from storekeeper.http.paging import page_request, respond_page
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
def list_store_tags(id: int, query: TagListParams, work: Work) -> Response:
    """List one store's tags, a page at a time."""
    tags = TagQuery(id, page_request(query), query.name, query.q)
    return respond_page(TagOut, catalog.list_tags(work[CATALOG], tags), query)


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
def create_tag(id: int, body: TagCreate, actor: Actor, work: Work) -> Response:
    """Create a tag in a store (owner, managers, admins); unique per store, ignoring case."""
    tag = catalog.create_tag(work[CATALOG], actor, id, body.name)
    return respond(TagOut, tag, 201, {"Location": f"/tag/{tag.id}"})


@bp.get("/tag/<id:id>")
@operation("Tags", response=TagDetailOut)
def get_tag(id: int, work: Work) -> Response:
    """Read a tag with the first 50 items it labels; all of them at /item?tag={id}."""
    return respond(TagDetailOut, catalog.get_tag(work[CATALOG], id))


@bp.delete("/tag/<id:id>")
@operation("Tags", status=204, auth=True, errors=(409,), conditional=True)
def delete_tag(id: int, actor: Actor, work: Work, conditions: Preconditions | None) -> Response:
    """Delete a tag that labels no item (owner, managers, admins); otherwise 409.

    Only live items count: items in the trash lose the tag with it, and come back without
    it when restored.
    """
    repo = work[CATALOG]
    check = guard(
        conditions,
        TagDetailOut,
        lambda: repo.get_tag(id, with_items=True),
        lambda: repo.lock_tag(id),
    )
    catalog.delete_tag(repo, actor, id, check)
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
def link_tag(id: int, tag_id: int, actor: Actor, work: Work) -> Response:
    """Label an item with a tag of the same store: 201 when new, 200 when already linked.

    A new link's `Location` is its own URL, the one `DELETE` removes it at.
    """
    tag, created = catalog.link_tag(work[CATALOG], actor, id, tag_id)
    if created:
        return respond(TagOut, tag, 201, {"Location": f"/item/{id}/tag/{tag_id}"})
    return respond(TagOut, tag)


@bp.delete("/item/<id:id>/tag/<id:tag_id>")
@operation("Tags", status=204, auth=True)
def unlink_tag(id: int, tag_id: int, actor: Actor, work: Work) -> Response:
    """Remove a tag from an item; 404 when the item does not have it."""
    catalog.unlink_tag(work[CATALOG], actor, id, tag_id)
    return Response(status=204)
