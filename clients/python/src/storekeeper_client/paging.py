"""One page of a list, and the way to the next one (the `Link: rel="next"` header)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """The rows of one page; `next_url` is the absolute URL of the next page, None on the last."""

    items: list[T]
    next_url: str | None


def next_url(response: httpx.Response) -> str | None:
    """The URL the Link header names as rel="next", if any."""
    link = response.links.get("next")
    return link.get("url") if link else None


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """A resource as read, with the ETag that names this exact version of it.

    Send `etag` as `if_match` to change the resource only if nobody changed it since, or give
    the whole value back as `cached` to read it again cheaply (304 when unchanged).
    """

    value: T
    etag: str
