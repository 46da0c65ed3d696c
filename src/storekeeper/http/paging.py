"""Query parameters, keyset cursors and Link headers: written once, used by every list."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import orjson
from flask import Response, request
from pydantic import BaseModel, ValidationError

from storekeeper.domain.errors import Invalid
from storekeeper.domain.model import Page, PageRequest
from storekeeper.http.bodies import respond_list
from storekeeper.http.context import services
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
    secret = services().settings.secret_key
    # v2: cursors are signed together with their list's scope (see _scope); v1 cursors, signed
    # without it, no longer verify.
    return hmac.new(secret.encode(), b"storekeeper list cursor v2", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scope(params: ListParams) -> bytes:
    """The list a cursor belongs to: its path and every parameter that decides its rows' order.

    A position only means something in the list that produced it: after `/item?sort=price`'s
    (price, id) key, `/store` or another sort or filter set would skip or repeat rows. The
    validated values are bound (`min_price=1` and `min_price=1.00` are one list); `limit` is
    not, since a keyset position holds for any page size.
    """
    shape = params.model_dump(mode="json", exclude={"limit", "cursor"})
    return orjson.dumps([request.path, shape], option=orjson.OPT_SORT_KEYS)


def _sign(scope: bytes, payload: bytes) -> bytes:
    # orjson escapes control characters, so the NUL cannot occur in a scope: the message
    # splits one way only.
    message = scope + b"\0" + payload
    return hmac.new(_key(), message, hashlib.sha256).digest()[:_SIG_BYTES]


def encode_cursor(params: ListParams, after: tuple[Any, int]) -> str:
    """An opaque position in a list, signed together with that list's scope."""
    payload = orjson.dumps([after[0], after[1]])
    return f"{_b64(payload)}.{_b64(_sign(_scope(params), payload))}"


def _bad_cursor() -> Invalid:
    return Invalid.field("cursor", "is not a cursor this list gave out")


def decode_cursor(params: ListParams) -> tuple[Any, int] | None:
    """The position the request's cursor stands for; 422 when altered or another list's."""
    if params.cursor is None:
        return None
    try:
        payload_text, signature_text = params.cursor.split(".")
        payload, signature = _unb64(payload_text), _unb64(signature_text)
    except (ValueError, binascii.Error):
        raise _bad_cursor() from None
    if not hmac.compare_digest(signature, _sign(_scope(params), payload)):
        raise _bad_cursor()
    try:
        value, last_id = orjson.loads(payload)
        sort = getattr(params, "sort", "id").lstrip("-")
        if sort == "created_at":
            datetime.fromisoformat(value)
        if sort == "relevance" and type(value) is not int:  # an exact integer rank
            raise ValueError("not a rank")
        return value, int(last_id)
    except (ValueError, TypeError):  # signed by us, so only a changed format lands here
        raise _bad_cursor() from None


def page_request(params: ListParams) -> PageRequest[Any]:
    """Which page the validated parameters ask for: sort, direction, size and position."""
    sort: str = getattr(params, "sort", "id")
    return PageRequest(
        sort=sort.lstrip("-"),
        descending=sort.startswith("-"),
        limit=params.limit,
        after=decode_cursor(params),
    )


def next_url(params: ListParams, after: tuple[Any, int]) -> str:
    """The absolute URL of the page after `after`, with the request's other parameters.

    The origin is the configured public one, never the request's Host header: a client (or
    anyone who can poison a cache in front of us) could otherwise point other clients' next
    pages at a host of its choosing.
    """
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "cursor"]
    args.append(("cursor", encode_cursor(params, after)))
    path = quote(request.script_root + request.path)
    return f"{services().settings.public_origin}{path}?{urlencode(args)}"


def _links(page: Page[Any], params: ListParams) -> dict[str, str]:
    if page.next_after is None:
        return {}
    return {"Link": f'<{next_url(params, page.next_after)}>; rel="next"'}


def respond_page(model: type[BaseModel], page: Page[Any], params: ListParams) -> Response:
    """A list response with a Link to the next page when there is one."""
    return respond_list(model, page.rows, _links(page, params))
