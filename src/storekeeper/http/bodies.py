"""Reading JSON request bodies strictly and writing JSON responses."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from flask import Response, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import ClientDisconnected

from storekeeper.domain.errors import Invalid
from storekeeper.http.conditional import Preconditions, etag_of, not_modified
from storekeeper.http.numbers import read_number
from storekeeper.http.problems import ApiError
from storekeeper.http.rendering import render_list
from storekeeper.http.schemas import field_errors

M = TypeVar("M", bound=BaseModel)
MAX_BODY = 1024 * 1024
BODY_CHUNK = 64 * 1024
BODY_DEADLINE_S = 30.0
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


def _check_media_type(allowed: tuple[str, ...]) -> None:
    if request.mimetype not in allowed:
        raise ApiError(415, f"The body must be sent as {' or '.join(allowed)}.")
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.lower().replace("-", "") != "utf8":
        raise ApiError(415, "JSON bodies must be encoded as UTF-8.")


# A JSON escape of a UTF-16 surrogate: only then can a decoded string hold an unpaired one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("an object has the same key twice")
    return found


def _constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def _has_unpaired_surrogate(value: Any) -> bool:
    # A loop, not recursion: the parser allows nesting deeper than a recursive walk could take.
    pending = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, str):
            if _SURROGATE.search(current):
                return True
        elif isinstance(current, dict):
            pending.extend(current)
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)
    return False


def parse_json(data: bytes) -> Any:
    """Parse strict RFC 8259 JSON; numbers are sized before they are converted (exactly).

    The standard library's parser, because it hands each number over as the literal the
    client wrote (see numbers.read_number) and never converts one itself. Its leniencies are
    closed here: NaN and Infinity, duplicate keys, a byte-order mark, unpaired surrogates.
    """
    try:
        text = data.decode("utf-8")  # strict: invalid UTF-8 and encoded surrogates are refused
        value = json.loads(
            text,
            parse_int=read_number,
            parse_float=read_number,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
    except RecursionError:
        raise ApiError(400, "The body is not valid JSON: it is nested too deeply.") from None
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError among them
        raise ApiError(400, f"The body is not valid JSON: {exc}.") from None
    if _SURROGATE_ESCAPE.search(text) and _has_unpaired_surrogate(value):
        raise ApiError(400, "The body is not valid JSON: a string holds an unpaired surrogate.")
    return value


def body_bytes(limit: int = MAX_BODY, too_large: ApiError | None = None) -> bytes:
    """The raw body, at most `limit` bytes; 413 beyond, whether sent with a length or chunked.

    Read once per request, by the pipeline (the idempotency fingerprint and the parser share
    it), in chunks under one deadline: the server bounds each silent read, this bounds a client
    that trickles a byte at a time. A client that does not send the body in time gets a 408.
    """
    refusal = too_large or ApiError(413, "The request body is larger than 1 MiB.")
    if request.content_length is not None and request.content_length > limit:
        raise refusal
    # The app's MAX_CONTENT_LENGTH fits the JSON bodies; an upload declares its own limit.
    request.max_content_length = limit + 1
    deadline = time.monotonic() + BODY_DEADLINE_S
    chunks: list[bytes] = []
    size = 0
    try:
        # Werkzeug stops a chunked body silently at the app's MAX_CONTENT_LENGTH, which is
        # one byte more than allowed: a body that reaches it was too long.
        while chunk := request.stream.read(BODY_CHUNK):
            size += len(chunk)
            if size > limit:
                raise refusal
            if time.monotonic() > deadline:
                raise _body_timeout()
            chunks.append(chunk)
    except (OSError, ClientDisconnected):
        raise _body_timeout() from None
    return b"".join(chunks)


def _body_timeout() -> ApiError:
    # The server drains what is left of the body before reading another request, within
    # its header timeout, and closes the connection when it cannot.
    return ApiError(408, "The request body was not received in time.")


def parse_body(model: type[M], data: bytes, *, merge_patch: bool = False) -> M:
    """A body validated against a model: 415, 400 or 422 when it is not."""
    _check_media_type((JSON, MERGE_PATCH) if merge_patch else (JSON,))
    parsed = parse_json(data)
    try:
        return model.model_validate(parsed)
    except ValidationError as exc:
        raise Invalid(field_errors(exc.errors()), "The body has invalid fields.") from None


def render(model: type[BaseModel], obj: object) -> bytes:
    """The exact JSON representation of a domain object."""
    return model.model_validate(obj, from_attributes=True).model_dump_json().encode() + b"\n"


def respond(
    model: type[BaseModel], obj: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response shaped by an output model, with its strong ETag (304 when it matches)."""
    body = render(model, obj)
    etag = etag_of(body)
    if status == 200 and not_modified(etag):
        return Response(status=304, headers={"ETag": etag})
    response = Response(body, status=status, headers=headers, mimetype=JSON)
    response.headers["ETag"] = etag
    return response


def guard(
    conditions: Preconditions | None,
    model: type[BaseModel],
    load: Callable[[], object | None],
    lock: Callable[[], None],
) -> Callable[[], None] | None:
    """The precondition check a use case runs after its own checks, when the request has one.

    It locks the row, renders the current representation and compares ETags, all inside the
    write transaction: of concurrent writes carrying the same ETag, exactly one passes.
    """
    if conditions is None:
        return None

    def check() -> None:
        lock()
        current = load()
        conditions.check(None if current is None else render(model, current))

    return check


def respond_list(
    model: type[BaseModel], rows: list[Any], headers: dict[str, str] | None = None
) -> Response:
    """A JSON array response shaped by an output model (on rendering.py's fast path)."""
    return Response(render_list(model, rows), status=200, headers=headers, mimetype=JSON)
