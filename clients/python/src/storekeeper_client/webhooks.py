"""Checking that a webhook delivery came from Storekeeper (Standard Webhooks 1.0 signatures).

Only the standard library: a receiver that verifies deliveries needs nothing but this client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from typing import Any, Protocol

from storekeeper_client.errors import StorekeeperError

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, no secret)
# What Standard Webhooks advises: a delivery signed longer ago (or ahead) is refused, so a
# captured request cannot be replayed later.
DEFAULT_TOLERANCE_S = 300


class Headers(Protocol):
    """What carries a request's headers: a dict, httpx.Headers, http.server's `self.headers`."""

    def items(self) -> Iterable[tuple[str, str]]:
        """Every (name, value) pair."""
        ...


class WebhookVerificationError(StorekeeperError):
    """A delivery whose headers are missing or malformed, whose timestamp is too far from now,
    or that no signature made with the secret matches: do not act on it."""


def verify_webhook(
    secret: str,
    headers: Headers,
    body: bytes | str,
    *,
    tolerance: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivery's JSON body (`type`, `timestamp`, `data`) once its signature is checked.

    `secret` is the webhook's `whsec_...` secret; `headers` the request's (any case);
    `body` its raw bytes, exactly as received (parse nothing before this). Any `v1,`
    signature may match: during a secret's rotation the old and the new one both sign.
    `now` (unix seconds) stands in for the clock, in tests. Raises WebhookVerificationError.
    """
    key = _key(secret)
    found = {name.lower(): value for name, value in headers.items()}
    message_id = _header(found, "webhook-id")
    stamp = _header(found, "webhook-timestamp")
    signatures = _header(found, "webhook-signature")
    try:
        sent_at = int(stamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp is not a number: {stamp!r}") from None
    clock = time.time() if now is None else now
    if sent_at < clock - tolerance:
        raise WebhookVerificationError("the delivery's timestamp is too old: a replay?")
    if sent_at > clock + tolerance:
        raise WebhookVerificationError("the delivery's timestamp is in the future")
    raw = body.encode() if isinstance(body, str) else body
    signed = f"{message_id}.{sent_at}.".encode() + raw
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    # Other versions (an asymmetric `v1a,`, say) are skipped, as the standard says.
    offered = [part[3:] for part in signatures.split() if part.startswith("v1,")]
    # Every candidate is compared, each in constant time, so the time taken tells nothing.
    matched = [hmac.compare_digest(expected, candidate.encode()) for candidate in offered]
    if not any(matched):
        raise WebhookVerificationError("no signature matches: not signed with this secret")
    try:
        payload = json.loads(raw)
    except ValueError as error:
        raise WebhookVerificationError(f"the body is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise WebhookVerificationError("the body is not a JSON object")
    return payload


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Padding is optional in the standard: an unpadded secret is padded back.
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError("the webhook secret is not base64 after its prefix") from None


def _header(headers: dict[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise WebhookVerificationError(f"the {name} header is missing")
    return value
