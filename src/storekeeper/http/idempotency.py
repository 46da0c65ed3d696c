"""Idempotency-Key on POST: replay the first answer, refuse a different or concurrent request."""

from __future__ import annotations

import hashlib
import re

from flask import Response, request

from storekeeper.domain.errors import Conflict, Invalid
from storekeeper.domain.model import Outcome
from storekeeper.domain.ports import IDEMPOTENCY_KEYS, Work
from storekeeper.http.bodies import body_bytes
from storekeeper.http.context import unit_of_work
from storekeeper.http.openapi import current_operation
from storekeeper.http.problems import ApiError
from storekeeper.http.state import current, state

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
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
    if key is None or request.method != "POST":
        return None
    op = current_operation()
    if op is None or not op.idempotency_key:
        return None
    if not _KEY.fullmatch(key):
        raise ApiError(400, f"{HEADER} must be 1 to 255 visible ASCII characters.")
    caller = state().caller
    user_id = caller.actor.user_id if caller else 0
    fingerprint = _fingerprint()
    with unit_of_work(write=True) as work:
        claim = work[IDEMPOTENCY_KEYS].claim(user_id, key, fingerprint)
    if claim.outcome is Outcome.MISMATCH:
        raise Invalid({HEADER: ["was already used with a different request"]}, "Key reused.")
    if claim.outcome is Outcome.IN_FLIGHT:
        raise Conflict(f"A request with this {HEADER} is still in flight; retry later.")
    if claim.outcome is Outcome.REPLAY:
        response = Response(claim.body, status=claim.status, headers=claim.headers)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    state().idempotency = (user_id, key)
    return None


def bind(work: Work, response: Response) -> Response:
    """Store a successful answer in the same transaction as what the request created."""
    current_state = state()
    if current_state.idempotency is not None:
        work[IDEMPOTENCY_KEYS].complete(
            *current_state.idempotency,
            response.status_code,
            _stored_headers(response),
            response.get_data(),
        )
        current_state.idempotency_bound = True
    return response


def finish(response: Response) -> Response:
    """After a POST with a claim: release it when nothing was bound, else keep the answer."""
    current_state = current()
    if current_state is None or current_state.idempotency is None:
        return response
    claim, current_state.idempotency = current_state.idempotency, None
    if current_state.idempotency_bound:
        return response
    status = response.status_code
    with unit_of_work(write=True) as work:
        keys = work[IDEMPOTENCY_KEYS]
        if status in _UNBOUND or status >= 500:
            keys.release(*claim)
        else:
            keys.complete(*claim, status, _stored_headers(response), response.get_data())
    return response
