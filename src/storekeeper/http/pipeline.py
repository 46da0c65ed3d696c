"""A request's life, every step in order, in one place.

Every request (app.py installs `start`, `finish` and `end` as its hooks):
 1. `start`: its id (the client's X-Request-ID when well formed) and start time; the one
    pooled connection its units of work will share, checked out by the first of them; its
    client's request budgets (http/budgets.py: the user a verified bearer token names, else
    the address; a write counts in both the general and the write budget), refused with 429
    from memory, so before any unit of work and whatever the URL (every path but /health,
    /ready and /metrics); then one URL per resource (no `//`, `.` or `..`, ids in range).
Every declared operation (the view @operation makes calls `run`):
 2. token: the bearer token's signature, expiry and kind, as the declaration says (401);
 3. limits: a body read once, within its size and time (413, 408), before any connection is
    taken, so a client slow to send it holds none; an upload's media type is checked before
    (415) and its own limit applies (http/uploads.py);
 4. identity and claim: the token's session checked (401) and, for a POST with an
    Idempotency-Key, the key claimed in the same transaction, or its first answer replayed;
 5. parse: query (422) and body (415, 400, 422) validated against the declared models, or
    the upload's file taken out of its body (raw, or a multipart part: 400, 413, 415, 422);
 6. unit of work: the use case, its answer shaped (ETag, 304) and, under a claimed key, stored
    with it, all in one transaction: an idempotent POST takes two (claim, then use case);
 7. a claim whose use case was refused is settled: the refusal kept, or the key freed;
Every request:
 8. `finish`: the RateLimit header fields, security headers, the access log line, the
    request's metrics; then `end` gives the connection back, before the answer is sent.
Errors raised anywhere become problem+json in http/problems.py, and step 8 still runs.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flask import Response, abort, request

from storekeeper.domain.values import ID_MAX
from storekeeper.http import budgets, problems
from storekeeper.http.bodies import body_bytes, parse_body
from storekeeper.http.conditional import preconditions
from storekeeper.http.context import services
from storekeeper.http.idempotency import (
    Claimed,
    carries_key,
    claim,
    complete,
    requested_key,
    settle,
)
from storekeeper.http.identity import Caller, Token, verify_token
from storekeeper.http.operations import Operation
from storekeeper.http.paging import query_params
from storekeeper.http.state import begin, current
from storekeeper.http.uploads import check_media_type, uploaded
from storekeeper.logs import log_request
from storekeeper.metrics import UNMATCHED_ROUTE
from storekeeper.services import Services

_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
_READS = ("GET", "HEAD")


def canonical_path(path: str) -> bool:
    """Whether a path is written the one way a route spells it: no empty or dot segments.

    The router alone would not say: Werkzeug strips the leading slashes of a path before
    matching (so `//store/1` is the store) and redirects `/store//1` to `/store/1`, giving
    one resource several URLs. A trailing slash is left to the router's strict rules.
    """
    segments = path.split("/")[1:]
    return (
        path.startswith("/")
        and "" not in segments[:-1]
        and "." not in segments
        and ".." not in segments
    )


def start() -> None:
    """Step 1, for every request."""
    given = request.headers.get("X-Request-ID")
    begin(given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex)
    services().units.hold()
    budgets.check()
    # The path as the server handed it over, before any routing clean-up: a second spelling
    # of a URL names nothing.
    if not canonical_path(request.environ.get("PATH_INFO") or "/"):
        abort(404)
    # Past the 64-bit range a path names nothing; checked here rather than in the converter,
    # where a refusal would make the router answer 405 instead of 404.
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value > ID_MAX:
            abort(404)


def run(op: Operation, handler: Callable[..., Response], path: dict[str, Any]) -> Response:
    """Steps 2 to 7 for one declared operation."""
    found = services()
    token = verify_token(found.tokens, op.auth, op.token_kind)
    body = b"" if request.method in _READS else _read_body(op)
    caller: Caller | None = None
    claimed: Claimed | None = None
    if carries_key(op.idempotency_key):
        with found.units(write=True) as work:
            caller = _authenticate(token, work)
            answer = claim(work, _user_id(caller), requested_key(), _sent(op, body))
        if isinstance(answer, Response):
            return answer
        claimed = answer
    try:
        return _use_case(op, handler, path, found, token, caller, body, claimed)
    except Exception as exc:
        refusal = problems.answer_for(exc)
        if claimed is None or refusal is None:
            raise
        settle(found.units, claimed, refusal)
        return refusal


def _use_case(
    op: Operation,
    handler: Callable[..., Response],
    path: dict[str, Any],
    found: Services,
    token: Token | None,
    caller: Caller | None,
    body: bytes,
    claimed: Claimed | None,
) -> Response:
    """Steps 4 to 6: identity (unless the claim found it), inputs, the handler in its work."""
    if "work" not in op.inputs:
        if caller is None and token is not None:
            with found.units() as work:
                caller = _authenticate(token, work)
        response = handler(**path, **_inputs(op, caller, body))
        if claimed is not None:
            settle(found.units, claimed, response)
        return response
    with found.units(write=request.method not in _READS) as work:
        if caller is None:
            caller = _authenticate(token, work)
        response = handler(**path, **_inputs(op, caller, body), work=work)
        if claimed is not None:
            complete(work, claimed, response)
    return response


def _sent(op: Operation, body: bytes) -> bytes:
    """What an Idempotency-Key binds: the body, or for an upload the file and its type.

    A multipart body's boundary is chosen anew by each send (a browser's retry, an HTTP
    library's), so the same file sent again is other bytes: fingerprinting the raw body would
    make an honest retry a 422. A malformed upload is refused here, before anything is claimed.
    """
    if op.upload is None:
        return body
    file = uploaded(op.upload, body)
    return file.media_type.encode() + b"\0" + file.data


def _read_body(op: Operation) -> bytes:
    """Step 3: the body, within its limit (an upload's own, after its media type is checked)."""
    if op.upload is None:
        return body_bytes()
    check_media_type(op.upload)
    return body_bytes(op.upload.read_limit, op.upload.too_large())


def _authenticate(token: Token | None, work: Any) -> Caller | None:
    if token is None:
        return None
    caller = token.authenticate(work)
    state = current()
    if state is not None:
        state.user_id = caller.actor.user_id
        # The request's id travels with its actor into every use case: the history records
        # it with each change (domain/events.py).
        actor = replace(caller.actor, request_id=state.request_id)
        caller = replace(caller, actor=actor)
    return caller


def _user_id(caller: Caller | None) -> int:
    return caller.actor.user_id if caller else 0


def _inputs(op: Operation, caller: Caller | None, body: bytes) -> dict[str, Any]:
    """The parsed, checked values the handler's signature asks for (operations.INPUTS)."""
    inputs: dict[str, Any] = {}
    wanted = op.inputs
    if "actor" in wanted:
        inputs["actor"] = caller.actor if caller else None
    if "caller" in wanted:
        inputs["caller"] = caller
    if op.query is not None:
        inputs["query"] = query_params(op.query)
    if op.body is not None and op.body_optional and not body:
        inputs["body"] = op.body.model_validate({})
    elif op.body is not None:
        inputs["body"] = parse_body(op.body, body, merge_patch=op.merge_patch)
    if op.upload is not None:
        inputs["upload"] = uploaded(op.upload, body)
    if op.conditional:
        inputs["conditions"] = preconditions()
    return inputs


# API answers are data, never documents: nothing in them may load, run or be framed.
_API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The docs page is Swagger UI from the package's own assets, with one inline start-up script.
_DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def finish(response: Response, page_csp: Callable[[str], str | None]) -> Response:
    """Step 8, for every request: headers, the log line and the metrics."""
    state = current()
    request_id = state.request_id if state else uuid.uuid4().hex
    budgets.add_headers(response)
    headers = response.headers
    headers["X-Request-ID"] = request_id
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    docs = request.path.startswith("/docs")
    headers["Content-Security-Policy"] = _DOCS_CSP if docs else page_csp(request.path) or _API_CSP
    seconds = time.perf_counter() - state.started if state else 0.0
    route = request.url_rule.rule if request.url_rule is not None else None
    services().metrics.observe(request.method, route, response.status_code, seconds)
    user_id = state.user_id if state else None
    log_request(request_id, route or UNMATCHED_ROUTE, response.status_code, seconds, user_id)
    return response


def end(_error: BaseException | None) -> None:
    """After the answer is made and before it is sent, whatever happened: the connection back."""
    services().units.release()
