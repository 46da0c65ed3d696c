"""Images made in the tests with Pillow: plain ones, and ones carrying what must not survive."""

from __future__ import annotations

import io

from PIL import Image, PngImagePlugin

# EXIF tags: Orientation, and the GPS block's pointer.
ORIENTATION = 0x0112
GPS_IFD = 0x8825


def picture(
    width: int = 64,
    height: int = 48,
    fmt: str = "JPEG",
    color: tuple[int, int, int] = (200, 30, 30),
) -> bytes:
    """A plain image of one colour, with a darker left half (to see orientation)."""
    image = Image.new("RGB", (width, height), color)
    image.paste((10, 10, 10), (0, 0, width // 2, height))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def jpeg_with_metadata(width: int = 80, height: int = 40, orientation: int = 6) -> bytes:
    """A JPEG with EXIF (an orientation, a camera, a GPS position), a comment and XMP."""
    image = Image.new("RGB", (width, height), (0, 120, 255))
    image.paste((255, 255, 0), (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "SecretCam"  # Make
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    out = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-xmp</x:xmpmeta>'
    image.save(out, "JPEG", exif=exif, comment=b"secret-comment", xmp=xmp)
    return out.getvalue()


def png_with_text() -> bytes:
    """A PNG with text chunks (tEXt and iTXt)."""
    image = Image.new("RGBA", (30, 20), (0, 200, 0, 128))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-author")
    info.add_itxt("Comment", "secret-itxt")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def animated(fmt: str = "PNG") -> bytes:
    """An animation of two frames (APNG or WebP)."""
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def bomb(side: int = 7000) -> bytes:
    """A small PNG that decodes to more than 40 megapixels (side x side, one colour)."""
    image = Image.new("1", (side, side), 0)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    """An image opened back (loaded)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
