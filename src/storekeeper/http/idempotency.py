"""Idempotency-Key on POST: replay the first answer, refuse a different or concurrent request."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from flask import Response, request

from storekeeper.domain.errors import Conflict, Invalid
from storekeeper.domain.model import Outcome
from storekeeper.domain.ports import IDEMPOTENCY_KEYS, UnitsOfWork, Work
from storekeeper.http.problems import ApiError

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# Answers that bind nothing: the request was refused before doing anything, or failed.
_UNBOUND = {400, 401, 408, 413, 415, 422, 429}
_REPLAYED_HEADERS = ("Location", "ETag", "Content-Type")


@dataclass(frozen=True, slots=True)
class Key:
    """A well-formed Idempotency-Key of a POST that honours one."""

    value: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """A key this request holds (by the caller's user id, 0 without one) until it answers."""

    user_id: int
    key: str


def carries_key(honoured: bool) -> bool:
    """Whether the request is a POST with a key, to an operation that honours one."""
    return honoured and request.method == "POST" and HEADER in request.headers


def requested_key() -> Key:
    """The request's key (carries_key said there is one); 400 when it is malformed."""
    key = request.headers[HEADER]
    if not _KEY.fullmatch(key):
        raise ApiError(400, f"{HEADER} must be 1 to 255 visible ASCII characters.")
    return Key(key)


def _fingerprint(body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.mimetype):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


def claim(work: Work, user_id: int, key: Key, body: bytes) -> Claimed | Response:
    """Claim the key for this request, or the first answer given with it (a replay)."""
    found = work[IDEMPOTENCY_KEYS].claim(user_id, key.value, _fingerprint(body))
    if found.outcome is Outcome.MISMATCH:
        raise Invalid({HEADER: ["was already used with a different request"]}, "Key reused.")
    if found.outcome is Outcome.IN_FLIGHT:
        raise Conflict(f"A request with this {HEADER} is still in flight; retry later.")
    if found.outcome is Outcome.REPLAY:
        response = Response(found.body, status=found.status, headers=found.headers)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    return Claimed(user_id, key.value)


def _stored_headers(response: Response) -> dict[str, str]:
    return {name: response.headers[name] for name in _REPLAYED_HEADERS if name in response.headers}


def complete(work: Work, claimed: Claimed, response: Response) -> None:
    """Store the answer under the key, in the transaction of what the request did."""
    work[IDEMPOTENCY_KEYS].complete(
        claimed.user_id,
        claimed.key,
        response.status_code,
        _stored_headers(response),
        response.get_data(),
    )


def settle(units: UnitsOfWork, claimed: Claimed, response: Response) -> None:
    """After a use case that stored nothing itself: keep its answer, or free the key.

    A refusal before anything was done (a bad body, a 401) and a failure (5xx) bind nothing:
    a retry with the key is processed afresh. Any other answer (a 404, a 409) is kept.
    """
    with units(write=True) as work:
        status = response.status_code
        if status in _UNBOUND or status >= 500:
            work[IDEMPOTENCY_KEYS].release(claimed.user_id, claimed.key)
        else:
            complete(work, claimed, response)
