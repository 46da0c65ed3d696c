"""Domain errors: what went wrong, in the domain's words, with no HTTP in them."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """The named resource does not exist."""


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate name, a link still in use)."""


class Forbidden(DomainError):
    """The actor is known but may not do this."""


class Unauthenticated(DomainError):
    """No valid credentials were presented."""


class Invalid(DomainError):
    """Input that is well formed but not acceptable, with messages per field."""

    def __init__(
        self, errors: dict[str, list[str]], detail: str = "The request is invalid."
    ) -> None:
        super().__init__(detail)
        self.errors = errors

    @classmethod
    def field(cls, name: str, message: str) -> Invalid:
        """An error on a single field."""
        return cls({name: [message]}, f"{name}: {message}")


class TooLarge(DomainError):
    """Input beyond a size or count limit (a file's bytes, its rows)."""


class TooManyAttempts(DomainError):
    """An action was tried more often than its limit allows; it may be retried later."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Something the use case needs (the database, a shared counter) cannot answer now.

    `reason` is for the operator's log, never for the client.
    """

    def __init__(self, detail: str, reason: str = "") -> None:
        super().__init__(detail)
        self.reason = reason
