"""Problem+json answers (RFC 9457) as typed exceptions, one class per status code."""

from __future__ import annotations

import json

import httpx
import pydantic

from storekeeper_client.models import ValidationProblem


class StorekeeperError(Exception):
    """Anything this client raises on purpose."""


class ProblemError(StorekeeperError):
    """The API answered with an error: its problem+json body, parsed."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        errors: dict[str, list[str]] | None = None,
        problem_type: str = "about:blank",
        headers: httpx.Headers | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        # Field or query parameter name -> its messages; empty unless the answer was a 422.
        self.errors: dict[str, list[str]] = errors or {}
        self.type = problem_type
        self.headers = headers if headers is not None else httpx.Headers()


class BadRequest(ProblemError):
    """400: the body is not strict JSON, or a header (Idempotency-Key) is malformed."""


class Unauthorized(ProblemError):
    """401: no valid token (missing, expired beyond refresh, revoked), or bad credentials."""


class Forbidden(ProblemError):
    """403: authenticated, but not the owner or an admin."""


class NotFound(ProblemError):
    """404: nothing at this URL."""


class MethodNotAllowed(ProblemError):
    """405: the path exists, the method does not; `allowed` lists the ones that do."""

    @property
    def allowed(self) -> list[str]:
        """The methods the Allow header names."""
        return [m.strip() for m in self.headers.get("Allow", "").split(",") if m.strip()]


class Conflict(ProblemError):
    """409: a duplicate name, a tag still in use, a user who owns stores, a retry in flight."""


class ChangedSinceRead(ProblemError):
    """412: the resource changed since the ETag given in If-Match was read; nothing changed."""


class PayloadTooLarge(ProblemError):
    """413: the body is over 1 MiB."""


class UnsupportedMediaType(ProblemError):
    """415: the body was not sent as JSON."""


class ValidationFailed(ProblemError):
    """422: a body field or query parameter is wrong; `errors` names each one."""


class RetryLater(ProblemError):
    """429 or 503 after every retry allowed: `retry_after` is the server's advice in seconds."""

    @property
    def retry_after(self) -> float | None:
        """The Retry-After header in seconds, when the server sent one."""
        value = self.headers.get("Retry-After", "")
        return float(value) if value.isdigit() else None


class TooManyRequests(RetryLater):
    """429: the request budget is spent, or too many login attempts for this username."""


class ServiceUnavailable(RetryLater):
    """503: the database (or the login limiter) does not answer."""


_BY_STATUS: dict[int, type[ProblemError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    412: ChangedSinceRead,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
    429: TooManyRequests,
    503: ServiceUnavailable,
}


def problem_from(response: httpx.Response) -> ProblemError:
    """The typed exception for an error answer, whatever its body holds."""
    cls = _BY_STATUS.get(response.status_code, ProblemError)
    try:
        body = json.loads(response.content)
        # Problem and ValidationProblem differ only in `errors`, optional here.
        problem = ValidationProblem.model_validate({"errors": {}, **body})
    except (ValueError, pydantic.ValidationError, TypeError):
        # Not a problem document (a proxy's HTML page, say): keep what can be said.
        phrase = response.reason_phrase or "Error"
        return cls(response.status_code, phrase, response.text[:200], headers=response.headers)
    return cls(
        problem.status,
        problem.title,
        problem.detail,
        problem.errors,
        problem.type or "about:blank",
        response.headers,
    )
