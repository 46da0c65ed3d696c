"""Strong ETags, If-None-Match (304) on reads and If-Match / If-None-Match (412) on writes."""

from __future__ import annotations

import base64
import hashlib

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


def has_preconditions() -> bool:
    """Whether the write carries If-Match or If-None-Match."""
    return "If-Match" in request.headers or "If-None-Match" in request.headers


def check_preconditions(current: bytes | None) -> None:
    """412 unless the current representation (None when there is none) meets the conditions."""
    etag = None if current is None else etag_of(current)
    if_match = request.headers.get("If-Match")
    if if_match is not None and not _strong_match(if_match, etag):
        raise ApiError(412, "The resource has changed since the given ETag; nothing was changed.")
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and _weak_match(if_none_match, etag):
        raise ApiError(412, "The resource already exists in the given state; nothing was changed.")
