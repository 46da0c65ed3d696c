"""Images decoded, checked and re-encoded with Pillow: the one module that opens a client's image.

Every upload is hostile until re-encoded: it is opened only as JPEG, PNG or WebP, refused
(422 on `file`) when it is larger than 40 megapixels, a decompression bomb, animated,
truncated or undecodable, then turned upright (its EXIF orientation applied) and written
anew from its pixels alone, so nothing of the original file but the picture survives: no
EXIF, GPS, XMP, comments, PNG text, ICC profile (converted to sRGB first) or trailing bytes.

The work is CPU-bound: it runs through `run` (offload.off_the_loop), so in a server worker it
takes a pool thread and the event loop goes on serving.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from storekeeper.domain.errors import Invalid
from storekeeper.domain.images import Picture
from storekeeper.offload import Runner, inline

MAX_PIXELS = 40_000_000
# A re-encoded photo larger than this is written again in a denser format (WebP), and refused
# if it is still larger: what is stored and served stays bounded whatever the upload was.
MAX_STORED_BYTES = 12 * 1024 * 1024
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# WebP cannot hold a side longer than this.
WEBP_MAX_SIDE = 16383
_FIELD = "file"


def _refuse(message: str) -> Invalid:
    return Invalid({_FIELD: [message]}, f"The image is refused: {message}")


def _open(data: bytes) -> Image.Image:
    """The decoded image, or 422: every Pillow and decoder failure is the upload's fault."""
    try:
        # A bomb warning is a refusal too: turned into an error for this block (Pillow raises
        # DecompressionBombError by itself beyond twice MAX_IMAGE_PIXELS); the decoders' other
        # warnings (a damaged chunk skipped) are no refusal. The explicit pixel count below
        # refuses the same images without relying on the process-wide warning filters.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            if image.width * image.height > MAX_PIXELS:
                raise _refuse(f"it has more than {MAX_PIXELS // 1_000_000} megapixels")
            if getattr(image, "is_animated", False) or getattr(image, "n_frames", 1) > 1:
                raise _refuse("animated images are not accepted")
            # Truncated images fail here (LOAD_TRUNCATED_IMAGES stays off).
            image.load()
    except Invalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(f"it has more than {MAX_PIXELS // 1_000_000} megapixels") from None
    except UnidentifiedImageError:
        raise _refuse("it is not a JPEG, PNG or WebP image") from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, ArithmeticError):
        # Pillow's decoders report a broken file as any of these.
        raise _refuse("it is truncated or cannot be decoded") from None
    return image


def _srgb(image: Image.Image) -> Image.Image:
    """The image's pixels in sRGB when it carries an ICC profile (which is then dropped)."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: the pixels as they are
    if converted is None:
        return image
    image.close()
    return converted


def _pixels(image: Image.Image) -> Image.Image:
    """Upright pixels in a mode every output format writes, with no metadata attached.

    At most two full copies of the pixels exist at any moment (a 40-megapixel RGBA image is
    160 MB): each step lets go of the one before.
    """
    # Best effort: Pillow's EXIF parser fails in many ways on a damaged block, which then has
    # no orientation to apply; its warnings (tags skipped) are no refusal either.
    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ImageOps.exif_transpose(image, in_place=True)
    alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    target = "L" if image.mode == "L" else "RGBA" if alpha else "RGB"
    clean = image if image.mode == target else image.convert(target)
    if clean is not image:
        image.close()
    clean = _srgb(clean)
    # A fresh image of the pixels alone: no info, no EXIF, no text chunks can ride along.
    fresh = Image.new(clean.mode, clean.size)
    fresh.paste(clean)
    clean.close()
    return fresh


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    elif fmt == "PNG":
        image.save(out, "PNG", compress_level=6)
    else:
        image.save(out, "WEBP", quality=85, method=4)
    return out.getvalue()


def _write(image: Image.Image, preferred: str) -> Picture:
    """The image encoded as `preferred`, or more densely when that is too large."""
    fmt = "PNG" if preferred == "JPEG" and image.mode == "RGBA" else preferred
    candidates = [fmt]
    if max(image.size) <= WEBP_MAX_SIDE and fmt != "WEBP":
        candidates.append("WEBP")
    if image.mode != "RGBA" and "JPEG" not in candidates:
        candidates.append("JPEG")
    for candidate in candidates:
        data = _encode(image, candidate)
        if len(data) <= MAX_STORED_BYTES:
            return Picture(data, FORMATS[candidate], image.width, image.height)
    raise _refuse("it stays too large once re-encoded")


def prepare(data: bytes) -> Picture:
    """An upload checked, upright, stripped and re-encoded (in its own format when it can)."""
    image = _open(data)
    fmt = image.format or "PNG"
    try:
        pixels = _pixels(image)
    except (OSError, ValueError, MemoryError):
        raise _refuse("it cannot be decoded") from None
    if fmt == "WEBP" and max(pixels.size) > WEBP_MAX_SIDE:
        fmt = "PNG"
    return _write(pixels, fmt)


def shrink(data: bytes, longest: int) -> Picture:
    """A stored picture fitted into `longest` pixels (never enlarged), in its own format."""
    image = _open(data)
    fmt = image.format or "PNG"
    image.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return _write(_pixels(image), fmt)


class PillowPictures:
    """The Pictures codec (domain/images.py), its work run where `run` says."""

    def __init__(self, run: Runner = inline) -> None:
        # Pillow's own guard, process-wide: its warning starts at this many pixels (made an
        # error in _open), its error at twice as many. Set here, by the composition root.
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        self._run = run

    def prepare(self, data: bytes) -> Picture:
        """See prepare()."""
        return self._run(_bound(prepare, data))

    def shrink(self, data: bytes, longest: int) -> Picture:
        """See shrink()."""
        return self._run(lambda: shrink(data, longest))


def _bound(func: Callable[[bytes], Picture], data: bytes) -> Callable[[], Picture]:
    return lambda: func(data)
