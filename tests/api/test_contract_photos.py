"""Item photos: PUT, GET and DELETE /item/{id}/image, over HTTP, on both databases."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storekeeper.domain.trash import RETENTION, purge_trash
from tests.helpers import User, assert_problem, item, store
from tests.images import (
    GPS_IFD,
    animated,
    bomb,
    jpeg_with_metadata,
    opened,
    picture,
    png_with_text,
)
from tests.jobs.inbox import run_jobs


@pytest.fixture
def shop_item(client: FlaskClient, alice: User) -> dict[str, Any]:
    return item(client, alice, store(client, alice)["id"])


def put_image(
    client: FlaskClient, user: User, item_id: int, data: bytes, kind: str = "image/jpeg"
) -> Any:
    return client.put(f"/item/{item_id}/image", data=data, content_type=kind, headers=user.headers)


def test_a_first_photo_is_201_then_200_and_the_item_shows_it(
    client: FlaskClient, alice: User, shop_item: dict[str, Any]
) -> None:
    assert shop_item["image"] is None
    first = put_image(client, alice, shop_item["id"], picture(64, 48))
    assert first.status_code == 201, first.get_json()
    assert first.headers["Location"] == f"/item/{shop_item['id']}/image"
    image = first.get_json()["image"]
    assert set(image) == {
        "url",
        "thumbnail_url",
        "width",
        "height",
        "content_type",
        "bytes",
        "etag",
    }
    assert (image["width"], image["height"], image["content_type"]) == (64, 48, "image/jpeg")
    sha = image["etag"].strip('"')
    assert image["url"] == f"/item/{shop_item['id']}/image?v={sha}"
    assert image["thumbnail_url"] == f"/item/{shop_item['id']}/image?size=thumb&v={sha}"
    assert first.get_json()["updated_at"] > shop_item["updated_at"]
    again = put_image(client, alice, shop_item["id"], picture(32, 32, "PNG"), "image/png")
    assert again.status_code == 200
    assert again.get_json()["image"]["content_type"] == "image/png"
    read = client.get(f"/item/{shop_item['id']}").get_json()
    assert read["image"] == again.get_json()["image"]
    listed = client.get("/item").get_json()
    assert listed[0]["image"] == read["image"]
    store_list = client.get(f"/store/{shop_item['store_id']}/item").get_json()
    assert store_list[0]["image"] == read["image"]


def test_the_photo_is_served_with_a_strong_etag_and_304(
    client: FlaskClient, alice: User, shop_item: dict[str, Any]
) -> None:
    image = put_image(client, alice, shop_item["id"], picture()).get_json()["image"]
    answer = client.get(f"/item/{shop_item['id']}/image")
    assert answer.status_code == 200
    assert answer.content_type == "image/jpeg"
    assert answer.headers["ETag"] == image["etag"]
    assert not answer.headers["ETag"].startswith("W/")
    assert len(answer.data) == image["bytes"]
    assert "immutable" not in answer.headers["Cache-Control"]
    versioned = client.get(image["url"])
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    same = client.get(image["url"], headers={"If-None-Match": image["etag"]})
    assert same.status_code == 304
    assert same.data == b""
    assert same.headers["ETag"] == image["etag"]


def test_multipart_uploads_take_the_file_part(
    client: FlaskClient, alice: User, shop_item: dict[str, Any]
) -> None:
    form = {"file": (io.BytesIO(picture(20, 10, "WEBP")), "photo.webp", "image/webp")}
    answer = client.put(
        f"/item/{shop_item['id']}/image",
        data=form,
        content_type="multipart/form-data",
        headers=alice.headers,
    )
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["image"]["content_type"] == "image/webp"
    nameless = {"photo": (io.BytesIO(picture()), "photo.jpg", "image/jpeg")}
    missing = client.put(
        f"/item/{shop_item['id']}/image",
        data=nameless,
        content_type="multipart/form-data",
        headers=alice.headers,
    )
    assert "file" in assert_problem(missing, 422)["errors"]


def test_other_media_types_are_415(
    client: FlaskClient, alice: User, shop_item: dict[str, Any]
) -> None:
    assert_problem(put_image(client, alice, shop_item["id"], b"GIF89a", "image/gif"), 415)
    assert_problem(put_image(client, alice, shop_item["id"], b"{}", "application/json"), 415)


def test_an_image_over_10_mib_is_413(
    client: FlaskClient, alice: User, shop_item: dict[str, Any]
) -> None:
    big = picture() + b"\0" * (10 * 1024 * 1024)
    assert_problem(put_image(client, alice, shop_item["id"], big), 413)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"not an image at all", "image/jpeg"),
        (picture()[:-200], "image/jpeg"),  # truncated
        (picture(fmt="PNG")[:60], "image/png"),
        (picture(fmt="GIF"), "image/png"),  # a format other than the three
        (animated("PNG"), "image/png"),
        (animated("WEBP"), "image/webp"),
        (bomb(7000), "image/png"),  # 49 megapixels: Pillow's warning, made a refusal
        (bomb(10000), "image/png"),  # 100 megapixels: Pillow's own error
        (b"", "image/png"),
    ],
    ids=[
        "garbage",
        "truncated",
        "png-header",
        "gif",
        "apng",
        "webp-anim",
        "bomb",
        "bomb2",
        "empty",
    ],
)
def test_refused_images_are_422_on_file(
    client: FlaskClient, alice: User, shop_item: dict[str, Any], data: bytes, kind: str
) -> None:
    body = assert_problem(put_image(client, alice, shop_item["id"], data, kind), 422)
    assert "file" in body["errors"]
    assert client.get(f"/item/{shop_item['id']}").get_json()["image"] is None


def test_metadata_is_stripped_and_orientation_applied(
    client: FlaskClient, alice: User, shop_item: dict[str, Any]
) -> None:
    upload = jpeg_with_metadata(80, 40, orientation=6)  # "rotate 90° clockwise to view"
    assert b"secret-comment" in upload and b"SecretCam" in upload and b"secret-xmp" in upload
    image = put_image(client, alice, shop_item["id"], upload).get_json()["image"]
    assert (image["width"], image["height"]) == (40, 80)
    stored = client.get(f"/item/{shop_item['id']}/image").data
    for secret in (b"secret-comment", b"SecretCam", b"secret-xmp", b"Exif", b"http://ns.adobe"):
        assert secret not in stored
    opened_back = opened(stored)
    assert opened_back.size == (40, 80)
    exif = opened_back.getexif()
    assert len(exif) == 0
    assert not exif.get_ifd(GPS_IFD)
    assert "comment" not in opened_back.info and "xmp" not in opened_back.info
    # The yellow half was on the left; turned clockwise, it is on top.
    rgb = opened_back.convert("RGB")
    top, bottom = rgb.getpixel((20, 5)), rgb.getpixel((20, 75))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 80, top
    assert bottom[2] > 200, bottom


def test_png_text_is_stripped(client: FlaskClient, alice: User, shop_item: dict[str, Any]) -> None:
    image = put_image(client, alice, shop_item["id"], png_with_text(), "image/png")
    assert image.status_code == 201
    stored = client.get(f"/item/{shop_item['id']}/image").data
    assert b"secret-author" not in stored and b"secret-itxt" not in stored
    back = opened(stored)
    assert back.mode == "RGBA"
    assert not getattr(back, "text", {})


def test_variants_are_made_by_the_worker(
    app: Flask, client: FlaskClient, alice: User, shop_item: dict[str, Any], tmp_path: Path
) -> None:
    image = put_image(client, alice, shop_item["id"], picture(2000, 1000)).get_json()["image"]
    before = client.get(image["thumbnail_url"])
    assert before.headers["ETag"] == image["etag"]  # the full photo until the thumb is made
    assert "immutable" not in before.headers["Cache-Control"]
    assert run_jobs(app, tmp_path) == ["succeeded"]
    thumb = client.get(image["thumbnail_url"])
    assert thumb.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert thumb.headers["ETag"] != image["etag"]
    assert opened(thumb.data).size == (256, 128)
    medium = client.get(f"/item/{shop_item['id']}/image?size=medium")
    assert opened(medium.data).size == (1024, 512)
    assert client.get(image["url"]).headers["ETag"] == image["etag"]
    assert (
        client.get(
            image["thumbnail_url"], headers={"If-None-Match": thumb.headers["ETag"]}
        ).status_code
        == 304
    )
    # Idempotent: the same photo again queues a job that makes nothing new.
    put_image(client, alice, shop_item["id"], picture(2000, 1000))
    assert run_jobs(app, tmp_path) == ["succeeded"]
    assert client.get(image["thumbnail_url"]).headers["ETag"] == thumb.headers["ETag"]


def test_a_bad_size_is_422(client: FlaskClient, alice: User, shop_item: dict[str, Any]) -> None:
    put_image(client, alice, shop_item["id"], picture())
    body = assert_problem(client.get(f"/item/{shop_item['id']}/image?size=huge"), 422)
    assert "size" in body["errors"]


def test_delete_is_204_then_404(
    client: FlaskClient, alice: User, shop_item: dict[str, Any]
) -> None:
    put_image(client, alice, shop_item["id"], picture())
    gone = client.delete(f"/item/{shop_item['id']}/image", headers=alice.headers)
    assert gone.status_code == 204
    assert client.get(f"/item/{shop_item['id']}").get_json()["image"] is None
    assert_problem(client.get(f"/item/{shop_item['id']}/image"), 404)
    assert_problem(client.delete(f"/item/{shop_item['id']}/image", headers=alice.headers), 404)


def test_only_the_owner_or_an_admin_may_change_the_photo(
    client: FlaskClient, alice: User, bob: User, admin: User, shop_item: dict[str, Any]
) -> None:
    assert_problem(put_image(client, bob, shop_item["id"], picture()), 403)
    anonymous = client.put(
        f"/item/{shop_item['id']}/image", data=picture(), content_type="image/jpeg"
    )
    assert_problem(anonymous, 401)
    assert put_image(client, admin, shop_item["id"], picture()).status_code == 201
    assert_problem(client.delete(f"/item/{shop_item['id']}/image", headers=bob.headers), 403)
    assert client.delete(f"/item/{shop_item['id']}/image", headers=admin.headers).status_code == 204


def test_a_missing_item_is_404(client: FlaskClient, alice: User) -> None:
    assert_problem(put_image(client, alice, 999, picture()), 404)
    assert_problem(client.get("/item/999/image"), 404)
    assert_problem(client.delete("/item/999/image", headers=alice.headers), 404)


def _blob_count(app: Flask) -> int:
    from sqlalchemy import func, select

    from storekeeper.db.images import blobs

    engine = app.extensions["storekeeper"].database.engine
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(blobs)).scalar_one())


def test_the_same_photo_is_stored_once_and_dropped_with_its_last_item(
    app: Flask, client: FlaskClient, alice: User
) -> None:
    shop = store(client, alice)["id"]
    first, second = item(client, alice, shop, "One"), item(client, alice, shop, "Two")
    photo = picture(40, 40)
    a = put_image(client, alice, first["id"], photo).get_json()["image"]
    b = put_image(client, alice, second["id"], photo).get_json()["image"]
    assert a["etag"] == b["etag"]
    assert _blob_count(app) == 1
    client.delete(f"/item/{first['id']}/image", headers=alice.headers)
    assert _blob_count(app) == 1
    assert client.get(f"/item/{second['id']}/image").status_code == 200
    put_image(client, alice, second["id"], picture(40, 40, color=(0, 255, 0)))
    assert _blob_count(app) == 1  # the replaced photo went with its last reference
    client.delete(f"/item/{second['id']}", headers=alice.headers)
    assert _blob_count(app) == 1  # in the trash with its item, for a restore
    later = datetime.now(UTC) + RETENTION + timedelta(days=1)
    assert purge_trash(app.extensions["storekeeper"].units, later) == 1
    assert _blob_count(app) == 0
    third = item(client, alice, shop, "Three")
    put_image(client, alice, third["id"], photo)
    assert client.delete(f"/store/{shop}", headers=alice.headers).status_code == 204
    assert _blob_count(app) == 0


def test_a_page_of_items_with_photos_is_one_statement(
    app: Flask, client: FlaskClient, alice: User
) -> None:
    from sqlalchemy import event

    shop = store(client, alice)["id"]
    for n in range(5):
        made = item(client, alice, shop, f"Item {n}")
        put_image(client, alice, made["id"], picture(10 + n, 10))
    engine = app.extensions["storekeeper"].database.engine
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get(f"/store/{shop}/item").get_json()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert all(entry["image"] for entry in page)
    assert len([s for s in statements if "item_images" in s]) == 1


def test_if_match_takes_the_photos_etag(
    client: FlaskClient, alice: User, shop_item: dict[str, Any]
) -> None:
    path = f"/item/{shop_item['id']}/image"

    def put(data: bytes, **headers: str) -> Any:
        sent = {**alice.headers, **headers, "Content-Type": "image/jpeg"}
        return client.put(path, data=data, headers=sent)

    assert put(picture(), **{"If-Match": '"nope"'}).status_code == 412  # none yet
    first = put(picture(), **{"If-None-Match": "*"})
    assert first.status_code == 201
    etag = first.get_json()["image"]["etag"]
    assert_problem(put(picture(20, 20), **{"If-None-Match": "*"}), 412)
    assert_problem(put(picture(20, 20), **{"If-Match": '"stale"'}), 412)
    assert client.get(f"/item/{shop_item['id']}").get_json()["image"]["etag"] == etag
    second = put(picture(20, 20), **{"If-Match": etag})
    assert second.status_code == 200
    newer = second.get_json()["image"]["etag"]
    stale = client.delete(path, headers={**alice.headers, "If-Match": etag})
    assert_problem(stale, 412)
    gone = client.delete(path, headers={**alice.headers, "If-Match": newer})
    assert gone.status_code == 204
