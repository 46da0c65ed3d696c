"""A typed Python client for the Storekeeper API."""

from storekeeper_client.auth import Session
from storekeeper_client.client import DEFAULT_URL, NotLoggedIn, Storekeeper
from storekeeper_client.errors import (
    BadRequest,
    ChangedSinceRead,
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ProblemError,
    RetryLater,
    ServiceUnavailable,
    StorekeeperError,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from storekeeper_client.paging import Page, Versioned
from storekeeper_client.ratelimit import Quota, RateLimitState
from storekeeper_client.retry import NO_RETRIES, RetryPolicy
from storekeeper_client.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "DEFAULT_URL",
    "NO_RETRIES",
    "BadRequest",
    "ChangedSinceRead",
    "Conflict",
    "Forbidden",
    "MethodNotAllowed",
    "NotFound",
    "NotLoggedIn",
    "Page",
    "PayloadTooLarge",
    "ProblemError",
    "Quota",
    "RateLimitState",
    "RetryLater",
    "RetryPolicy",
    "ServiceUnavailable",
    "Session",
    "Storekeeper",
    "StorekeeperError",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "Versioned",
    "WebhookVerificationError",
    "verify_webhook",
]
