"""The one place that turns errors into application/problem+json responses."""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from storekeeper.domain import errors
from storekeeper.problem_details import PROBLEM_JSON, problem_body

RETRY_AFTER_S = "5"
log = logging.getLogger("storekeeper.errors")

_STATUS = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Forbidden: 403,
    errors.Unauthenticated: 401,
    errors.Invalid: 422,
    errors.TooLarge: 413,
    errors.TooManyAttempts: 429,
    errors.Unavailable: 503,
}


class ApiError(Exception):
    """An HTTP-level refusal (bad media type, malformed JSON, bad path) with its status."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def problem(
    status: int,
    detail: str,
    field_errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem+json response."""
    response = Response(
        problem_body(status, detail, field_errors), status=status, mimetype=PROBLEM_JSON
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="storekeeper"'
    return response


def _domain(exc: errors.DomainError) -> Response:
    status = next(code for kind, code in _STATUS.items() if isinstance(exc, kind))
    field_errors = exc.errors if isinstance(exc, errors.Invalid) else None
    if status == 422 and field_errors is None:
        field_errors = {}
    headers = {}
    if isinstance(exc, errors.TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, errors.Unavailable):
        log.warning("unavailable: %s (%s)", exc.detail, exc.reason)
        headers["Retry-After"] = RETRY_AFTER_S
    return problem(status, exc.detail, field_errors, headers)


def _api(exc: ApiError) -> Response:
    return problem(exc.status, exc.detail, {} if exc.status == 422 else None, exc.headers)


def _http(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers = {}
    if status == 405:
        allow = exc.get_headers()
        headers = {k: v for k, v in allow if k.lower() == "allow"}
    detail = {
        404: "No resource at this URL.",
        405: "This resource does not support this method.",
        413: "The request body is larger than 1 MiB.",
    }.get(status, exc.description or HTTPStatus(status).phrase)
    return problem(status, detail, {} if status == 422 else None, headers)


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error")
    return problem(500, "An unexpected error occurred; it has been logged.")


def answer_for(exc: Exception) -> Response | None:
    """The problem+json answer to a refusal (domain, HTTP or API error); None for a fault."""
    if isinstance(exc, errors.DomainError):
        return _domain(exc)
    if isinstance(exc, ApiError):
        return _api(exc)
    if isinstance(exc, HTTPException):
        return _http(exc)
    return None


def register(app: Flask) -> None:
    """Install the error handlers on the app."""
    app.register_error_handler(errors.DomainError, _domain)
    app.register_error_handler(ApiError, _api)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
