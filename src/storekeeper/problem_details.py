"""The body of a problem+json answer (RFC 9457): one renderer for the app and the server alike."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

import orjson

PROBLEM_JSON = "application/problem+json"


def problem_body(
    status: int, detail: str, field_errors: Mapping[str, list[str]] | None = None
) -> bytes:
    """A problem's JSON: status, the status's phrase as title, detail, any field errors."""
    body: dict[str, object] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if field_errors is not None:
        body["errors"] = field_errors
    return orjson.dumps(body) + b"\n"
