"""Item photo endpoints: upload (raw or multipart), read (full, thumb, medium) and remove."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import Blueprint, Response
from pydantic import ConfigDict, Field

from storekeeper.domain import images
from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.images import IMAGES, StoredPicture
from storekeeper.domain.model import Actor
from storekeeper.domain.ports import Work
from storekeeper.http.bodies import respond
from storekeeper.http.conditional import Preconditions, not_modified
from storekeeper.http.context import services
from storekeeper.http.items import ItemOut
from storekeeper.http.operations import operation
from storekeeper.http.schemas import NO_NUL, Input
from storekeeper.http.uploads import Upload, Uploaded

bp = Blueprint("photos", __name__)

PHOTO = Upload(
    media_types=("image/jpeg", "image/png", "image/webp"),
    max_bytes=10 * 1024 * 1024,
    multipart_field="file",
    description="The photo, at most 10 MiB: a raw image/jpeg, image/png or image/webp body, "
    "or a multipart/form-data body whose `file` part is one.",
)
# A URL that carries the photo's version names the same bytes forever: caches (nginx, the
# browser) keep it a year without asking. Without it, or with an older one, a short while.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=60"


class ImageParams(Input):
    """Which size of the photo, and the version a URL was made for."""

    model_config = ConfigDict(extra="ignore")

    size: (
        Annotated[
            Literal["thumb", "medium"],
            Field(
                description="`thumb`: at most 256 px on its longest side; `medium`: at most "
                "1024 px. Made in the background after an upload; until then, the full photo."
            ),
        ]
        | None
    ) = None
    v: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=128,
                json_schema_extra=NO_NUL,
                description="The photo's version (its content hash, as in the item's `image` "
                "URLs): when it is the current one, the answer may be cached for good.",
            ),
        ]
        | None
    ) = None


@bp.put("/item/<id:id>/image")
@operation(
    "Items",
    response=ItemOut,
    auth=True,
    upload=PHOTO,
    errors=(409, 422),
    conditional=True,
    also={201: "The item had no photo: it has this one now."},
    creates="/item/{id}/image",
)
def put_item_image(
    id: int, upload: Uploaded, actor: Actor, conditions: Preconditions | None
) -> Response:
    """Set an item's photo (owner of its store or an admin).

    The image is checked (at most 40 megapixels, not animated, decodable to its end), turned
    upright and re-encoded with no metadata (EXIF, GPS, XMP, comments, PNG text); its format
    may change to another of the three. Its thumbnail and medium sizes are made in the
    background. `If-Match` takes the photo's ETag (its `image.etag`): replaced only if it is
    still that one; `If-None-Match: *`: set only if the item has none.
    """
    found = services()
    item, created = images.set_item_image(
        found.units, found.pictures, actor, id, upload.data, _guard(conditions)
    )
    if created:
        return respond(ItemOut, item, 201, {"Location": f"/item/{id}/image"})
    return respond(ItemOut, item)


def _guard(conditions: Preconditions | None) -> images.PhotoGuard:
    """The preconditions checked against the photo's own ETag (its content hash)."""
    if conditions is None:
        return None
    return lambda sha256: conditions.check_etag(None if sha256 is None else f'"{sha256}"')


def _cache_control(picture: StoredPicture, params: ImageParams) -> str:
    settled = params.size is None or picture.is_variant
    return IMMUTABLE if settled and params.v == picture.source_sha256 else REVALIDATE


@bp.get("/item/<id:id>/image")
@operation(
    "Items",
    query=ImageParams,
    produces=PHOTO.media_types,
    linked=False,
    also={304: "Not modified: the photo has the ETag given in If-None-Match."},
)
def get_item_image(id: int, query: ImageParams, work: Work) -> Response:
    """Read an item's photo, or its thumbnail or medium size."""
    picture = images.read_item_image(work[CATALOG], work[IMAGES], id, query.size)
    etag = f'"{picture.sha256}"'
    headers = {"ETag": etag, "Cache-Control": _cache_control(picture, query)}
    if not_modified(etag):
        return Response(status=304, headers=headers)
    return Response(picture.data, headers=headers, mimetype=picture.content_type)


@bp.delete("/item/<id:id>/image")
@operation("Items", status=204, auth=True, conditional=True, linked=False)
def delete_item_image(
    id: int, actor: Actor, work: Work, conditions: Preconditions | None
) -> Response:
    """Remove an item's photo (owner of its store or an admin); 404 when it has none.

    `If-Match` takes the photo's ETag: removed only if it is still that one.
    """
    images.delete_item_image(work[CATALOG], work[IMAGES], actor, id, _guard(conditions))
    return Response(status=204)
