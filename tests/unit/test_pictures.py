"""The photo codec on its own: what it keeps, what it drops, and the bounds it holds."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import TypeVar

import pytest
from PIL import Image, ImageCms

from storekeeper import pictures
from storekeeper.domain.errors import Invalid
from storekeeper.pictures import MAX_PIXELS, MAX_STORED_BYTES, PillowPictures, prepare, shrink
from tests.images import opened, picture

T = TypeVar("T")


def test_the_codec_sets_pillows_own_bomb_limit() -> None:
    PillowPictures()
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS


def test_a_variant_keeps_proportions_and_never_enlarges() -> None:
    stored = prepare(picture(1000, 400)).data
    made = shrink(stored, 256)
    assert (made.width, made.height) == (256, 102)
    assert opened(made.data).size == (256, 102)
    small = shrink(prepare(picture(100, 50)).data, 256)
    assert (small.width, small.height) == (100, 50)


def test_an_icc_profile_is_applied_then_dropped() -> None:
    image = Image.new("RGB", (20, 20), (200, 100, 50))
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    image.save(out, "PNG", icc_profile=profile)
    made = prepare(out.getvalue())
    assert "icc_profile" not in opened(made.data).info


def test_a_photo_too_large_once_re_encoded_is_written_more_densely() -> None:
    # Noise does not compress: as a PNG it is larger than what is stored, as a WebP it is not.
    side = 2400
    noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=1)
    assert len(out.getvalue()) > MAX_STORED_BYTES
    made = prepare(out.getvalue())
    assert made.content_type in ("image/webp", "image/jpeg")
    assert len(made.data) <= MAX_STORED_BYTES


def test_a_format_outside_the_three_is_refused_whatever_it_is_called() -> None:
    for fmt in ("GIF", "BMP", "TIFF"):
        with pytest.raises(Invalid) as refused:
            prepare(picture(fmt=fmt))
        assert "file" in refused.value.errors


def test_the_runner_is_what_does_the_work() -> None:
    ran: list[str] = []

    def runner(work: Callable[[], T]) -> T:
        ran.append("ran")
        return work()

    codec = PillowPictures(run=runner)
    codec.prepare(picture())
    codec.shrink(prepare(picture()).data, 16)
    assert ran == ["ran", "ran"]
    assert pictures.FORMATS == {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
