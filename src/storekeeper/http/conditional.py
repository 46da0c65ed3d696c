"""Strong ETags, If-None-Match (304) on reads and If-Match / If-None-Match (412) on writes."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from flask import request

from storekeeper.http.problems import ApiError


def etag_of(body: bytes) -> str:
    """A strong validator: a digest of the exact representation."""
    digest = hashlib.blake2b(body, digest_size=16).digest()
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode() + '"'


def _tags(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def _weak_match(header: str, etag: str | None) -> bool:
    if etag is None:
        return False
    tags = _tags(header)
    return "*" in tags or etag in [t.removeprefix("W/") for t in tags]


def _strong_match(header: str, etag: str | None) -> bool:
    if etag is None:
        return False
    tags = _tags(header)
    return "*" in tags or etag in tags


def not_modified(etag: str) -> bool:
    """Whether a GET or HEAD may be answered 304 (weak comparison, RFC 9110 13.1.2)."""
    header = request.headers.get("If-None-Match")
    return header is not None and request.method in ("GET", "HEAD") and _weak_match(header, etag)


_CHANGED = "The resource has changed since the given ETag; nothing was changed."
_EXISTS = "The resource already exists in the given state; nothing was changed."


@dataclass(frozen=True, slots=True)
class Preconditions:
    """A write's If-Match and If-None-Match headers (at least one of them is given)."""

    if_match: str | None
    if_none_match: str | None

    def check(self, current: bytes | None) -> None:
        """412 unless the current representation (None when there is none) meets them."""
        self.check_etag(None if current is None else etag_of(current))

    def check_etag(self, etag: str | None) -> None:
        """412 unless the current ETag (None when there is no representation) meets them: for
        a resource whose ETag is not a digest of a JSON rendering (a photo's content hash)."""
        if self.if_match is not None and not _strong_match(self.if_match, etag):
            raise ApiError(412, _CHANGED)
        if self.if_none_match is not None and _weak_match(self.if_none_match, etag):
            raise ApiError(412, _EXISTS)


def preconditions() -> Preconditions | None:
    """The request's preconditions; None when it carries neither header."""
    if_match = request.headers.get("If-Match")
    if_none_match = request.headers.get("If-None-Match")
    if if_match is None and if_none_match is None:
        return None
    return Preconditions(if_match, if_none_match)
