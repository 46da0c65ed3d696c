"""File uploads: a declared, bounded body of given media types, raw or as a multipart part.

An operation declares `upload=Upload(...)` in its @operation and takes an `upload` parameter:
the pipeline streams the body within the declaration's own size limit (instead of the
global 1 MiB) and the usual body deadline, then hands the handler an `Uploaded`: the file's
bytes and media type. The OpenAPI document describes the same declaration (openapi.py), so
what is parsed and what is documented cannot drift apart.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

from flask import request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser

from storekeeper.domain.errors import Invalid
from storekeeper.http.problems import ApiError

MULTIPART = "multipart/form-data"
# A multipart body carries its part headers and boundaries besides the file: this much more
# than the file's own limit is read before the part itself is measured against it.
MULTIPART_SLACK = 64 * 1024
# Besides the file, a form may carry a few small fields (a browser's form may add some);
# they are read and ignored, within these bounds.
_FORM_PARTS_MAX = 16
_FORM_FIELDS_BYTES_MAX = 16 * 1024


def size_text(size: int) -> str:
    """A byte count as people read a limit: '10 MiB', '512 KiB', '100 bytes'."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


@dataclass(frozen=True)
class Upload:
    """What an operation accepts as its body: a file of these media types, at most max_bytes.

    With `multipart_field`, a `multipart/form-data` body whose part of that name holds the
    file (its own Content-Type one of `media_types`) is accepted too, as HTML forms send it.
    """

    media_types: tuple[str, ...]
    max_bytes: int
    multipart_field: str | None = None
    description: str = ""
    # A sample file for the document (as text), shown for each way the body may be sent.
    example: str | None = None

    def __post_init__(self) -> None:
        if not self.media_types or MULTIPART in self.media_types:
            raise ValueError("an Upload names its files' media types (multipart is implied)")
        if self.max_bytes <= 0:
            raise ValueError("an Upload's limit is a positive number of bytes")

    @property
    def read_limit(self) -> int:
        """The most bytes of body read: the file, plus a multipart body's framing."""
        return self.max_bytes + (MULTIPART_SLACK if self.multipart_field else 0)

    @property
    def accepted(self) -> tuple[str, ...]:
        """Every media type the body may be sent as."""
        return self.media_types + ((MULTIPART,) if self.multipart_field else ())

    def too_large(self) -> ApiError:
        """The 413 of a file over the limit."""
        return ApiError(413, f"The file is larger than {size_text(self.max_bytes)}.")

    def unsupported(self) -> ApiError:
        """The 415 of a body or part of another media type."""
        return ApiError(415, f"The file must be sent as {' or '.join(self.accepted)}.")


@dataclass(frozen=True)
class Uploaded:
    """A file as received: its bytes (within the declared limit) and its media type."""

    data: bytes
    media_type: str


def check_media_type(spec: Upload) -> None:
    """415 before any byte is read when the body is of none of the accepted types."""
    if request.mimetype not in spec.accepted:
        raise spec.unsupported()


def uploaded(spec: Upload, body: bytes) -> Uploaded:
    """The file of a body read within `spec.read_limit` (bodies.body_bytes)."""
    if request.mimetype != MULTIPART:
        if len(body) > spec.max_bytes:
            raise spec.too_large()
        return Uploaded(body, request.mimetype)
    assert spec.multipart_field is not None  # check_media_type let multipart in only then
    return _part(spec, spec.multipart_field, body)


def _memory(*_args: Any, **_kwargs: Any) -> IO[bytes]:
    # The body is already in memory and bounded: no temporary files for its parts.
    return io.BytesIO()


def _part(spec: Upload, name: str, body: bytes) -> Uploaded:
    boundary = request.mimetype_params.get("boundary", "").encode("latin-1", "replace")
    if not boundary:
        raise ApiError(400, "A multipart body needs a boundary in its Content-Type.")
    parser = MultiPartParser(
        stream_factory=_memory,
        max_form_memory_size=_FORM_FIELDS_BYTES_MAX,
        max_form_parts=_FORM_PARTS_MAX,
    )
    try:
        _form, files = parser.parse(io.BytesIO(body), boundary, len(body))
    except RequestEntityTooLarge:
        raise ApiError(413, "The form has too many or too large fields.") from None
    except (ValueError, HTTPException):
        raise ApiError(400, "The body is not a valid multipart/form-data body.") from None
    found = files.getlist(name)
    if len(found) != 1:
        problem = "is missing" if not found else "is given more than once"
        raise Invalid({name: [f"A file part named `{name}` {problem}."]}, "No file was sent.")
    part = found[0]
    if part.mimetype not in spec.media_types:
        raise spec.unsupported()
    data = part.stream.read()
    if len(data) > spec.max_bytes:
        raise spec.too_large()
    return Uploaded(data, part.mimetype)
