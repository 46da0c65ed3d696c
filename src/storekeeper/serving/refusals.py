"""problem+json answers to what gunicorn's HTTP parser refuses, before or while the app runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from gunicorn.http import errors

from storekeeper.problem_details import PROBLEM_JSON, problem_body

# gunicorn's own refusals, answered in the contract's problem+json like every other error.
# The detail never echoes what the client sent. The last is ParseException itself, so every
# client error finds one.
_REFUSALS: tuple[tuple[type[BaseException], int, str], ...] = (
    (errors.LimitRequestLine, 414, "The request line is too long."),
    (errors.LimitRequestHeaders, 431, "The request has too many or too large header fields."),
    (errors.UnsupportedTransferCoding, 501, "Only the chunked transfer coding is supported."),
    (errors.ExpectationFailed, 417, "Only 'Expect: 100-continue' is supported."),
    (errors.ParseException, 400, "The request is not well-formed HTTP/1.1."),
)

# Subclasses of ParseException that are the server's or the application's fault.
_OWN_FAULTS = (
    errors.InvalidResponseHeader,
    errors.InvalidResponseHeaderName,
    errors.ConfigurationProblem,
)


def is_client_error(exc: BaseException) -> bool:
    """Whether gunicorn refused what the client sent (rather than failing itself)."""
    return isinstance(exc, errors.ParseException) and not isinstance(exc, _OWN_FAULTS)


def refusal(exc: BaseException) -> bytes:
    """The whole HTTP/1.1 answer to a request the parser refused (500 for anything else)."""
    if is_client_error(exc):
        _, status, detail = next(r for r in _REFUSALS if isinstance(exc, r[0]))
    else:
        status, detail = 500, "The server could not answer this request."
    body = problem_body(status, detail)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nConnection: close\r\n"
        f"Content-Type: {PROBLEM_JSON}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class ChunkedBody:
    """A chunked request body whose broken framing is the client's 400, not the app's 500.

    gunicorn decodes chunked framing while the application reads the body, so a chunk size
    that is not hexadecimal (or a missing terminator) surfaces as a parser exception inside
    the application. Here it becomes werkzeug's BadRequest, which the application answers as
    a 400 problem; gunicorn then closes the connection (its body marks itself failed), since
    nothing after a broken frame can be trusted to start the next request.
    """

    def __init__(self, body: Any) -> None:
        self._body = body

    def _guarded(self, read: Callable[[int | None], bytes], size: int | None) -> bytes:
        try:
            return read(size)
        except errors.ParseException:
            # Imported here: the worker imports werkzeug only after gevent has patched it.
            from werkzeug.exceptions import BadRequest

            raise BadRequest("The chunked request body is not well-formed.") from None

    def read(self, size: int | None = None) -> bytes:
        """Up to `size` bytes of the body (all of it for None)."""
        return self._guarded(self._body.read, size)

    def readline(self, size: int | None = None) -> bytes:
        """The next line of the body."""
        return self._guarded(self._body.readline, size)

    def readlines(self, hint: int | None = None) -> list[bytes]:
        """Every remaining line of the body."""
        return list(self)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line
