"""Query parameters, keyset cursors and Link headers: written once, used by every list."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

import orjson
from flask import Response, current_app, request
from pydantic import BaseModel, ValidationError

from storekeeper.domain.errors import Invalid
from storekeeper.domain.model import ListQuery, Page
from storekeeper.http.bodies import respond_list
from storekeeper.http.schemas import ListParams, field_errors

P = TypeVar("P", bound=BaseModel)
_SIG_BYTES = 16


def query_params(model: type[P]) -> P:
    """Known query parameters validated (each at most once); unknown ones are ignored."""
    data: dict[str, str] = {}
    twice: dict[str, list[str]] = {}
    for name in model.model_fields:
        given = request.args.getlist(name)
        if len(given) > 1:
            twice[name] = ["must be given at most once"]
        elif given:
            data[name] = given[0]
    try:
        params = model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(
            {**field_errors(exc.errors()), **twice}, "Invalid query parameters."
        ) from None
    if twice:
        raise Invalid(twice, "Invalid query parameters.")
    return params


def _key() -> bytes:
    secret: str = current_app.config["STOREKEEPER_SETTINGS"].secret_key
    return hmac.new(secret.encode(), b"storekeeper list cursor", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(sort: str, after: tuple[Any, int]) -> str:
    """An opaque, signed position in a list."""
    payload = orjson.dumps([sort, after[0], after[1]])
    signature = hmac.new(_key(), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    return f"{_b64(payload)}.{_b64(signature)}"


def _bad_cursor() -> Invalid:
    return Invalid.field("cursor", "is not a cursor this list gave out")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    """The position a cursor stands for; 422 when it was altered or belongs to another sort."""
    try:
        payload_text, signature_text = cursor.split(".")
        payload, signature = _unb64(payload_text), _unb64(signature_text)
    except (ValueError, binascii.Error):
        raise _bad_cursor() from None
    expected = hmac.new(_key(), payload, hashlib.sha256).digest()[:_SIG_BYTES]
    if not hmac.compare_digest(signature, expected):
        raise _bad_cursor()
    cursor_sort, value, last_id = orjson.loads(payload)
    if cursor_sort != sort:
        raise Invalid.field("cursor", "was made for another sort order")
    if sort.lstrip("-") == "created_at":
        datetime.fromisoformat(value)
    return value, int(last_id)


def list_query(params: ListParams, **filters: Any) -> ListQuery:
    """The domain's list query from validated parameters."""
    sort: str = getattr(params, "sort", "id")
    after = decode_cursor(params.cursor, sort) if params.cursor is not None else None
    return ListQuery(
        sort=sort.lstrip("-"),  # type: ignore[arg-type]
        descending=sort.startswith("-"),
        limit=params.limit,
        after=after,
        **filters,
    )


def respond_page(model: type[BaseModel], page: Page[Any], params: ListParams) -> Response:
    """A list response with a Link to the next page when there is one."""
    headers = {}
    if page.next_after is not None:
        sort: str = getattr(params, "sort", "id")
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "cursor"]
        args.append(("cursor", encode_cursor(sort, page.next_after)))
        headers["Link"] = f'<{request.base_url}?{urlencode(args)}>; rel="next"'
    return respond_list(model, page.rows, headers)
