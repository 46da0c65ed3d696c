"""@operation: one declaration per endpoint that documents it and parses what it takes.

The declaration says what the endpoint takes (its query, its body, a token, preconditions)
and answers; the view it makes runs the request's steps (http/pipeline.py) and hands the
handler typed values, by the names of the handler's parameters:

- `query`: the declared query model, validated;  `body`: the declared body model, validated;
- `upload`: the declared file (`upload=Upload(...)`, http/uploads.py) as an `Uploaded`: its
  bytes, read within the declaration's own size limit, and its media type;
- `work`: the unit of work the use case runs in (a write one unless the method is GET), its
  commit also storing the answer under the request's Idempotency-Key;
- `actor`: who calls (`Actor`; `Actor | None` on a public read);  `caller`: the same with
  the token's claims;  `conditions`: the request's If-Match / If-None-Match (None without);
- the path's own parameters, as Flask gives them.

A handler's parameters are checked against its declaration when the module is imported, so
a body the handler reads cannot go undocumented, nor a documented one unread.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import Response
from pydantic import BaseModel

from storekeeper.domain.values import ID_MAX
from storekeeper.http.uploads import Upload
from storekeeper.security import TokenKind

F = TypeVar("F", bound=Callable[..., Response])

# The order people meet the resources in, for /docs.
TAGS = (
    ("Stores", "Stores, owned by the user who creates them."),
    ("Items", "What a store sells: exact prices, quantities, descriptions."),
    ("Tags", "Labels of one store, and the links between its items and its tags."),
    (
        "Teams",
        "A store's team: its owner, managers and staff, and what each role may do "
        '(docs/api.md, "Who may do what").',
    ),
    (
        "Trash",
        "Deleted items, kept in their store's trash for 30 days: listed, restored, then "
        "purged by the worker.",
    ),
    (
        "History",
        "A store's history: every change of its data, who made it and in which request.",
    ),
    (
        "Webhooks",
        "A store's webhooks: its events POSTed to a URL as they happen, signed (Standard "
        "Webhooks), retried, and each attempt logged.",
    ),
    ("Users", "Accounts and their sessions: register, log in, refresh, log out."),
    (
        "Accounts",
        "An account's own care: its email address and its verification, password change and "
        "reset by email.",
    ),
    ("Jobs", "Background work a request started (emails, later imports), and how it went."),
    ("Operations", "Health, readiness, metrics and this document."),
)
# What the pipeline can hand a handler, besides the path's parameters.
INPUTS = frozenset({"query", "body", "upload", "work", "actor", "caller", "conditions"})


@dataclass(frozen=True)
class Representation:
    """Another media type an answer can be negotiated as: what it holds, and a sample."""

    description: str
    example: str


@dataclass(frozen=True)
class Operation:
    """What an endpoint takes and answers: for the pipeline and the OpenAPI document."""

    summary: str
    description: str
    tag: str
    status: int
    response: type[BaseModel] | None
    many: bool
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    auth: bool
    merge_patch: bool
    errors: tuple[int, ...]
    also: dict[int, str] = field(default_factory=dict)
    error_text: dict[int, str] = field(default_factory=dict)
    token_kind: TokenKind = "access"  # noqa: S105 - a token type, not a secret
    creates: str | None = None
    etag: bool = True
    conditional: bool = False
    id_max: int = ID_MAX
    idempotency_key: bool = True
    upload: Upload | None = None
    # The media types of a success that is not JSON (a photo): documented as bytes.
    produces: tuple[str, ...] = ()
    # Whether the creation of the resource above links here (openapi._add_links): not for a
    # part a new resource lacks until it is made (an item's photo).
    linked: bool = True
    # A JSON body the client may leave out altogether (no body, no Content-Type): it is then
    # the body model's defaults, as if `{}` were sent (POST /item/{id}/restore).
    body_optional: bool = False
    # Other media types the success answer can be negotiated as (Accept), with what they hold.
    alternatives: dict[str, Representation] = field(default_factory=dict)
    # Which of INPUTS the handler takes (from its signature).
    inputs: frozenset[str] = frozenset()
    # Set per method when the document is built: a POST that honours Idempotency-Key, a public GET.
    idempotent: bool = False
    reads: bool = False


def _check_inputs(func: Callable[..., Any], op: Operation) -> frozenset[str]:
    """The pipeline inputs a handler takes; TypeError when they disagree with its declaration."""
    names = frozenset(inspect.signature(func).parameters) & INPUTS
    where = f"{func.__module__}.{func.__qualname__}"
    for name, declared in (
        ("body", op.body is not None),
        ("query", op.query is not None),
        ("upload", op.upload is not None),
        ("conditions", op.conditional),
    ):
        if (name in names) != declared:
            raise TypeError(f"{where}: takes `{name}` exactly when its @operation declares it")
    if "caller" in names and not op.auth:
        raise TypeError(f"{where}: a `caller` is only sure on an operation with auth=True")
    return names


def operation(
    tag: str,
    *,
    status: int = 200,
    response: type[BaseModel] | None = None,
    many: bool = False,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    auth: bool = False,
    merge_patch: bool = False,
    errors: tuple[int, ...] = (),
    also: dict[int, str] | None = None,
    error_text: dict[int, str] | None = None,
    token_kind: TokenKind = "access",  # noqa: S107
    creates: str | None = None,
    etag: bool = True,
    conditional: bool = False,
    id_max: int = ID_MAX,
    idempotency_key: bool = True,
    upload: Upload | None = None,
    produces: tuple[str, ...] = (),
    linked: bool = True,
    body_optional: bool = False,
    alternatives: dict[str, Representation] | None = None,
) -> Callable[[F], F]:
    """Declare an endpoint; its docstring gives the summary (first line) and description.

    `auth=True` makes the request need a valid bearer token of kind `token_kind`.
    `conditional=True` hands the handler the request's preconditions (for bodies.guard) and
    documents If-Match, If-None-Match and the 412 together.

    `creates` is the path of what a success creates, e.g. "/tag/{id}": each of its answers links
    to every operation on that resource and below it (openapi._add_links). Its parameters are
    the created resource's `id` from the answer body, or, when it is the operation's own path
    (PUT-create, linking an item and a tag), the request's own path parameters.

    `error_text` says what an error status means for this operation, where the document's
    general text for it (openapi._ERROR_TEXT) says too little.

    `id_max` is the largest `{id}` the operation takes (PUT creates only ids a client may choose).

    `idempotency_key=False` makes a POST ignore `Idempotency-Key` (http/idempotency.py): for
    answers that create nothing and must never be stored, such as tokens.

    `upload=Upload(media_types, max_bytes, multipart_field)` makes the body a file rather than
    JSON (http/uploads.py): read within its own limit (413), of its media types (415), raw or as
    the named part of a multipart/form-data body (422 without it), handed over as `upload`.
    `produces` names the media types of an answer that is not JSON (its bytes, documented so).
    `linked=False`: the links of a create above (see `creates`) leave this operation out, as a
    new resource has no such part yet (GET of an item's photo: 404 until one is set).

    `alternatives` names other media types the success answer comes in when the request's
    Accept prefers them (the handler negotiates), each with what it holds, for the document.
    """
    if tag not in dict(TAGS):
        raise ValueError(f"{tag!r} is none of the document's tags: add it to TAGS")
    if 412 in errors:
        # One way to say it, so the headers cannot be documented without the status or back.
        raise ValueError("declare conditional=True rather than 412 in errors")
    if upload is not None and body is not None:
        raise ValueError("an operation takes a JSON body or an upload, not both")

    def declare(func: F) -> F:
        # The pipeline imports the layers below it; imported here, when the app is assembled.
        from storekeeper.http.pipeline import run

        doc = (func.__doc__ or func.__name__).strip().split("\n", 1)
        op = Operation(
            summary=doc[0].strip(),
            description=doc[1].strip() if len(doc) > 1 else "",
            tag=tag,
            status=status,
            response=response,
            many=many,
            body=body,
            query=query,
            auth=auth,
            merge_patch=merge_patch,
            errors=errors,
            also=also or {},
            error_text=error_text or {},
            token_kind=token_kind,
            creates=creates,
            etag=etag,
            conditional=conditional,
            id_max=id_max,
            idempotency_key=idempotency_key,
            upload=upload,
            produces=produces,
            linked=linked,
            body_optional=body_optional,
            alternatives=alternatives or {},
        )
        op = Operation(**{**op.__dict__, "inputs": _check_inputs(func, op)})

        @wraps(func)
        def view(**path: Any) -> Response:
            return run(op, func, path)

        view.__operation__ = op  # type: ignore[attr-defined]
        return view  # type: ignore[return-value]

    return declare


def operation_of(view: object) -> Operation | None:
    """The declaration @operation made for a view, if any."""
    found: Operation | None = getattr(view, "__operation__", None)
    return found
