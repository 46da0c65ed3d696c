"""Mutated images never make the upload fail badly: only 2xx, 413, 415 or 422, and quickly.

Valid JPEG, PNG and WebP images made here are bit-flipped, truncated, given another format's
header or spliced, and sent through the app as raw bodies or multipart parts.
"""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import User, item, store
from tests.images import jpeg_with_metadata, picture, png_with_text

SEEDS = {
    "image/jpeg": [picture(48, 32, "JPEG"), jpeg_with_metadata(40, 24)],
    "image/png": [picture(48, 32, "PNG"), png_with_text()],
    "image/webp": [picture(48, 32, "WEBP")],
}
HEADERS = [b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBPVP8 "]
ALLOWED = {200, 201, 413, 415, 422}
# A single upload of these sizes decodes in milliseconds: anything near this is a hang.
SLOW_S = 5.0


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, str]:
    declared = draw(st.sampled_from(sorted(SEEDS)))
    source = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(draw(st.sampled_from(SEEDS[source])))
    for _ in range(draw(st.integers(0, 3))):
        how = draw(st.sampled_from(["flip", "truncate", "header", "splice", "bytes"]))
        if not data:
            break
        if how == "flip":
            for _ in range(draw(st.integers(1, 16))):
                at = draw(st.integers(0, len(data) - 1))
                data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif how == "header":
            header = draw(st.sampled_from(HEADERS))
            data[: len(header)] = header
        elif how == "splice":
            other = draw(st.sampled_from([s for seeds in SEEDS.values() for s in seeds]))
            cut = draw(st.integers(0, len(data)))
            data = data[:cut] + other[draw(st.integers(0, len(other))) :]
        else:
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(max_size=64))
    return bytes(data), declared


@pytest.fixture
def target(client: FlaskClient, alice: User) -> int:
    made: dict[str, Any] = item(client, alice, store(client, alice)["id"])
    return int(made["id"])


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutated(), multipart=st.booleans())
def test_mutated_images_are_accepted_or_refused_never_a_5xx(
    client: FlaskClient, alice: User, target: int, case: tuple[bytes, str], multipart: bool
) -> None:
    data, declared = case
    started = time.monotonic()
    if multipart:
        form = {"file": (io.BytesIO(data), "photo", declared)}
        answer = client.put(
            f"/item/{target}/image",
            data=form,
            content_type="multipart/form-data",
            headers=alice.headers,
        )
    else:
        answer = client.put(
            f"/item/{target}/image", data=data, content_type=declared, headers=alice.headers
        )
    assert answer.status_code in ALLOWED, (answer.status_code, answer.get_data(as_text=True))
    assert time.monotonic() - started < SLOW_S
    if answer.status_code < 300:
        served = client.get(f"/item/{target}/image")
        assert served.status_code == 200
        assert served.headers["ETag"] == answer.get_json()["image"]["etag"]
