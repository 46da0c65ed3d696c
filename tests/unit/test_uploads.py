"""@operation(upload=Upload(...)): a file body, raw or multipart, within its own limit."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from flask import Blueprint, Flask, Response, jsonify
from flask.testing import FlaskClient

from storekeeper.app import create_app
from storekeeper.http.openapi import build_document
from storekeeper.http.operations import operation
from storekeeper.http.uploads import Upload, Uploaded, size_text
from tests.helpers import make_settings

LIMIT = 100 * 1024
SPEC = Upload(media_types=("text/csv", "text/plain"), max_bytes=LIMIT, multipart_field="file")


def _echo_blueprint() -> Blueprint:
    bp = Blueprint("uploads_test", __name__)

    @bp.post("/echo")
    @operation("Operations", upload=SPEC, idempotency_key=False, errors=(422,))
    def echo(upload: Uploaded) -> Response:
        """Answer what was uploaded."""
        digest = hashlib.sha256(upload.data).hexdigest()
        return jsonify(media_type=upload.media_type, size=len(upload.data), sha256=digest)

    @bp.post("/raw")
    @operation("Operations", upload=Upload(("text/csv",), 10), idempotency_key=False)
    def raw(upload: Uploaded) -> Response:
        """Answer the size of a raw upload."""
        return jsonify(size=len(upload.data))

    return bp


@pytest.fixture(scope="module")
def upload_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    folder: Path = tmp_path_factory.mktemp("uploads")
    app = create_app(make_settings(f"sqlite:///{folder}/db.sqlite", folder))
    app.register_blueprint(_echo_blueprint())
    return app


@pytest.fixture
def web(upload_app: Flask) -> FlaskClient:
    return upload_app.test_client()


def test_a_raw_body_of_an_accepted_type_is_handed_over(web: FlaskClient) -> None:
    data = b"a,b\n1,2\n" * 1000
    answer = web.post("/echo", data=data, content_type="text/csv; charset=utf-8")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "media_type": "text/csv",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_a_body_may_be_as_large_as_its_declared_limit_beyond_the_global_one(
    upload_app: Flask,
) -> None:
    big = 3 * 1024 * 1024
    spec = Upload(("application/octet-stream",), big)
    bp = Blueprint("big_upload", __name__)

    @bp.post("/big")
    @operation("Operations", upload=spec, idempotency_key=False)
    def big_upload(upload: Uploaded) -> Response:
        """Answer the size."""
        return jsonify(size=len(upload.data))

    folder_app = create_app(upload_app.extensions["storekeeper"].settings)
    folder_app.register_blueprint(bp)
    web = folder_app.test_client()
    body = b"x" * big
    ok = web.post("/big", data=body, content_type="application/octet-stream")
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json() == {"size": big}
    over = web.post("/big", data=body + b"x", content_type="application/octet-stream")
    assert over.status_code == 413
    assert "3 MiB" in over.get_json()["detail"]


def test_a_raw_body_over_the_limit_is_413_with_or_without_a_length(web: FlaskClient) -> None:
    assert web.post("/raw", data=b"1234567890", content_type="text/csv").status_code == 200
    assert web.post("/raw", data=b"12345678901", content_type="text/csv").status_code == 413

    # A chunked body has no length: the server marks its end (gunicorn does), and it is
    # measured as it is read.
    chunked = web.post(
        "/raw",
        input_stream=io.BytesIO(b"x" * 11),
        headers={"Content-Type": "text/csv", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert chunked.status_code == 413


def test_another_media_type_is_415(web: FlaskClient) -> None:
    answer = web.post("/echo", data=b"{}", content_type="application/json")
    assert answer.status_code == 415
    assert answer.content_type == "application/problem+json"


def test_a_multipart_file_part_is_handed_over_with_its_own_type(web: FlaskClient) -> None:
    data = b"name,price\nchair,10\n"
    form = {"file": (io.BytesIO(data), "stock.csv", "text/csv"), "note": "ignored"}
    answer = web.post("/echo", data=form, content_type="multipart/form-data")
    assert answer.status_code == 200
    assert answer.get_json()["media_type"] == "text/csv"
    assert answer.get_json()["size"] == len(data)


def test_a_multipart_body_without_the_part_is_422_on_it(web: FlaskClient) -> None:
    form = {"other": (io.BytesIO(b"a"), "a.csv", "text/csv")}
    answer = web.post("/echo", data=form, content_type="multipart/form-data")
    assert answer.status_code == 422
    assert "file" in answer.get_json()["errors"]


def test_a_multipart_part_of_another_type_is_415(web: FlaskClient) -> None:
    form = {"file": (io.BytesIO(b"GIF89a"), "a.gif", "image/gif")}
    answer = web.post("/echo", data=form, content_type="multipart/form-data")
    assert answer.status_code == 415


def test_a_multipart_part_over_the_limit_is_413(web: FlaskClient) -> None:
    form = {"file": (io.BytesIO(b"x" * (LIMIT + 1)), "a.csv", "text/csv")}
    answer = web.post("/echo", data=form, content_type="multipart/form-data")
    assert answer.status_code == 413


def test_a_malformed_multipart_body_is_400(web: FlaskClient) -> None:
    no_boundary = web.post("/echo", data=b"--x\r\n", content_type="multipart/form-data")
    assert no_boundary.status_code == 400
    broken = web.post(
        "/echo",
        data=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n',
        content_type="multipart/form-data; boundary=b",
    )
    assert broken.status_code in (400, 422)


def test_the_document_describes_the_upload(upload_app: Flask) -> None:
    with upload_app.app_context():
        document = build_document(upload_app)
    post = document["paths"]["/echo"]["post"]
    content = post["requestBody"]["content"]
    assert set(content) == {"text/csv", "text/plain", "multipart/form-data"}
    assert content["multipart/form-data"]["schema"]["required"] == ["file"]
    assert {"413", "415", "422", "400"} <= set(post["responses"])
    assert size_text(LIMIT) in post["responses"]["413"]["description"]


def test_an_upload_and_a_json_body_cannot_both_be_declared() -> None:
    with pytest.raises(ValueError, match="not both"):
        operation("Operations", upload=SPEC, body=type("B", (), {}))


def test_an_upload_taken_but_not_declared_is_refused() -> None:
    with pytest.raises(TypeError, match="takes `upload` exactly when"):

        @operation("Operations")
        def handler(upload: Uploaded) -> Response:
            """A handler."""
            return Response()


def test_sizes_read_as_people_write_them() -> None:
    assert size_text(10 * 1024 * 1024) == "10 MiB"
    assert size_text(512 * 1024) == "512 KiB"
    assert size_text(100) == "100 bytes"
