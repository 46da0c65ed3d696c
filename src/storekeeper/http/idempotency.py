"""Idempotency-Key on POST: replay the first answer, refuse a different or concurrent request."""

from __future__ import annotations

import hashlib
import re

from flask import Response, current_app, g, request

from storekeeper.db.idempotency import IdempotencyRepository, Outcome
from storekeeper.domain.errors import Conflict, Invalid
from storekeeper.http.bodies import body_bytes
from storekeeper.http.context import Work, database, request_claims
from storekeeper.http.problems import ApiError

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# Token answers are secrets and create nothing: they are never stored, so the header is ignored.
# The console's session endpoints (http/console.py) answer with tokens or cookies too.
NOT_STORED = {
    "users.login",
    "users.refresh",
    "console.open_session",
    "console.session_token",
    "console.close_session",
}
# Answers that bind nothing: the request was refused before doing anything, or failed.
_UNBOUND = {400, 401, 408, 413, 415, 422, 429}
_REPLAYED_HEADERS = ("Location", "ETag")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.mimetype):
        digest.update(part.encode() + b"\0")
    digest.update(body_bytes())
    return digest.hexdigest()


def _stored_headers(response: Response) -> dict[str, str]:
    names = (*_REPLAYED_HEADERS, "Content-Type")
    return {name: response.headers[name] for name in names if name in response.headers}


def begin() -> Response | None:
    """Before a POST runs: claim its key, or answer from the first request with the same key."""
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST" or request.endpoint in NOT_STORED:
        return None
    if request.endpoint not in current_app.view_functions:
        return None
    if not _KEY.fullmatch(key):
        raise ApiError(400, f"{HEADER} must be 1 to 255 visible ASCII characters.")
    claims = request_claims()
    user_id = claims.user_id if claims else 0
    fingerprint = _fingerprint()
    with database().unit_of_work(write=True) as conn:
        claim = IdempotencyRepository(conn).claim(user_id, key, fingerprint)
    if claim.outcome is Outcome.MISMATCH:
        raise Invalid({HEADER: ["was already used with a different request"]}, "Key reused.")
    if claim.outcome is Outcome.IN_FLIGHT:
        raise Conflict(f"A request with this {HEADER} is still in flight; retry later.")
    if claim.outcome is Outcome.REPLAY:
        response = Response(claim.body, status=claim.status, headers=claim.headers)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    g.idempotency = (user_id, key)
    return None


def bind(work: Work, response: Response) -> Response:
    """Store a successful answer in the same transaction as what the request created."""
    claim: tuple[int, str] | None = g.get("idempotency")
    if claim is not None:
        work.keys.complete(
            *claim, response.status_code, _stored_headers(response), response.get_data()
        )
        g.idempotency_bound = True
    return response


def finish(response: Response) -> Response:
    """After a POST with a claim: release it when nothing was bound, else keep the answer."""
    claim: tuple[int, str] | None = g.pop("idempotency", None)
    if claim is None or g.get("idempotency_bound"):
        return response
    status = response.status_code
    with database().unit_of_work(write=True) as conn:
        keys = IdempotencyRepository(conn)
        if status in _UNBOUND or status >= 500:
            keys.release(*claim)
        else:
            keys.complete(*claim, status, _stored_headers(response), response.get_data())
    return response
